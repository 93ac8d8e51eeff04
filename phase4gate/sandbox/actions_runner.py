"""The sandbox's GitHub Actions runner: dispatched runs really execute, on a small bounded pool.

:class:`ActionsRunner` attaches to an :class:`~phase4gate.sandbox.github_actions.ActionsService`
and takes every queued attempt.  A worker (``workers``, default 2, threads) runs the job of
the workflow (:data:`JOBS`, by workflow file name) the way the workflow in
``examples/identity-boundary-canary.yml`` does on ``ubuntu-latest``:

1. *Set up job*; honour the workflow's ``concurrency`` group (one run of a group at a time);
2. *Check out*: ``git clone`` the repository's source and check out the run's ``head_sha``
   in a workspace of its own;
3. *Install spec-kitty-cli*: a venv with ``spec-kitty-cli==<cli_version>`` from the index
   emulator (made once per version and reused by later runs: tests run many canaries);
4. *Run*: the runner script ``--single --yes`` (or the Teamspace files with pytest) with
   ``SPEC_KITTY_ENABLE_SAAS_SYNC=1``, ``SPEC_KITTY_E2E_TRUSTED_RUNNER=1`` and the SaaS URL,
   and nothing of the host's environment but ``PATH``/``HOME``/locale (no token);
5. *Upload*: zip the artifact folder (hidden files left out, as ``actions/upload-artifact@v4``
   does) under the job's fixed artifact name;
6. *Complete job*: the logs zip (``<job>/<n>_<step>.txt`` with timestamped lines) and the
   conclusion (``success`` for exit 0, ``failure``, ``cancelled``, ``timed_out``).

The runs of a fresh workspace would each count as run 1 of the fixture suite's run counters
(``.run-count``): the runner keeps those files per repository between runs, as the real SaaS
remembers what it saw.  Every wait is bounded; :meth:`ActionsRunner.stop` kills what runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final, Self

from attrs import frozen

from phase4gate.adapters.runner import PLUGIN_DISABLES
from phase4gate.sandbox.github_actions import ActionsService, RunTicket

__all__ = ["CANARY_JOB", "JOBS", "TEAMSPACE_JOB", "ActionsRunner", "JobSpec"]

_POLL: Final = 0.05
_KILL_GRACE: Final = 2.0
_ENV_KEEP: Final = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "UV_CACHE_DIR", "XDG_CACHE_HOME", "SYSTEMROOT")


@frozen
class JobSpec:
    """One workflow's job: its name, what it runs, and the artifact it uploads."""

    name: str
    kind: str  # "canary" (the runner script) or "teamspace" (the Teamspace files under pytest)
    artifact_name: str
    artifact_dir: str  # relative to the workspace


CANARY_JOB: Final = JobSpec(
    "identity-boundary-canary", "canary", "sync-identity-boundary", "artifacts/sync_identity_boundary"
)
TEAMSPACE_JOB: Final = JobSpec("teamspace-mvp", "teamspace", "teamspace-mvp", "artifacts/teamspace")
JOBS: Final = {"identity-boundary-canary.yml": CANARY_JOB, "teamspace-mvp.yml": TEAMSPACE_JOB}
STEPS: Final = (
    "Set up job",
    "Check out the e2e repository",
    "Install spec-kitty-cli",
    "Run",
    "Upload the artifact",
    "Complete job",
)


class _CancelledError(Exception):
    """The attempt was cancelled (or the runner stops)."""


class _TimedOutError(Exception):
    """The job ran past its timeout."""


class _StepFailedError(Exception):
    """A step ended with a non-zero exit."""


