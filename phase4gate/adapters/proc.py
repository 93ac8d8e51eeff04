"""Child processes: own process group, no stdin, streamed output, bounded shutdown.

Every subprocess the gate starts (canary runs, installs, pytest) goes through
:func:`run_process`: it runs in a new session so a timeout can end the whole
process group (interrupt, then terminate, then kill, each bounded, as
``nox.popen.shutdown_process`` does), output is streamed line by line to a log
file and an optional callback, and the result records what happened.

Timeouts are bounds: a child's descendants that left its group (``setsid``) are
found by the per-call marker in their environment (``PHASE4GATE_CALL``) and by
their parent chain, and ended too; the output reader is given a fixed grace and
then abandoned, so a descendant holding the pipe never holds the caller.

Every child carries ``PHASE4GATE_CHILD_OF=<run id>:<nonce>`` (:func:`set_child_marker`)
so a later gate can recognise, by identity and never by name, what an earlier gate
left behind (:func:`end_leftovers`).  :func:`request_stop` (the gate's SIGINT/SIGTERM
handler) ends every live child at once and makes every running and later
:func:`run_process` raise :class:`StopRequested`.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import os
import secrets as _secrets
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Final

from attrs import frozen

from phase4gate.errors import ProcessError, redact

__all__ = [
    "CALL_ENV",
    "CHILD_ENV",
    "SHUTDOWN_GRACE_SECONDS",
    "ChildRecord",
    "ProcResult",
    "StopRequested",
    "become_subreaper",
    "child_busy_seconds",
    "child_seconds",
    "clear_stop",
    "end_leftovers",
    "process_alive",
    "process_start_time",
    "record_child",
    "request_stop",
    "run_process",
    "set_child_marker",
    "set_child_observer",
    "stop_requested",
    "terminate_all",
    "wait_for_running_child",
]

SHUTDOWN_GRACE_SECONDS: Final = 3.0
# Every child's environment: the gate run it belongs to, and the run_process call that started it.
CHILD_ENV: Final = "PHASE4GATE_CHILD_OF"
CALL_ENV: Final = "PHASE4GATE_CALL"
_TAIL_LINES: Final = 200
_POLL_SECONDS: Final = 0.1
# After a stop request a child gets this long per signal (SIGINT, SIGTERM, SIGKILL).
_STOP_GRACE_SECONDS: Final = 1.0
_PR_SET_CHILD_SUBREAPER: Final = 36
# Live children, each with the marker of the gate that started it.
_LIVE: dict[subprocess.Popen[bytes], str | None] = {}
_LIVE_LOCK = threading.Lock()
# Notified whenever a child joins _LIVE (for :func:`wait_for_running_child`).
_LIVE_CHANGED = threading.Condition(_LIVE_LOCK)
# Wall time spent in children, for the gate-overhead benchmark.
_CHILD_SECONDS = [0.0]
# The last children's (start, end) in monotonic seconds, for the busy time (bounded).
_CHILD_SPANS: deque[tuple[float, float]] = deque(maxlen=100_000)
_STOP = threading.Event()
_STOP_SIGNAL: list[int] = []
# Per gate (a context variable, so two gates in one process keep their children apart;
# the engine runs each step in a copy of the gate's context).
_MARKER: contextvars.ContextVar[str | None] = contextvars.ContextVar("phase4gate_child_marker", default=None)
_OBSERVER: contextvars.ContextVar[Callable[[ChildRecord], None] | None] = contextvars.ContextVar(
    "phase4gate_child_observer", default=None
)


class StopRequested(KeyboardInterrupt):
    """The gate was asked to stop (SIGINT or SIGTERM): no new child starts, running ones end.

    A ``KeyboardInterrupt`` so that no ``except Exception`` in a step turns it into a verdict.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        # The shell's convention: 128 + the signal (130 for SIGINT, 143 for SIGTERM).
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {self.signal_name}")


@frozen
class ChildRecord:
    """A child the gate started: enough to recognise it later (pid, group and start time)."""

    pid: int
    pgid: int
    start_time: int | None
    argv: tuple[str, ...]


