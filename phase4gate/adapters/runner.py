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
before it is parsed, so an inconsistent file is kept too.  It counts only if this
run wrote it (see :meth:`CanaryRunner.run`); a run file saying pass from a runner
that exited non-zero is inconsistent evidence.  In script mode pytest is also asked
(``PYTEST_ADDOPTS``) for a JUnit report: the run file is built from it when the
runner writes none.  :func:`canary_lock` keeps one canary per e2e checkout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shlex
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from phase4gate.adapters.store import sha256_bytes
from phase4gate.errors import AdapterError, ConfigError, EvidenceError, InputError, ProcessError
from phase4gate.executor import CapturedRun, RunCitation, TeamspaceCapture
from phase4gate.models import EvidenceRef, FactValue, RunWindow, parse_run_file

if TYPE_CHECKING:
    from phase4gate.adapters.store import EvidenceStore
    from phase4gate.config import GateConfig

__all__ = [
    "CANARY_HOLDER_NAME",
    "CANARY_LOCK_NAME",
    "FLAKY_OPTIONS",
    "FLAKY_PLUGINS",
    "LOCAL_EXECUTOR",
    "PLUGIN_DISABLES",
    "PREFLIGHT_EXIT",
    "RUN_FILE_TOLERANCE_SECONDS",
    "CanaryBusyError",
    "CanaryRunner",
    "CapturedRun",
    "LocalCanaryExecutor",
    "LocalTeamspaceExecutor",
    "canary_argv",
    "canary_env",
    "canary_lock",
    "counted_run_ids",
    "refuse_flaky_options",
    "teamspace_argv",
]