class ActionsRunner:
    """Execute the Actions runs of *actions* on a pool of *workers* threads (see the module docstring)."""

    def __init__(  # noqa: PLR0913 - the runner's whole environment, each a keyword
        self,
        actions: ActionsService,
        *,
        work_root: Path,
        index_url: str,
        saas_url: str,
        python: str | None = None,
        workers: int = 2,
        jobs: Mapping[str, JobSpec] | None = None,
        job_timeout_seconds: float = 600.0,
        install_timeout_seconds: float = 300.0,
    ) -> None:
        if not 1 <= workers <= 8:
            msg = f"workers must be 1..8, got {workers}"
            raise ValueError(msg)
        self.actions = actions
        self.work_root = work_root
        self.index_url = index_url
        self.saas_url = saas_url
        self.python = python or sys.executable
        self.workers = workers
        self.jobs = dict(jobs or JOBS)
        self.job_timeout_seconds = job_timeout_seconds
        self.install_timeout_seconds = install_timeout_seconds
        self.executed: list[tuple[int, int]] = []  # (run id, attempt) in the order they started
        # (run id, attempt, concurrency group, start, end) on the monotonic clock, per executed attempt
        self.intervals: list[tuple[int, int, str | None, float, float]] = []
        self._queue: queue.Queue[RunTicket] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._venv_locks: dict[str, threading.Lock] = {}
        self._group_locks: dict[str, threading.Lock] = {}
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._installs = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start the workers and take every attempt already queued."""
        self.work_root.mkdir(parents=True, exist_ok=True)
        for i in range(1, self.workers + 1):
            t = threading.Thread(target=self._work, args=(i,), name=f"actions-runner-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        with self.actions.lock:
            self.actions.attach_runner(self._queue.put)
            for run in self.actions.runs:
                knobs = self.actions.behaviour.for_run(run.workflow_path, run.run_number)
                if run.latest.status == "queued" and not knobs.queued_forever:
                    self._queue.put(self.actions.ticket(run, run.latest))
        return self

    def stop(self) -> None:
        """Detach, kill running jobs, and join the workers (bounded)."""
        self.actions.attach_runner(None)
        self._stop.set()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            _kill(proc)
        for t in self._threads:
            t.join(_KILL_GRACE + 3.0)
        self._threads.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def installs(self) -> int:
        """How many CLI venvs the runner made (one per version)."""
        with self._lock:
            return self._installs

    # ------------------------------------------------------------------ the pool

    def _work(self, index: int) -> None:
        while not self._stop.is_set():
            try:
                ticket = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                _Job(self, ticket, index).execute()
            except Exception as exc:  # noqa: BLE001 - a runner bug fails the run, visibly
                text = f"runner error: {type(exc).__name__}: {exc}\n".encode()
                with contextlib.suppress(Exception):
                    self.actions.complete_attempt(ticket, "failure", logs=_zip({"runner-error.txt": text}))

    def _named_lock(self, table: dict[str, threading.Lock], key: str) -> threading.Lock:
        with self._lock:
            return table.setdefault(key, threading.Lock())

    def acquire(self, lock: threading.Lock, give_up: Callable[[], bool]) -> None:
        """Take *lock*, waiting in bounded slices until *give_up* says so.

        Raises:
            _CancelledError: *give_up* answered True first.
        """
        while not lock.acquire(timeout=0.1):
            if give_up():
                raise _CancelledError

    def venv_for(self, version: str, log: Callable[[str], None], give_up: Callable[[], bool]) -> Path:
        """Return the bin folder of a venv with ``spec-kitty-cli==version`` (made once, then reused).

        Raises:
            _StepFailedError: uv is missing or the install failed.
        """
        lock = self._named_lock(self._venv_locks, version)
        self.acquire(lock, give_up)
        try:
            venv = self.work_root / "venvs" / version
            done = venv / ".installed"
            if done.exists():
                log(f"reusing the cached environment with spec-kitty-cli=={version}")
                return venv / "bin"
            shutil.rmtree(venv, ignore_errors=True)
            uv = shutil.which("uv")
            if uv is None:
                log("uv is not on PATH")
                raise _StepFailedError
            env = _base_env()
            for argv in (
                [uv, "venv", str(venv), "--python", self.python, "--no-config", "--quiet"],
                [
                    uv,
                    "pip",
                    "install",
                    "--no-config",
                    "--python",
                    str(venv / "bin" / "python"),
                    "--index-url",
                    self.index_url,
                    f"spec-kitty-cli=={version}",
                ],
            ):
                code = self.run_process(argv, cwd=self.work_root, env=env, log=log, give_up=give_up)
                if code != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    raise _StepFailedError
            done.write_text(version, encoding="utf-8")
            with self._lock:
                self._installs += 1
            return venv / "bin"
        finally:
            lock.release()

    def run_process(  # noqa: PLR0913 - one bounded, cancellable subprocess
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log: Callable[[str], None],
        give_up: Callable[[], bool],
        deadline: float | None = None,
    ) -> int:
        """Run *argv*, log its output line by line, and return its exit code.

        Raises:
            _CancelledError: *give_up* answered True (the process is killed).
            _TimedOutError: *deadline* passed (the process is killed).
        """
        out = cwd / f".runner-out-{threading.get_ident()}"
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        with self._lock:
            self._procs.add(proc)
        end = deadline if deadline is not None else time.monotonic() + self.install_timeout_seconds
        code: int | None = None
        try:
            while code is None:
                try:
                    code = proc.wait(timeout=_POLL)
                except subprocess.TimeoutExpired:
                    if give_up():
                        _kill(proc)
                        raise _CancelledError from None
                    if time.monotonic() > end:
                        _kill(proc)
                        raise _TimedOutError from None
        finally:
            with self._lock:
                self._procs.discard(proc)
            for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
                log(line)
            out.unlink(missing_ok=True)
        if code != 0 and give_up():
            raise _CancelledError  # killed by a cancel or the runner's stop, not a failure of its own
        return code


class _Job:
    """One attempt executing on one worker."""

    def __init__(self, runner: ActionsRunner, ticket: RunTicket, index: int) -> None:
        self.runner = runner
        self.actions = runner.actions
        self.ticket = ticket
        self.index = index
        self.spec = runner.jobs.get(ticket.workflow_path.rsplit("/", 1)[-1], CANARY_JOB)
        self.workspace = runner.work_root / "ws" / f"{ticket.run_id}-{ticket.attempt}"
        self.logs: dict[str, list[str]] = {name: [] for name in STEPS}
        self._current = STEPS[0]
        self.bin_dir = Path()

    def give_up(self) -> bool:
        return self.runner._stop.is_set() or self.actions.cancel_requested(self.ticket)  # noqa: SLF001 - its own runner

    def log(self, line: str) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
        self.logs[self._current].append(f"{stamp} {line}")

    def execute(self) -> None:
        if self.runner._stop.wait(self.actions.behaviour.queue_seconds):  # noqa: SLF001 - its own runner
            return
        if not self.actions.is_open(self.ticket):
            return  # cancelled while it waited
        group = self.ticket.concurrency
        group_lock = self.runner._named_lock(self.runner._group_locks, group) if group else None  # noqa: SLF001
        if group_lock is not None and not group_lock.acquire(blocking=False):
            # Another run of the group is in progress: this one waits as "pending", on no worker.
            self.actions.mark_pending(self.ticket)
            self.runner._queue.put(self.ticket)  # noqa: SLF001 - its own runner
            return
        started = time.monotonic()
        try:
            if not self.actions.start_attempt(
                self.ticket, runner_name=f"GitHub Actions {self.index}", runner_id=self.index, steps=STEPS
            ):
                return
            with self.runner._lock:  # noqa: SLF001 - its own runner
                self.runner.executed.append((self.ticket.run_id, self.ticket.attempt))
            self._steps()
        finally:
            with self.runner._lock:  # noqa: SLF001 - its own runner
                self.runner.intervals.append(
                    (self.ticket.run_id, self.ticket.attempt, group, started, time.monotonic())
                )
            if group_lock is not None:
                group_lock.release()
            shutil.rmtree(self.workspace, ignore_errors=True)

    def _steps(self) -> None:
        deadline = time.monotonic() + self.runner.job_timeout_seconds
        conclusion = "success"
        artifacts: list[tuple[str, bytes]] = []
        steps: list[tuple[str, Callable[[float], None]]] = [
            (STEPS[0], self._set_up),
            (STEPS[1], self._checkout),
            (STEPS[2], self._install),
            (STEPS[3], self._run),
        ]
        number = 0
        for number, (name, body) in enumerate(steps, start=1):
            self._current = name
            if self.give_up():
                conclusion = "cancelled"
                break
            self.actions.step_started(self.ticket, number)
            try:
                body(deadline)
            except _CancelledError:
                conclusion = "cancelled"
            except _TimedOutError:
                self.log("##[error]The job has exceeded the maximum execution time")
                conclusion = "timed_out"
            except _StepFailedError:
                conclusion = "failure"
            self.actions.step_finished(self.ticket, number, "success" if conclusion == "success" else conclusion)
            if conclusion != "success":
                break
        # The upload runs `if: always()` once the workspace exists, so a failed run's file is kept.
        if conclusion in {"success", "failure"} and number >= 4:
            self._current = STEPS[4]
            self.actions.step_started(self.ticket, 5)
            artifacts = self._upload()
            self.actions.step_finished(self.ticket, 5, "success")
        self._current = STEPS[5]
        if conclusion != "cancelled":
            self.actions.step_started(self.ticket, 6)
            self.log(f"Job completed: {conclusion}")
            self.actions.step_finished(self.ticket, 6, "success")
        self._complete(conclusion, artifacts=artifacts)

    def _complete(self, conclusion: str, *, artifacts: Sequence[tuple[str, bytes]]) -> None:
        files: dict[str, bytes] = {}
        job = self.spec.name
        for number, name in enumerate(STEPS, start=1):
            files[f"{job}/{number}_{name}.txt"] = ("\n".join(self.logs[name]) + "\n").encode()
        files[f"0_{job}.txt"] = b"".join(files.values())
        self.actions.complete_attempt(self.ticket, conclusion, logs=_zip(files), artifacts=artifacts)

    # ------------------------------------------------------------------ steps

    def _set_up(self, _deadline: float) -> None:
        self.log(f"Current runner version: '2.330.0'; runner name: 'GitHub Actions {self.index}'")
        self.log(f"Job: {self.spec.name}; run {self.ticket.run_id} attempt {self.ticket.attempt}")
        self.log(f"Inputs: {', '.join(f'{k}={v}' for k, v in sorted(self.ticket.inputs.items()))}")

    def _git(self, *args: str, deadline: float) -> None:
        argv = ["git", "-c", "advice.detachedHead=false", *args]
        code = self.runner.run_process(
            argv, cwd=self.workspace.parent, env=_base_env(), log=self.log, give_up=self.give_up, deadline=deadline
        )
        if code != 0:
            raise _StepFailedError

    def _checkout(self, deadline: float) -> None:
        if not self.ticket.source:
            self.log(f"##[error]no source repository for {self.ticket.repo}")
            raise _StepFailedError
        self.workspace.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.workspace, ignore_errors=True)
        self.log(f"Syncing repository: {self.ticket.repo} at {self.ticket.head_sha}")
        self._git("clone", "--quiet", "--no-checkout", self.ticket.source, str(self.workspace), deadline=deadline)
        self._git("-C", str(self.workspace), "checkout", "--quiet", "--detach", self.ticket.head_sha, deadline=deadline)
        self._restore_counters()

    def _install(self, _deadline: float) -> None:
        version = self.ticket.inputs.get("cli_version", "")
        if not version:
            self.log("##[error]input cli_version is empty")
            raise _StepFailedError
        self.bin_dir = self.runner.venv_for(version, self.log, self.give_up)

    def _run(self, deadline: float) -> None:
        env = _base_env()
        env.update(
            {
                "PATH": os.pathsep.join([str(self.bin_dir), env.get("PATH", os.defpath)]),
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_RUN_ID": str(self.ticket.run_id),
                "GITHUB_RUN_ATTEMPT": str(self.ticket.attempt),
                "GITHUB_SHA": self.ticket.head_sha,
                "GITHUB_REF_NAME": self.ticket.head_branch or "",
                "GITHUB_REPOSITORY": self.ticket.repo,
                "RUNNER_NAME": f"GitHub Actions {self.index}",
                "SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
                "SPEC_KITTY_E2E_TRUSTED_RUNNER": "1",
                "SPEC_KITTY_SAAS_URL": self.runner.saas_url,
                "SPEC_KITTY_SAAS_BASE_URL": self.runner.saas_url,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTEST_ADDOPTS": " ".join(PLUGIN_DISABLES),
            }
        )
        if self.spec.kind == "teamspace":
            from phase4gate.sandbox.e2e import TEAMSPACE_FILES  # noqa: PLC0415

            (self.workspace / self.spec.artifact_dir).mkdir(parents=True, exist_ok=True)
            argv: list[str] = [
                self.runner.python,
                "-m",
                "pytest",
                "-v",
                *TEAMSPACE_FILES,
                "-m",
                "deployed_dev",
                "-p",
                "no:cacheprovider",
                f"--junitxml={self.spec.artifact_dir}/junit.xml",
            ]
        else:
            from phase4gate.sandbox.e2e import RUNNER_SCRIPT  # noqa: PLC0415

            argv = [str(self.workspace / RUNNER_SCRIPT), "--single", "--yes"]
        self.log(f"Run {' '.join(argv[-3:]) if self.spec.kind == 'canary' else 'pytest (Teamspace files)'}")
        start = len(self.logs[STEPS[3]])
        try:
            code = self.runner.run_process(
                argv, cwd=self.workspace, env=env, log=self.log, give_up=self.give_up, deadline=deadline
            )
        finally:
            self._save_counters()
            if self.spec.kind == "teamspace":
                lines = [line.split(" ", 1)[-1] for line in self.logs[STEPS[3]][start:]]
                target = self.workspace / self.spec.artifact_dir / "teamspace-mvp.log"
                target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if code != 0:
            self.log(f"##[error]Process completed with exit code {code}.")
            raise _StepFailedError

    def _upload(self) -> list[tuple[str, bytes]]:
        folder = self.workspace / self.spec.artifact_dir
        files = {
            str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        }
        if not files:
            self.log(f"##[warning]No files were found with the provided path: {self.spec.artifact_dir}")
            return []
        data = _zip(files)
        self.log(f"Artifact {self.spec.artifact_name}.zip ({len(data)} bytes, {len(files)} files) uploaded")
        return [(self.spec.artifact_name, data)]

    # ------------------------------------------------------------------ run counters kept between workspaces

    def _counter_paths(self) -> list[tuple[Path, Path]]:
        keep = self.runner.work_root / "counters" / self.ticket.repo.replace("/", "__")
        return [
            (keep / sub / ".run-count", self.workspace / sub / ".run-count")
            for sub in ("artifacts/sync_identity_boundary", "artifacts/teamspace")
        ]

    def _restore_counters(self) -> None:
        for kept, live in self._counter_paths():
            if kept.exists():
                live.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(kept, live)

    def _save_counters(self) -> None:
        for kept, live in self._counter_paths():
            if live.exists():
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(live, kept)


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in _ENV_KEEP}


def _zip(files: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 5, 12, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Terminate *proc*'s process group, then kill it after a grace period."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=_KILL_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_KILL_GRACE)