def child_seconds() -> float:
    """Return the total wall time of every child run so far (see :func:`record_child`)."""
    with _LIVE_LOCK:
        return _CHILD_SECONDS[0]


def child_busy_seconds(since: float, until: float | None = None) -> float:
    """Return how long, between monotonic *since* and *until* (now), at least one child was running.

    Children run side by side (WP02 beside WP03, the two project installs), so their summed
    time can exceed the wall time; the union of their intervals cannot.
    """
    end = time.monotonic() if until is None else until
    with _LIVE_LOCK:
        spans = sorted((max(a, since), min(b, end)) for a, b in _CHILD_SPANS if b > since and a < end)
    busy, cur_a, cur_b = 0.0, None, None
    for a, b in spans:
        if cur_b is None or a > cur_b:
            if cur_a is not None and cur_b is not None:
                busy += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_a is not None and cur_b is not None:
        busy += cur_b - cur_a
    return busy


def wait_for_running_child(timeout: float) -> bool:
    """Wait at most *timeout* seconds until a :func:`run_process` child is running; return whether one is."""
    with _LIVE_CHANGED:
        return _LIVE_CHANGED.wait_for(lambda: bool(_LIVE), timeout)


def record_child(seconds: float) -> None:
    """Add a child's wall time (it ended just now) run outside :func:`run_process` (short git calls)."""
    now = time.monotonic()
    with _LIVE_LOCK:
        _CHILD_SECONDS[0] += seconds
        _CHILD_SPANS.append((now - seconds, now))


def terminate_all(grace: float = SHUTDOWN_GRACE_SECONDS, *, marker: str | None = None) -> int:
    """End every child process group still running (only *marker*'s gate's, if given); return how many."""
    with _LIVE_LOCK:
        live = [p for p, m in _LIVE.items() if marker is None or m == marker]
    for proc in live:
        _shutdown(proc, grace)
    return len(live)


def request_stop(signum: int) -> None:
    """Ask every running and later :func:`run_process` to stop (safe in a signal handler).

    The flag is set and every live child group gets SIGTERM now; the thread waiting
    on each child escalates to SIGKILL within a fixed grace.
    """
    if not _STOP.is_set():
        _STOP_SIGNAL[:] = [signum]
        _STOP.set()
    # No lock here (a signal handler must not wait on one); a set changing under us is retried.
    for _attempt in range(3):
        try:
            live = list(_LIVE)
        except RuntimeError:
            continue
        for proc in live:
            _signal_group(proc.pid, signal.SIGTERM)
        return


def stop_requested() -> StopRequested | None:
    """Return the pending stop (to raise), or ``None`` when nobody asked to stop."""
    if not _STOP.is_set():
        return None
    return StopRequested(_STOP_SIGNAL[0] if _STOP_SIGNAL else signal.SIGINT)


def stoppable_sleep(seconds: float) -> None:
    """Sleep *seconds*, returning early when a stop is requested (the caller then checks :func:`stop_requested`)."""
    _STOP.wait(max(0.0, seconds))


def clear_stop() -> None:
    """Forget an earlier stop request (a new gate run in the same process starts clean)."""
    _STOP.clear()
    _STOP_SIGNAL.clear()


def set_child_marker(marker: str | None) -> None:
    """Mark every later child with ``PHASE4GATE_CHILD_OF=<marker>`` (``None``: no marker)."""
    _MARKER.set(marker or None)


def set_child_observer(observer: Callable[[ChildRecord], None] | None) -> None:
    """Call *observer* with every child :func:`run_process` starts (the gate journals them)."""
    _OBSERVER.set(observer)


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``); return whether it is.

    Orphans of our children, including those that started their own session, are then
    re-parented to this process instead of init, so they stay findable and killable.
    Elsewhere (or where prctl refuses) nothing changes and ``False`` is returned; the
    environment marker still finds such orphans.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