PREFLIGHT_EXIT: Final = 2
# The executor kind of this module (``[canary] executor``).
LOCAL_EXECUTOR: Final = "local"
# How far a run file's modification time and time stamps may lie outside the run's own window.
RUN_FILE_TOLERANCE_SECONDS: Final = 2.0
CANARY_LOCK_NAME: Final = ".phase4gate-canary.lock"
CANARY_HOLDER_NAME: Final = ".phase4gate-canary.holder.json"
LOCK_POLL_SECONDS: Final = 1.0
LOCK_NOTE_EVERY_SECONDS: Final = 30.0
_FOREIGN_HINT: Final = (
    "the file is kept in the attempt folder; a run file counts only for the run that wrote it. "
    "Look for a second gate or a leftover runner writing into the checkout's artifacts/"
)
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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
        counted: Mapping[str, str] | None = None,
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
        # run_id -> where it was counted (see counted_run_ids); each run adds its own.
        self.counted: dict[str, str] = dict(counted or {})

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

        A run file counts only if this run wrote it: it changed during the run (what
        the harness left before is recorded by sha256 first and never counts, even
        copied to another name), was last modified inside the run's window, its time
        stamps fall inside that window, and its ``run_id`` was never counted before.

        Raises:
            ProcessError: the runner's preflight failed (exit 2), it could not start, or it timed out
                (the whole process group is ended; the log is kept).
            InputError: no run file and no JUnit report; a malformed, stale or foreign run file; or a run
                file saying pass from a runner that exited non-zero (inconsistent evidence). Kept first.
            EvidenceError: evidence could not be written.
        """
        from phase4gate.adapters.proc import run_process  # noqa: PLC0415

        before = self._snapshot()
        scratch = Path(tempfile.mkdtemp(prefix="phase4gate-canary-"))
        refs: list[EvidenceRef] = []
        try:
            junit = scratch / f"run-{k}.junit.xml"
            log = scratch / f"run-{k}.log"
            argv = canary_argv(self.config, junit_path=junit)
            if self.config.canary.mode == "pytest" and self._cli_version is None:
                self._cli_version = self._version_line()
            self._note(f"run {k} of {self.total_runs}: starting {shlex.join(argv)}")
            spawned = _now()
            start = time.monotonic()
            result = run_process(
                argv,
                cwd=self.checkout,
                env=self._run_env(junit),
                timeout=self.config.canary.timeout_seconds,
                log_path=log,
                on_line=self._on_line(k, start),
                secrets=self._secrets,
            )
            window = RunWindow(spawned, _now(), tolerance_seconds=RUN_FILE_TOLERANCE_SECONDS, label=f"run {k}")
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
            data, source, problems = self._collect(k, before=before, junit=junit, window=window, refs=refs)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        run_file = f"{self.attempt}/runs/run-{k}.json"
        try:
            run = parse_run_file(
                data, source=run_file, expected_scenarios=tuple(self.config.canary.scenarios), window=window
            )
        except InputError as exc:
            raise InputError(run_file, [*problems, *exc.problems], hint=_FOREIGN_HINT if problems else None) from None
        if problems:
            raise InputError(run_file, problems, hint=_FOREIGN_HINT)
        if run.run_id is not None:
            self.counted[run.run_id] = run_file
        if run.passed and result.returncode != 0:
            raise InputError(
                run_file,
                [
                    (
                        f"$.outcome: inconsistent evidence: the runner exited {result.returncode} but its run file "
                        "says 'pass'; a contradiction is never a pass"
                    )
                ],
                hint=f"read the run's log ({self.attempt}/logs/run-{k}.log) to see why the runner failed",
            )
        disagreement = None
        if not run.passed and result.returncode == 0:
            disagreement = (
                f"run {k}: the runner exited 0 but its run file says {run.outcome.value!r}; the run file is the verdict"
            )
        return CapturedRun(k, run, run_file, tuple(refs), source, disagreement, citation=RunCitation(LOCAL_EXECUTOR))

    def _run_env(self, junit: Path) -> dict[str, str]:
        """Return run k's environment: in script mode pytest is also asked for a JUnit report (the fallback)."""
        env = dict(self.env)
        if self.config.canary.mode == "script":
            # A --junitxml on the harness's own pytest command line wins over this one; then there is no fallback.
            env["PYTEST_ADDOPTS"] = " ".join(
                [env.get("PYTEST_ADDOPTS", ""), shlex.quote(f"--junitxml={junit}")]
            ).strip()
        return env

    def _snapshot(self) -> dict[str, str]:
        """Return the sha256 of every run file the harness has left (``*.json`` and ``runs/*.json``), by name."""
        out: dict[str, str] = {}
        for pattern in ("*.json", "runs/*.json"):
            for path in sorted(self.artifacts.glob(pattern)):
                with contextlib.suppress(OSError):
                    if path.is_file():
                        out[path.relative_to(self.artifacts).as_posix()] = sha256_bytes(path.read_bytes())
        return out

    def _changed(self, before: Mapping[str, str]) -> tuple[Path, bytes] | None:
        """Return the run file this run changed: ``latest.json``, else the one ``runs/run-N.json`` that changed."""
        now = self._snapshot()
        names = (
            ["latest.json"] if now.get("latest.json", before.get("latest.json")) != before.get("latest.json") else []
        )
        if not names:
            names = [n for n in now if n.startswith("runs/run-") and now[n] != before.get(n)]
        if len(names) != 1:
            return None
        path = self.artifacts / names[0]
        try:
            return path, path.read_bytes()
        except OSError:
            return None

    def _ownership(self, k: int, path: Path, raw: bytes, before: Mapping[str, str], window: RunWindow) -> list[str]:
        """Return why the changed file *path* is not run *k*'s own (empty: it is)."""
        problems: list[str] = []
        name = path.relative_to(self.artifacts).as_posix()
        digest = sha256_bytes(raw)
        twins = sorted(n for n, d in before.items() if d == digest)
        if twins:
            problems.append(
                f"$: {self.config.canary.artifacts_dir}/{name} is byte for byte the {twins[0]} that was there before "
                f"run {k} started (sha256 {digest[:12]}...); a file left from an earlier run never counts"
            )
        try:
            mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        except OSError as exc:
            problems.append(f"$: {self.config.canary.artifacts_dir}/{name} vanished before it was checked ({exc})")
        else:
            why = window.problem(mtime)
            if why is not None:
                problems.append(
                    f"$: {self.config.canary.artifacts_dir}/{name} was last modified at {mtime.isoformat()}, which "
                    f"{why}; run {k} did not write it"
                )
        return problems

    def _collect(
        self, k: int, *, before: Mapping[str, str], junit: Path, window: RunWindow, refs: list[EvidenceRef]
    ) -> tuple[object, str, list[str]]:
        """Copy this run's run file into the attempt folder at once; return it decoded, its source, its problems."""
        rel = f"{self.attempt}/runs/run-{k}.json"
        changed = self._changed(before)
        if changed is not None:
            path, raw = changed
            refs.append(self.store.write_bytes(rel, raw))
            problems = self._ownership(k, path, raw, before, window)
            try:
                data: object = json.loads(raw)
            except ValueError as exc:
                raise InputError(rel, [*problems, f"$: not JSON ({exc})"]) from None
            run_id = data.get("run_id") if isinstance(data, dict) else None
            if isinstance(run_id, str) and run_id in self.counted:
                problems.append(
                    f"$.run_id: {run_id!r} was already counted ({self.counted[run_id]}); "
                    "a run file counts once, for the run that wrote it"
                )
            by_id = self.artifacts / f"{run_id}.json" if isinstance(run_id, str) else None
            if by_id is not None and _SAFE_NAME_RE.match(str(run_id)) and by_id.is_file():
                # The same run id twice means the harness reused a run file; the run file itself is kept.
                with contextlib.suppress(EvidenceError):
                    refs.append(self.store.copy_in(by_id, f"{self.attempt}/{run_id}.json"))
            return data, "runner", problems
        if junit.is_file():
            from phase4gate.checks.canary import parse_junit, run_file_from_junit  # noqa: PLC0415

            if self._cli_version is None:
                self._cli_version = self._version_line()
            cases = parse_junit(
                junit.read_text(encoding="utf-8", errors="replace"), source=f"{self.attempt}/logs/run-{k}.junit.xml"
            )
            data = run_file_from_junit(
                cases,
                scenario_map=self.config.canary.scenario_map,
                cli_version=self._cli_version,
                run_id=f"{self.attempt}-run-{k}",
                started_at=window.spawned_at.isoformat(),
                finished_at=window.ended_at.isoformat(),
            )
            refs.append(self.store.write_json(rel, data))
            return data, "junit", []
        latest = self.artifacts / "latest.json"
        where = f"{latest} (unchanged since before run {k})" if "latest.json" in before else str(latest)
        raise InputError(
            where,
            [
                (
                    f"run {k}: no run file and no JUnit report: the runner wrote no run file and pytest wrote no "
                    "JUnit report; a run without a result is never a pass"
                )
            ],
        )


