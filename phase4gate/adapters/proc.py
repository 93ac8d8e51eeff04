"""Child processes: own process group, no stdin, streamed output, bounded shutdown.

Every subprocess the gate starts (canary runs, installs, pytest, git) goes
through :func:`run_process`: it runs in a new session so a timeout can end the
whole process group (interrupt, then terminate, then kill, each bounded, as
``nox.popen.shutdown_process`` does), output is streamed line by line to a log
file and an optional callback, and the result records what happened.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Final

from attrs import frozen

from phase4gate.errors import ProcessError, redact

__all__ = ["SHUTDOWN_GRACE_SECONDS", "ProcResult", "child_seconds", "record_child", "run_process", "terminate_all"]

SHUTDOWN_GRACE_SECONDS: Final = 3.0
_TAIL_LINES: Final = 200
# Live children, so an interrupt of the gate (Ctrl-C in the main thread) can end them all.
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()
# Wall time spent in children, for the gate-overhead benchmark.
_CHILD_SECONDS = [0.0]


def child_seconds() -> float:
    """Return the total wall time of every child run so far (see :func:`record_child`)."""
    with _LIVE_LOCK:
        return _CHILD_SECONDS[0]


def record_child(seconds: float) -> None:
    """Add a child's wall time run outside :func:`run_process` (short git calls) to the total."""
    with _LIVE_LOCK:
        _CHILD_SECONDS[0] += seconds


def terminate_all(grace: float = SHUTDOWN_GRACE_SECONDS) -> int:
    """End every child process group still running; return how many there were."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        _shutdown(proc, grace)
    return len(live)


@frozen
class ProcResult:
    """What a finished child process did."""

    argv: tuple[str, ...]
    returncode: int
    duration_seconds: float
    timed_out: bool
    output_tail: str
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True for exit status 0 without a timeout."""
        return self.returncode == 0 and not self.timed_out


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _shutdown(proc: subprocess.Popen[bytes], grace: float) -> None:
    """End *proc*'s whole group: SIGINT, SIGTERM, SIGKILL, each given *grace* seconds."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        _signal_group(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure no child of the group outlives it.
        _signal_group(proc.pid, signal.SIGKILL)
        return


def _pump(
    stream: IO[bytes],
    log: IO[bytes] | None,
    tail: deque[str],
    on_line: Callable[[str], None] | None,
    secrets: tuple[str, ...],
) -> None:
    for raw in iter(stream.readline, b""):
        line = redact(raw.decode("utf-8", errors="replace"), *secrets)
        if log is not None:
            log.write(line.encode("utf-8"))
            log.flush()
        tail.append(line)
        if on_line is not None:
            on_line(line.rstrip("\n"))


def run_process(  # noqa: PLR0913 - every knob is a keyword the callers need
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float,
    log_path: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    secrets: Sequence[str] = (),
    grace: float = SHUTDOWN_GRACE_SECONDS,
) -> ProcResult:
    """Run *argv* to completion or until *timeout* seconds, then end its whole group.

    Output (stdout and stderr merged) is redacted of *secrets* and token-shaped
    strings, appended to *log_path* and passed line by line to *on_line*.

    Raises:
        ProcessError: the program cannot be started (not found, not executable).
    """
    args = tuple(str(a) for a in argv)
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    log: IO[bytes] | None = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
    start = time.monotonic()
    proc: subprocess.Popen[bytes] | None = None
    try:
        try:
            proc = subprocess.Popen(
                args,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            msg = f"cannot start {args[0]!r}: {exc.strerror or exc}"
            raise ProcessError(msg, argv=args, hint="check the command in the configuration") from None
        assert proc.stdout is not None  # noqa: S101 - guaranteed by stdout=PIPE
        with _LIVE_LOCK:
            _LIVE.add(proc)
        pump = threading.Thread(
            target=_pump, args=(proc.stdout, log, tail, on_line, tuple(s for s in secrets if s)), daemon=True
        )
        pump.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _shutdown(proc, grace)
        except BaseException:
            _shutdown(proc, grace)
            raise
        else:
            # Children of the leader that kept running would hold the pipe open.
            _signal_group(proc.pid, signal.SIGKILL)
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(proc)
        pump.join(timeout=grace * 4)
        proc.stdout.close()
    finally:
        if log is not None:
            log.close()
    assert proc is not None  # noqa: S101 - Popen either returned or raised
    duration = time.monotonic() - start
    record_child(duration)
    return ProcResult(
        argv=args,
        returncode=proc.returncode if proc.returncode is not None else -signal.SIGKILL,
        duration_seconds=duration,
        timed_out=timed_out,
        output_tail="".join(tail),
        log_path=log_path,
    )
