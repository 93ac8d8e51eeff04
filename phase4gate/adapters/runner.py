"""Run the identity-boundary canary (and the Teamspace suite) and keep what each run wrote.

One run is one process (:func:`phase4gate.adapters.proc.run_process`: own process
group, a timeout that ends the whole group, no stdin, output streamed to a log):

* ``script`` mode runs ``canary.command`` (default
  ``scripts/run-sync-identity-boundary-canary.sh --single --yes``) in the e2e checkout;
* ``pytest`` mode runs pytest on ``canary.tests_path`` with ``-m <marker>`` re-selected past
  the harness's own addopts (``-o addopts=``) and a JUnit XML report.

The environment carries ``SPEC_KITTY_ENABLE_SAAS_SYNC=1``, ``SPEC_KITTY_E2E_TRUSTED_RUNNER=1``,
``canary.env``, ``SPEC_KITTY_SAAS_URL`` (the SaaS the preflight checked, unless
``canary.env`` names one) and the installed RC's bin folder first on ``PATH``.
Plugins that hide flakiness are disabled in every pytest the run starts
(``PYTEST_ADDOPTS``) and a command line asking for reruns is refused: a rerun is
never a pass.

Exit 2 is the runner's preflight (environment missing): :class:`ProcessError`.
Otherwise the run file is the verdict.  It is copied into the attempt folder the
moment the run ends (the harness overwrites ``latest.json`` on the next run),
before it is parsed, so an inconsistent file is kept too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from attrs import frozen

from phase4gate.errors import ConfigError, EvidenceError, InputError, ProcessError
from phase4gate.models import CanaryRunResult, EvidenceRef, parse_run_file

if TYPE_CHECKING:
    from phase4gate.adapters.proc import ProcResult
    from phase4gate.adapters.store import EvidenceStore
    from phase4gate.config import GateConfig

__all__ = [
    "FLAKY_OPTIONS",
    "FLAKY_PLUGINS",
    "PLUGIN_DISABLES",
    "PREFLIGHT_EXIT",
    "CanaryRunner",
    "CapturedRun",
    "canary_argv",
    "canary_env",
    "refuse_flaky_options",
    "teamspace_argv",
]

PREFLIGHT_EXIT: Final = 2
FLAKY_PLUGINS: Final = ("rerunfailures", "flaky", "repeat", "flakefinder")
PLUGIN_DISABLES: Final = tuple(arg for p in FLAKY_PLUGINS for arg in ("-p", f"no:{p}"))
# Options of those plugins (and of pytest itself) that re-run or re-select failures.
FLAKY_OPTIONS: Final = frozenset(
    {
        "--reruns",
        "--reruns-delay",
        "--only-rerun",
        "--rerun-except",
        "--force-flaky",
        "--max-runs",
        "--min-passes",
        "--count",
        "--repeat-scope",
        "--flake-finder",
        "--flake-runs",
        "--lf",
        "--last-failed",
        "--ff",
        "--failed-first",
        "--sw",
        "--stepwise",
    }
)
_SAFE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_SCENARIO_LINE_RE = re.compile(r"test_scenario_(?P<n>[0-9]+)_")


def refuse_flaky_options(args: Sequence[str], *, where: str) -> None:
    """Refuse a command line that re-runs failures or loads a flakiness-hiding plugin.

    Raises:
        ConfigError: naming *where* and the option.
    """
    for arg in args:
        name = arg.split("=", 1)[0]
        plugin = arg.removeprefix("-p").strip() if arg.startswith("-p") and arg != "-p" else ""
        if name in FLAKY_OPTIONS or any(plugin in (p, f"pytest_{p}") for p in FLAKY_PLUGINS):
            raise ConfigError(
                f"{arg!r} re-runs or re-selects failures; a rerun is never a pass",
                field=where,
                hint="remove it: each canary run is one process with one report",
            )
    for i, arg in enumerate(args[:-1]):
        if arg == "-p" and any(args[i + 1] in (p, f"pytest_{p}") for p in FLAKY_PLUGINS):
            raise ConfigError(
                f"'-p {args[i + 1]}' loads a flakiness-hiding plugin; a rerun is never a pass",
                field=where,
                hint="remove it: each canary run is one process with one report",
            )


def canary_argv(config: GateConfig, *, junit_path: Path) -> tuple[str, ...]:
    """Return the canary command line for ``canary.mode``.

    Raises:
        ConfigError: the command asks for reruns.
    """
    canary = config.canary
    refuse_flaky_options(canary.command, where="canary.command")
    if canary.mode == "script":
        return tuple(canary.command)
    launcher: tuple[str, ...] = tuple(canary.command)
    if not launcher or launcher[0].endswith(".sh"):
        launcher = (sys.executable, "-m", "pytest")
    return (
        *launcher,
        canary.tests_path,
        "-o",
        "addopts=",
        "-m",
        canary.marker,
        "-v",
        *PLUGIN_DISABLES,
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit_path}",
    )


def teamspace_argv(config: GateConfig, *, junit_path: Path) -> tuple[str, ...]:
    """Return the Teamspace suite's command line: the plan's ``pytest -v <files> -m deployed_dev``.

    Raises:
        ConfigError: the command asks for reruns.
    """
    ts = config.teamspace
    refuse_flaky_options(ts.command, where="teamspace.command")
    return (*ts.command, *ts.files, "-m", ts.marker, *PLUGIN_DISABLES, f"--junitxml={junit_path}")


def canary_env(base: Mapping[str, str], config: GateConfig, cli_bin_dir: str | None) -> dict[str, str]:
    """Return the environment of a canary or Teamspace run (without the GitHub token).

    Raises:
        ConfigError: ``PYTEST_ADDOPTS`` asks for reruns.
    """
    # The canary never needs the gate's GitHub token: it is not passed on.
    env = {k: v for k, v in base.items() if k != config.github.token_env}
    env.update(config.canary.env)
    env["SPEC_KITTY_ENABLE_SAAS_SYNC"] = "1"
    env["SPEC_KITTY_E2E_TRUSTED_RUNNER"] = "1"
    env.setdefault("SPEC_KITTY_SAAS_URL", config.saas.base_url)
    existing = env.get("PYTEST_ADDOPTS", "")
    refuse_flaky_options(shlex.split(existing), where="PYTEST_ADDOPTS")
    env["PYTEST_ADDOPTS"] = " ".join([existing, *PLUGIN_DISABLES]).strip()
    if cli_bin_dir:
        env["PATH"] = os.pathsep.join([cli_bin_dir, env.get("PATH", os.defpath)])
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


@frozen
class CapturedRun:
    """One canary run: the process, the run file read back, and what was kept as evidence."""

    number: int
    run: CanaryRunResult
    proc: ProcResult
    run_file: str  # relative to the run folder: "<attempt>/runs/run-N.json"
    refs: tuple[EvidenceRef, ...]
    source: str  # "runner" (the harness's file) or "junit" (built from the JUnit report)
    disagreement: str | None


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class CanaryRunner:
    """Run the canary once per call, keeping every run's files in the attempt folder."""

    def __init__(  # noqa: PLR0913 - the run's whole context, each a keyword
        self,
        config: GateConfig,
        *,
        checkout: Path,
        store: EvidenceStore,
        attempt: str,
        cli_bin_dir: str | None,
        environ: Mapping[str, str],
        total_runs: int,
        note: Callable[[str], None] = lambda _m: None,
        secrets: Sequence[str] = (),
        cli_version: str | None = None,
    ) -> None:
        if not checkout.is_dir():
            raise ConfigError(f"e2e checkout {checkout} is not a folder", field="canary.e2e_checkout")
        self.config = config
        self.checkout = checkout
        self.store = store
        self.attempt = attempt
        self.total_runs = total_runs
        self._note = note
        self._secrets = tuple(secrets)
        self._cli_version = cli_version
        self.env = canary_env(environ, config, cli_bin_dir)
        self.artifacts = checkout / config.canary.artifacts_dir

    # ----------------------------------------------------------------- setup

    def setup(self) -> EvidenceRef | None:
        """Run ``canary.setup_command`` once, before the first run (nothing runs between runs).

        Raises:
            ProcessError: the setup command failed or timed out.
        """
        from phase4gate.adapters.proc import run_process  # noqa: PLC0415

        argv = self.config.canary.setup_command
        if not argv:
            return None
        with tempfile.TemporaryDirectory(prefix="phase4gate-setup-") as scratch:
            log = Path(scratch) / "setup.log"
            result = run_process(
                argv,
                cwd=self.checkout,
                env=self.env,
                timeout=self.config.canary.timeout_seconds,
                log_path=log,
                secrets=self._secrets,
            )
            ref = self._keep(log, "logs/setup.log")
        if not result.ok:
            raise ProcessError(
                f"setup command {shlex.join(argv)} failed (exit {result.returncode}, timed out: {result.timed_out}); "
                f"log kept at {ref.path if ref else 'nowhere'}",
                argv=result.argv,
                returncode=result.returncode,
            )
        return ref

    # ----------------------------------------------------------------- one run

    def _version_line(self) -> str | None:
        """Return the ``spec-kitty-cli version X`` line of the CLI the run will find on PATH."""
        from phase4gate.adapters.proc import run_process  # noqa: PLC0415

        try:
            result = run_process(["spec-kitty", "--version"], cwd=self.checkout, env=self.env, timeout=120)
        except ProcessError:
            return None
        lines = [ln for ln in result.output_tail.splitlines() if ln.startswith("spec-kitty-cli version ")]
        return lines[-1].strip() if lines else None

    def _keep(self, src: Path, rel: str) -> EvidenceRef | None:
        if not src.is_file():
            return None
        return self.store.copy_in(src, f"{self.attempt}/{rel}")

    def _on_line(self, k: int, start: float) -> Callable[[str], None]:
        seen: dict[str, int] = {}

        def on_line(line: str) -> None:
            m = _SCENARIO_LINE_RE.search(line)
            if m and seen.get("scenario") != int(m.group("n")):
                seen["scenario"] = int(m.group("n"))
                elapsed = int(time.monotonic() - start)
                self._note(
                    f"run {k} of {self.total_runs}: scenario {m.group('n')}, {elapsed // 60:02d}:{elapsed % 60:02d}"
                )

        return on_line

    def run(self, k: int) -> CapturedRun:
        """Run the canary as run *k* and return it, read back through the validated model.

        Raises:
            ProcessError: the runner's preflight failed (exit 2), it could not start, or it timed out
                (the whole process group is ended; the log is kept).
            InputError: no run file, or a malformed or inconsistent one (kept as evidence first).
            EvidenceError: evidence could not be written.
        """
        from phase4gate.adapters.proc import run_process  # noqa: PLC0415

        latest = self.artifacts / "latest.json"
        before = latest.read_bytes() if latest.is_file() else None
        before_runs = self._harness_runs()
        scratch = Path(tempfile.mkdtemp(prefix="phase4gate-canary-"))
        refs: list[EvidenceRef] = []
        try:
            junit = scratch / f"run-{k}.junit.xml"
            log = scratch / f"run-{k}.log"
            argv = canary_argv(self.config, junit_path=junit)
            if self.config.canary.mode == "pytest" and self._cli_version is None:
                self._cli_version = self._version_line()
            self._note(f"run {k} of {self.total_runs}: starting {shlex.join(argv)}")
            started = _now_iso()
            start = time.monotonic()
            result = run_process(
                argv,
                cwd=self.checkout,
                env=self.env,
                timeout=self.config.canary.timeout_seconds,
                log_path=log,
                on_line=self._on_line(k, start),
                secrets=self._secrets,
            )
            finished = _now_iso()
            log_ref = self._keep(log, f"logs/run-{k}.log")
            refs.extend(r for r in (log_ref, self._keep(junit, f"logs/run-{k}.junit.xml")) if r)
            log_rel = log_ref.path if log_ref else "(no log)"
            if result.timed_out:
                raise ProcessError(
                    f"canary run {k} did not finish within {self.config.canary.timeout_seconds:g}s; "
                    f"its process group was ended; log kept at {log_rel}",
                    argv=result.argv,
                    returncode=result.returncode,
                    hint="a hung canary is never a pass; look at the log, then re-run",
                )
            if result.returncode == PREFLIGHT_EXIT:
                tail = " | ".join(result.output_tail.strip().splitlines()[-3:])
                raise ProcessError(
                    f"canary runner preflight failed (exit 2): {tail}; log kept at {log_rel}",
                    argv=result.argv,
                    returncode=result.returncode,
                    hint="the runner needs SPEC_KITTY_ENABLE_SAAS_SYNC=1, SPEC_KITTY_E2E_TRUSTED_RUNNER=1 "
                    "and spec-kitty on PATH",
                )
            data, source = self._collect(
                k,
                latest=latest,
                before=before,
                before_runs=before_runs,
                junit=junit,
                started=started,
                finished=finished,
                refs=refs,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        run_file = f"{self.attempt}/runs/run-{k}.json"
        run = parse_run_file(data, source=run_file, expected_scenarios=tuple(self.config.canary.scenarios))
        disagreement = None
        if run.passed != (result.returncode == 0):
            disagreement = (
                f"run {k}: the runner exited {result.returncode} but its run file says {run.outcome.value!r}; "
                "the run file is the verdict"
            )
        return CapturedRun(k, run, result, run_file, tuple(refs), source, disagreement)

    def _harness_runs(self) -> dict[str, bytes]:
        runs = self.artifacts / "runs"
        return {p.name: p.read_bytes() for p in sorted(runs.glob("run-*.json")) if p.is_file()} if runs.is_dir() else {}

    def _collect(  # noqa: PLR0913 - one run's loose ends
        self,
        k: int,
        *,
        latest: Path,
        before: bytes | None,
        before_runs: dict[str, bytes],
        junit: Path,
        started: str,
        finished: str,
        refs: list[EvidenceRef],
    ) -> tuple[object, str]:
        """Copy this run's run file into the attempt folder at once; return it decoded and its source."""
        fresh = latest.read_bytes() if latest.is_file() else None
        if fresh is None or fresh == before:
            # No new latest.json: a runs/run-N.json this run wrote (exactly one) is its run file.
            changed = [b for name, b in self._harness_runs().items() if before_runs.get(name) != b]
            if len(changed) == 1:
                fresh, before = changed[0], None
        if fresh is not None and fresh != before:
            refs.append(self.store.write_bytes(f"{self.attempt}/runs/run-{k}.json", fresh))
            try:
                data: object = json.loads(fresh)
            except ValueError as exc:
                raise InputError(f"{self.attempt}/runs/run-{k}.json", [f"$: not JSON ({exc})"]) from None
            run_id = data.get("run_id") if isinstance(data, dict) else None
            by_id = self.artifacts / f"{run_id}.json" if isinstance(run_id, str) else None
            if by_id is not None and _SAFE_NAME_RE.match(str(run_id)) and by_id.is_file():
                # The same run id twice means the harness reused a run file; the run file itself is kept.
                with contextlib.suppress(EvidenceError):
                    refs.append(self.store.copy_in(by_id, f"{self.attempt}/{run_id}.json"))
            return data, "runner"
        if junit.is_file():
            from phase4gate.checks.canary import parse_junit, run_file_from_junit  # noqa: PLC0415

            rel = f"{self.attempt}/logs/run-{k}.junit.xml"
            cases = parse_junit(junit.read_text(encoding="utf-8", errors="replace"), source=rel)
            data = run_file_from_junit(
                cases,
                scenario_map=self.config.canary.scenario_map,
                cli_version=self._cli_version,
                run_id=f"{self.attempt}-run-{k}",
                started_at=started,
                finished_at=finished,
            )
            refs.append(self.store.write_json(f"{self.attempt}/runs/run-{k}.json", data))
            return data, "junit"
        where = latest if fresh is None else f"{latest} (unchanged since before run {k})"
        raise InputError(
            str(where),
            [f"run {k}: the runner wrote no run file and no JUnit XML; a run without a result is never a pass"],
        )