def counted_run_ids(
    evidence_root: Path, run_dir: Path, facts: Iterable[Mapping[str, FactValue]] = ()
) -> dict[str, str]:
    """Return every canary ``run_id`` the gate has counted before, with where it was counted.

    Read from the run files kept in every attempt folder under *evidence_root*
    (every gate run) and *run_dir*, and from ``run_ids`` facts in the journal
    (*facts*).  Unreadable files are skipped: they count nothing.
    """
    found: dict[str, str] = {}
    folders = {run_dir}
    if evidence_root.is_dir():
        folders.update(p for p in evidence_root.iterdir() if p.is_dir())
    for folder in sorted(folders):
        for kept in sorted(folder.glob("*-attempt*/runs/run-*.json")):
            try:
                data = json.loads(kept.read_bytes())
            except (OSError, ValueError):
                continue
            run_id = data.get("run_id") if isinstance(data, dict) else None
            if isinstance(run_id, str) and run_id:
                found.setdefault(run_id, f"{folder.name}/{kept.relative_to(folder).as_posix()}")
    for step_facts in facts:
        for run_id in str(step_facts.get("run_ids") or "").split(","):
            if run_id.strip():
                found.setdefault(run_id.strip(), "the journal")
    return found


# ----------------------------------------------------------------- one canary per e2e checkout


class CanaryBusyError(AdapterError):
    """Another gate kept the e2e checkout's canary lock past this gate's wait bound: could not decide (3)."""


