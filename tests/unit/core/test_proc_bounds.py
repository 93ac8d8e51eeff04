"""Timeouts are bounds: descendants that leave the group or hold the pipe never hold the caller.

Issue 19, case 4: ``bash -c 'setsid sleep 20 & sleep 600'`` with ``timeout=2`` used to
return only when the detached ``sleep`` ended, because closing stdout blocked while
it held the pipe.  Also the markers, the child records, stop requests and the
identity-checked clean-up of what an earlier gate left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from phase4gate.adapters.proc import (
    CHILD_ENV,
    ChildRecord,
    ProcResult,
    StopRequested,
    clear_stop,
    end_leftovers,
    process_alive,
    process_start_time,
    request_stop,
    run_process,
    set_child_marker,
    set_child_observer,
)
from tests.conftest import HANG_GUARD_SECONDS

# Longer than the hang guard, so the old behaviour (waiting for it) shows as a hang.
_LINGER = int(HANG_GUARD_SECONDS) + 60


def _wait_for_file(path: Path) -> int:
    """Return the pid written to *path* (the child wrote it before run_process returned)."""
    text = path.read_text().strip()
    assert text, f"{path} is empty"
    return int(text)


@contextlib.contextmanager
def _cleanup(*pidfiles: Path) -> Iterator[None]:
    """Kill whatever a pid file names if the test failed before run_process ended it."""
    try:
        yield
    finally:
        for f in pidfiles:
            if f.exists() and f.read_text().strip():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(f.read_text().strip()), signal.SIGKILL)


def _bounded(fn: object) -> ProcResult:
    """Run *fn* in a thread; fail (instead of hanging) when it does not return within the guard."""
    out: list[ProcResult] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(HANG_GUARD_SECONDS)
    assert not t.is_alive(), "run_process did not return: a descendant held it"
    if errors:
        raise errors[0]
    return out[0]


def test_setsid_descendant_does_not_outlast_the_timeout(tmp_path: Path) -> None:
    """A descendant in its own session holding stdout: the call returns, timed out, and it is dead."""
    pidfile = tmp_path / "detached.pid"
    script = f"setsid sleep {_LINGER} & echo $! > {pidfile}; sleep 600"
    with _cleanup(pidfile):
        result = _bounded(lambda: run_process(["bash", "-c", script], timeout=2.0, grace=0.5))
        assert result.timed_out
        assert not result.ok
        assert not process_alive(_wait_for_file(pidfile)), "the detached sleep outlived run_process"


def test_descendant_without_the_marker_is_found_by_its_parent(tmp_path: Path) -> None:
    """A descendant that cleared its environment and left the session is still ended at the timeout."""
    pidfile = tmp_path / "scrubbed.pid"
    script = f"setsid env -i sleep {_LINGER} & echo $! > {pidfile}; sleep 600"
    with _cleanup(pidfile):
        result = _bounded(lambda: run_process(["bash", "-c", script], timeout=2.0, grace=0.5))
        assert result.timed_out
        assert not process_alive(_wait_for_file(pidfile))


def test_clean_exit_with_a_lingering_descendant_returns(tmp_path: Path) -> None:
    """The leader exits 0 while a detached descendant keeps the pipe: the result is ok and it is ended."""
    pidfile = tmp_path / "linger.pid"
    script = f"setsid sleep {_LINGER} & echo $! > {pidfile}; echo done"
    with _cleanup(pidfile):
        result = _bounded(lambda: run_process(["bash", "-c", script], timeout=HANG_GUARD_SECONDS, grace=0.5))
        assert result.ok, result.output_tail
        assert not result.timed_out
        assert "done" in result.output_tail
        assert not process_alive(_wait_for_file(pidfile))


def test_children_carry_the_gate_marker_and_are_recorded() -> None:
    """Each child sees PHASE4GATE_CHILD_OF, and the observer gets its pid, group and /proc start time."""
    seen: list[ChildRecord] = []
    set_child_marker("20261201T000000Z-abcd:nonce1")
    set_child_observer(seen.append)
    try:
        code = (
            "import os; from pathlib import Path; "
            f"print(os.environ[{CHILD_ENV!r}]); "
            "print(Path('/proc/self/stat').read_text().rpartition(')')[2].split()[19])"
        )
        result = run_process([sys.executable, "-c", code], timeout=HANG_GUARD_SECONDS)
    finally:
        set_child_marker(None)
        set_child_observer(None)
    marker, start = result.output_tail.split()
    assert marker == "20261201T000000Z-abcd:nonce1"
    assert len(seen) == 1
    assert seen[0].pid == seen[0].pgid
    assert seen[0].start_time == int(start)
    assert seen[0].argv[0] == sys.executable


def test_stop_request_ends_a_hung_child_and_refuses_new_ones(tmp_path: Path) -> None:
    """request_stop (the gate's signal handler) ends the running child; no later child starts."""
    pidfile = tmp_path / "hung.pid"
    # "up" only once the pid is written and the signals are ignored: a stop requested at "up"
    # must end a child that ignores SIGTERM, and the test must be able to find it.
    script = f"echo $$ > {pidfile}; trap '' INT TERM; echo up; while :; do sleep 1; done"
    started = threading.Event()

    def on_line(_line: str) -> None:
        started.set()

    def call() -> ProcResult:
        return run_process(["bash", "-c", script], timeout=HANG_GUARD_SECONDS, on_line=on_line, grace=0.5)

    errors: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - inspected below
            errors.append(exc)

    t = threading.Thread(target=target, daemon=True)
    with _cleanup(pidfile):
        try:
            t.start()
            assert started.wait(HANG_GUARD_SECONDS)
            request_stop(signal.SIGTERM)
            t.join(HANG_GUARD_SECONDS)
            assert not t.is_alive()
            assert len(errors) == 1
            assert isinstance(errors[0], StopRequested)
            assert errors[0].exit_code == 128 + signal.SIGTERM
            assert errors[0].signal_name == "SIGTERM"
            assert not process_alive(_wait_for_file(pidfile)), "the hung child survived the stop"
            with pytest.raises(StopRequested):
                run_process(["true"], timeout=HANG_GUARD_SECONDS)
        finally:
            clear_stop()
    assert run_process(["true"], timeout=HANG_GUARD_SECONDS).ok


def test_end_leftovers_is_identity_checked(tmp_path: Path) -> None:
    """Only a process with the earlier gate's marker or a recorded start time is ended; never by name."""
    env_old = {**os.environ, CHILD_ENV: "old-run:n1"}
    env_other = {**os.environ, CHILD_ENV: "other-run:n2"}
    marked = subprocess.Popen(["sleep", str(_LINGER)], env=env_old, start_new_session=True)
    other = subprocess.Popen(["sleep", str(_LINGER)], env=env_other, start_new_session=True)
    recorded = subprocess.Popen(["sleep", str(_LINGER)], start_new_session=True)
    try:
        start = process_start_time(recorded.pid)
        assert start is not None
        ended = end_leftovers([(recorded.pid, start + 1), (other.pid, None)], ["old-run:n1"])
        assert ended == [marked.pid]
        assert not process_alive(marked.pid)
        assert process_alive(other.pid), "a process of another gate was ended"
        assert process_alive(recorded.pid), "a process whose start time differs was ended"
        assert end_leftovers([(recorded.pid, start)], []) == [recorded.pid]
        assert not process_alive(recorded.pid)
    finally:
        for p in (marked, other, recorded):
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            p.wait(HANG_GUARD_SECONDS)