# ---------------------------------------------------------------------- /proc


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/PID/stat`` (after the command name), or ``None`` when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def process_start_time(pid: int) -> int | None:
    """Return *pid*'s start time (field 22 of ``/proc/PID/stat``, clock ticks since boot)."""
    fields = _stat_fields(pid)
    # Field 22 overall; the list starts at field 3 (state).
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def process_alive(pid: int, start_time: int | None = None) -> bool:
    """Return whether *pid* runs (not a zombie) and, if *start_time* is given, is that same process."""
    fields = _stat_fields(pid)
    if fields is None or not fields or fields[0] in {"Z", "X"}:
        return False
    return start_time is None or (len(fields) > 19 and int(fields[19]) == start_time)


def _processes() -> dict[int, tuple[int, int]]:
    """Return ``{pid: (ppid, start time)}`` of every live process readable in /proc."""
    out: dict[int, tuple[int, int]] = {}
    try:
        names = [e.name for e in Path("/proc").iterdir()]
    except OSError:
        return out
    for name in names:
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields is not None and len(fields) > 19 and fields[0] not in {"Z", "X"}:
                out[int(name)] = (int(fields[1]), int(fields[19]))
    return out


def _descendants(pid: int) -> dict[int, int]:
    """Return ``{pid: start time}`` of every live descendant of *pid*."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for p, (ppid, _start) in table.items():
        children.setdefault(ppid, []).append(p)
    out: dict[int, int] = {}
    frontier = [pid]
    while frontier:
        for c in children.get(frontier.pop(), []):
            if c not in out:
                out[c] = table[c][1]
                frontier.append(c)
    return out


def _carrying(name: str, values: Iterable[str], *, since: int | None = None) -> dict[int, int]:
    """Return ``{pid: start time}`` of every live process whose environment has ``name=<one of values>``.

    With *since* (a start time), only processes started then or later are read (a child's
    descendants cannot be older than the child).
    """
    wanted = {f"{name}={v}".encode() for v in values}
    out: dict[int, int] = {}
    if not wanted:
        return out
    me = os.getpid()
    for pid, (_ppid, start) in _processes().items():
        if pid == me or (since is not None and start < since):
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:  # another user's process, or gone
            continue
        if wanted.intersection(env.split(b"\0")):
            out[pid] = start
    return out


def _end(victims: Mapping[int, int | None], grace: float) -> list[int]:
    """SIGKILL each ``pid`` whose start time still matches; wait (bounded) until each is gone."""
    me = os.getpid()
    ended: list[int] = []
    for pid, start in victims.items():
        if pid == me or not process_alive(pid, start):
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            ended.append(pid)
    deadline = time.monotonic() + grace
    for pid in ended:
        while time.monotonic() < deadline:
            fields = _stat_fields(pid)
            if fields is None:
                break
            if fields[0] in {"Z", "X"}:
                # An orphan re-parented to us (subreaper): reap it.  Never one of our own
                # Popen children (those are group leaders the subprocess module waits for).
                if len(fields) > 1 and int(fields[1]) == me:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(pid, os.WNOHANG)
                break
            time.sleep(0.01)
    return ended


def end_leftovers(records: Iterable[tuple[int, int | None]], markers: Iterable[str]) -> list[int]:
    """End what an earlier gate left running; return the pids ended.

    A process counts only if its start time equals a recorded ``(pid, start_time)``
    or its environment carries ``PHASE4GATE_CHILD_OF=<marker>`` of that earlier
    gate; names are never looked at.  A recorded group leader's whole group ends too.
    """
    victims: dict[int, int | None] = {}
    for pid, start in records:
        if start is not None and process_alive(pid, start):
            victims[pid] = start
            victims.update((p, st) for p, (_ppid, st) in _processes().items() if _pgid(p) == pid and p != os.getpid())
    victims.update(_carrying(CHILD_ENV, markers))
    return _end(victims, SHUTDOWN_GRACE_SECONDS)


def _pgid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if fields is not None and len(fields) > 2 else None


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


class _ExitWaiter:
    """Wait for a child to exit without polling: a pidfd (Linux) wakes the wait the moment it ends.

    ``Popen.wait(timeout=...)`` sleeps in growing steps (up to 50 ms) between checks, so each
    child's end was noticed ~25 ms late on average; where ``os.pidfd_open`` is missing (or
    refused), that is still the fallback.
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._fd: int | None = None
        opener = getattr(os, "pidfd_open", None)
        if opener is not None:
            with contextlib.suppress(OSError):
                self._fd = opener(proc.pid)

    def __call__(self, timeout: float) -> bool:
        """Return True once the child has exited (and is reaped), waiting at most *timeout* seconds."""
        if self._fd is None:
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if ready:
            self._proc.wait()  # it has exited: this only reaps it
            return True
        return self._proc.poll() is not None

    def close(self) -> None:
        """Close the pidfd."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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
    strings, appended to *log_path* and passed line by line to *on_line*.  The call
    returns within *timeout* plus a fixed multiple of *grace*, whatever the child's
    descendants do: those that left the group are ended as well, and an output
    reader still blocked on a pipe they held is abandoned.

    Raises:
        ProcessError: the program cannot be started (not found, not executable).
        StopRequested: the gate was asked to stop, before or while the child ran
            (the child's group is ended first; no result is returned, a stopped
            run is never a verdict).
    """
    pending = stop_requested()
    if pending is not None:
        raise pending
    args = tuple(str(a) for a in argv)
    call = _secrets.token_hex(8)
    child_env = dict(os.environ if env is None else env)
    child_env[CALL_ENV] = call
    marker = _MARKER.get()
    if marker:
        child_env[CHILD_ENV] = marker
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    log: IO[bytes] | None = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
    start = time.monotonic()
    proc: subprocess.Popen[bytes] | None = None
    pump: threading.Thread | None = None
    timed_out = stopped = False
    try:
        try:
            proc = subprocess.Popen(
                args,
                cwd=cwd,
                env=child_env,
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
            _LIVE[proc] = marker
            _LIVE_CHANGED.notify_all()
        pump = threading.Thread(
            target=_pump, args=(proc.stdout, log, tail, on_line, tuple(s for s in secrets if s)), daemon=True
        )
        pump.start()
        born = process_start_time(proc.pid)
        exits = _ExitWaiter(proc)
        try:
            observer = _OBSERVER.get()
            if observer is not None:
                observer(ChildRecord(proc.pid, proc.pid, born, args))
            deadline = start + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                if exits(min(_POLL_SECONDS, remaining)):
                    break
                if _STOP.is_set():
                    break
            # A child that ended while a stop was requested (it was signalled) is never a verdict.
            stopped = _STOP.is_set()
            # Descendants still attached to the leader, before the group ends (they may have left it).
            # (Only needed when the leader still runs: once it is gone, its orphans are re-parented.)
            escaped: dict[int, int | None] = dict(_descendants(proc.pid)) if proc.returncode is None else {}
            if timed_out or stopped:
                _shutdown(proc, min(grace, _STOP_GRACE_SECONDS) if stopped else grace)
            # Children of the leader that kept running would hold the pipe open.
            _signal_group(proc.pid, signal.SIGKILL)
            escaped.update(_carrying(CALL_ENV, [call], since=born))
            escaped.pop(proc.pid, None)  # the leader itself is the subprocess module's to reap
            _end(escaped, grace)
        except BaseException:
            _shutdown(proc, grace)
            _end(_carrying(CALL_ENV, [call], since=born), grace)
            raise
        finally:
            exits.close()
            with _LIVE_LOCK:
                _LIVE.pop(proc, None)
        pump.join(timeout=grace)
        if not pump.is_alive():
            # Closing while the reader is blocked in readline would block on its lock.
            proc.stdout.close()
    finally:
        # An abandoned reader still owns the log; it is closed when the reader is collected.
        if log is not None and (pump is None or not pump.is_alive()):
            log.close()
    assert proc is not None  # noqa: S101 - Popen either returned or raised
    duration = time.monotonic() - start
    record_child(duration)
    if stopped:
        raise stop_requested() or StopRequested(signal.SIGTERM)
    return ProcResult(
        argv=args,
        returncode=proc.returncode if proc.returncode is not None else -signal.SIGKILL,
        duration_seconds=duration,
        timed_out=timed_out,
        output_tail="".join(tail),
        log_path=log_path,
    )
