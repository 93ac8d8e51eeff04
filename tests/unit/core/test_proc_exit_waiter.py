"""run_process waits for a child's exit on a pidfd (no polling), with Popen.wait as the fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from phase4gate.adapters.proc import _ExitWaiter


def _child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="os.pidfd_open is Linux-only")
def test_the_waiter_uses_a_pidfd_and_reaps_the_child() -> None:
    proc = _child("import time; time.sleep(60)")
    waiter = _ExitWaiter(proc)
    try:
        assert waiter._fd is not None
        assert waiter(0.05) is False  # still running
        proc.kill()
        assert any(waiter(0.1) for _ in range(300))  # bounded: 30 s at most
        assert proc.returncode == -9  # reaped by the waiter
    finally:
        waiter.close()
        proc.kill()
        proc.wait(timeout=30)


def test_the_waiter_says_when_the_child_ended() -> None:
    proc = _child("import time; time.sleep(0.2); raise SystemExit(3)")
    waiter = _ExitWaiter(proc)
    try:
        assert waiter(0.0) is False
        ended = False
        for _ in range(300):  # bounded: 300 x 0.1 s at most
            if waiter(0.1):
                ended = True
                break
        assert ended
        assert proc.returncode == 3
        assert waiter(0.0) is True
    finally:
        waiter.close()
        waiter.close()  # closing twice is harmless


def test_the_fallback_without_a_pidfd() -> None:
    proc = _child("raise SystemExit(5)")
    waiter = _ExitWaiter(proc)
    waiter.close()  # no pidfd: Popen.wait is used
    for _ in range(300):
        if waiter(0.1):
            break
    assert proc.returncode == 5


def test_busy_time_is_the_union_of_overlapping_children() -> None:
    """Two children side by side count once: the busy time never exceeds the wall time."""
    import time

    from phase4gate.adapters.proc import child_busy_seconds, record_child

    start = time.monotonic()
    time.sleep(0.05)
    record_child(0.04)  # ran [now-0.04, now]
    record_child(0.02)  # inside the first
    later = time.monotonic()
    busy = child_busy_seconds(start)
    assert 0.039 <= busy <= later - start + 1e-6
    assert child_busy_seconds(later + 1.0) == 0.0