def _holder(checkout: Path) -> str:
    try:
        info = json.loads((checkout / CANARY_HOLDER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "holder unknown"
    if not isinstance(info, dict):
        return "holder unknown"
    return (
        f"pid {info.get('pid', '?')} on {info.get('host', '?')}, run {info.get('run_id', '?')}, "
        f"{info.get('wp', '?')}, since {info.get('since', '?')}"
    )


@contextlib.contextmanager
def canary_lock(  # noqa: PLR0913 - the lock, who takes it, and the injected wait
    checkout: Path,
    *,
    run_id: str,
    wp: str,
    wait_seconds: float,
    note: Callable[[str], None] = lambda _m: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold the e2e checkout's canary lock: one canary (or Teamspace suite) at a time per checkout.

    The checkout's ``artifacts/`` (and the plan's fixed Teamspace log paths) are
    shared state, so a second gate waits, saying every half minute which pid holds
    the lock, up to *wait_seconds*; it never reads another gate's files.  The lock
    is ``<checkout>/.phase4gate-canary.lock`` (released by the kernel if the holder
    dies); ``<checkout>/.phase4gate-canary.holder.json`` names the holder.

    Raises:
        CanaryBusyError: still held after *wait_seconds*, naming the holder.
        EvidenceError: the lock file cannot be created in the checkout.
    """
    import filelock  # noqa: PLC0415 - only the canary steps need it

    path = checkout / CANARY_LOCK_NAME
    lock = filelock.FileLock(str(path), timeout=0)
    started = clock()
    noted: float | None = None
    while True:
        try:
            lock.acquire(timeout=0)
            break
        except filelock.Timeout:
            waited = clock() - started
            if waited >= wait_seconds:
                raise CanaryBusyError(
                    f"the e2e checkout {checkout} is running another gate's canary ({_holder(checkout)}); "
                    f"waited {waited:.0f}s of at most {wait_seconds:g}s. Its artifacts/ are shared: two canaries "
                    "never run there at once",
                    hint="let the other gate finish (or end it), then re-run this one with --resume",
                ) from None
            if noted is None or waited - noted >= LOCK_NOTE_EVERY_SECONDS:
                noted = waited
                note(
                    f"waiting for the e2e checkout {checkout}: held by {_holder(checkout)}; "
                    f"waited {int(waited) // 60:02d}:{int(waited) % 60:02d} of at most {wait_seconds:g}s"
                )
            sleep(LOCK_POLL_SECONDS)
        except OSError as exc:
            msg = f"cannot create the canary lock {path}: {exc.strerror or exc}"
            raise EvidenceError(msg, path=str(path)) from None
    holder = checkout / CANARY_HOLDER_NAME
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run_id": run_id,
            "wp": wp,
            "since": _now().isoformat(),
        }
        tmp = holder.with_name(f"{holder.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(info) + "\n", encoding="utf-8")
            tmp.replace(holder)
        yield
    finally:
        # The holder file goes first, so it never names a gate that no longer holds the lock.
        with contextlib.suppress(OSError):
            holder.unlink()
        lock.release()


# ----------------------------------------------------------------- the local executors (the canary seam)


class _LocalExecutor:
    """What both local executors share: the e2e checkout, held with :func:`canary_lock`, and the run's context."""

    kind = LOCAL_EXECUTOR

    def __init__(  # noqa: PLR0913 - the executor's whole context, each a keyword
        self,
        config: GateConfig,
        *,
        checkout: Path,
        store: EvidenceStore,
        cli_bin_dir: str | None,
        environ: Mapping[str, str],
        lock_owner: tuple[str, str],
        lock_wait: float,
        note: Callable[[str], None] = lambda _m: None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.config = config
        self.checkout = checkout
        self.store = store
        self._cli_bin_dir = cli_bin_dir
        self._environ = environ
        self._owner = lock_owner
        self._wait = lock_wait
        self._note = note
        self._secrets = tuple(secrets)

    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Hold the e2e checkout's canary lock (a second gate waits, bounded)."""
        run_id, wp = self._owner
        return canary_lock(self.checkout, run_id=run_id, wp=wp, wait_seconds=self._wait, note=self._note)

    def cancel(self) -> None:
        """Nothing to cancel: a stop request ends the running child group (``adapters.proc``)."""


class LocalCanaryExecutor(_LocalExecutor):
    """Run each canary run as a subprocess in the local e2e checkout (``[canary] executor = "local"``).

    Implements :class:`phase4gate.executor.CanaryExecutor` over :class:`CanaryRunner`;
    the checkout is held with :func:`canary_lock` for the whole protocol.
    """

    _runner: CanaryRunner | None = None

    def describe(self, runs: int, attempt_tag: str) -> tuple[str, ...]:
        """Return the dry-run lines: the reserved folder and the command run *runs* times."""
        argv = shlex.join(canary_argv(self.config, junit_path=Path("<scratch>/run-k.junit.xml")))
        where = self.config.canary.e2e_checkout
        return (f"dry run: would reserve {attempt_tag}-attempt<N> and run `{argv}` {runs} time(s) in {where}",)

    def check_ready(self) -> None:
        """Refuse a rerun-asking command line or environment before anything is reserved or run."""
        canary_argv(self.config, junit_path=Path("run.junit.xml"))
        canary_env(self._environ, self.config, self._cli_bin_dir)

    def begin(self, attempt: str, *, total_runs: int, counted: Mapping[str, str]) -> tuple[EvidenceRef, ...]:
        """Build the runner for *attempt* and run ``canary.setup_command`` once."""
        self._runner = CanaryRunner(
            self.config,
            checkout=self.checkout,
            store=self.store,
            attempt=attempt,
            cli_bin_dir=self._cli_bin_dir,
            environ=self._environ,
            total_runs=total_runs,
            note=self._note,
            secrets=self._secrets,
            counted=counted,
        )
        ref = self._runner.setup()
        return (ref,) if ref is not None else ()

    def run(self, k: int) -> CapturedRun:
        """Run canary run *k* (see :meth:`CanaryRunner.run`)."""
        if self._runner is None:
            msg = "LocalCanaryExecutor.run called before begin"
            raise RuntimeError(msg)
        return self._runner.run(k)


class LocalTeamspaceExecutor(_LocalExecutor):
    """Run the Teamspace MVP files as a local subprocess per run (WP07, ``executor = "local"``)."""

    def __init__(  # noqa: PLR0913 - the executor's whole context, each a keyword
        self,
        config: GateConfig,
        *,
        checkout: Path,
        store: EvidenceStore,
        cli_bin_dir: str | None,
        environ: Mapping[str, str],
        evidence_path: Callable[[str], str],
        lock_owner: tuple[str, str],
        lock_wait: float,
        note: Callable[[str], None] = lambda _m: None,
        secrets: Sequence[str] = (),
    ) -> None:
        super().__init__(
            config,
            checkout=checkout,
            store=store,
            cli_bin_dir=cli_bin_dir,
            environ=environ,
            lock_owner=lock_owner,
            lock_wait=lock_wait,
            note=note,
            secrets=secrets,
        )
        self.env = canary_env(environ, config, cli_bin_dir)
        self._evidence_path = evidence_path

    def describe(self, runs: int) -> tuple[str, ...]:
        """Return the dry-run line: the command, how often, where the logs go."""
        cmd = shlex.join(teamspace_argv(self.config, junit_path=Path("<scratch>/junit.xml")))
        return (
            f"dry run: would run `{cmd}` {runs} time(s) in {self.checkout}, logs at {self.config.teamspace.log_path}",
        )

    def run(self, n: int, *, total_runs: int) -> TeamspaceCapture:
        """Run Teamspace run *n*; its log (``teamspace.log_path``) and JUnit report are kept at once."""
        from phase4gate.adapters.proc import run_process  # noqa: PLC0415

        ts = self.config.teamspace
        log_path = Path(ts.log_path.format(n=n))
        # The plan's log name is fixed: an older gate's log there is not this run's.
        log_path.unlink(missing_ok=True)
        refs: list[EvidenceRef] = []
        log_rel: str | None = None
        junit_rel = self._evidence_path(f"teamspace-run-{n}.junit.xml")
        scratch = Path(tempfile.mkdtemp(prefix="phase4gate-teamspace-"))
        try:
            junit = scratch / f"teamspace-run-{n}.junit.xml"
            argv = teamspace_argv(self.config, junit_path=junit)
            self._note(f"Teamspace run {n} of {total_runs}: {shlex.join(argv)}")
            result = run_process(
                argv,
                cwd=self.checkout,
                env=self.env,
                timeout=ts.timeout_seconds,
                log_path=log_path,
                secrets=self._secrets,
            )
            if log_path.is_file():
                log_rel = self._evidence_path(f"teamspace-run-{n}.log")
                refs.append(self.store.copy_in(log_path, log_rel))
            junit_text = junit.read_text(encoding="utf-8", errors="replace") if junit.is_file() else None
            if junit_text is not None:
                refs.append(self.store.write_text(junit_rel, junit_text))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        log_text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else ""
        return TeamspaceCapture(
            number=n,
            returncode=result.returncode,
            timed_out=result.timed_out,
            log_rel=log_rel,
            log_text=log_text,
            junit_rel=junit_rel,
            junit_text=junit_text,
            refs=tuple(refs),
            argv=result.argv,
            citation=RunCitation(LOCAL_EXECUTOR),
        )
