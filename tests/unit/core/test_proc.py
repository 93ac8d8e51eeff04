"""The process adapter: real children, timeouts that end the whole group, redaction."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from phase4gate.adapters.proc import run_process
from phase4gate.errors import ProcessError
from tests.conftest import HANG_GUARD_SECONDS


def test_output_is_logged_streamed_and_redacted(tmp_path: Path) -> None:
    """Lines reach the log and the callback; a token never does."""
    token = "ghp_" + "a1b2c3d4e5" * 4
    seen: list[str] = []
    log = tmp_path / "out.log"
    result = run_process(
        [sys.executable, "-c", f"print('one'); print('token={token}'); import sys; sys.exit(4)"],
        timeout=HANG_GUARD_SECONDS,
        log_path=log,
        on_line=seen.append,
        secrets=[token],
    )
    assert result.returncode == 4
    assert not result.ok
    assert seen[0] == "one"
    assert token not in log.read_text()
    assert token not in result.output_tail
    assert "token=***" in log.read_text()


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    """A hung runner and the child it spawned are both ended at the timeout."""
    pidfile = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {pidfile}; wait"
    result = run_process(["bash", "-c", script], timeout=1.0, grace=0.5)
    assert result.timed_out
    child = int(pidfile.read_text())
    assert not _alive(child), "the runner's child outlived the timeout"


def _alive(pid: int) -> bool:
    """True if *pid* runs and is not a zombie (bounded: /proc is read once)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_no_stdin(tmp_path: Path) -> None:
    """A child reading stdin gets EOF at once instead of hanging."""
    result = run_process(
        [sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"], timeout=HANG_GUARD_SECONDS
    )
    assert result.output_tail.strip() == "''"


def test_missing_program_is_a_process_error() -> None:
    """A program that does not exist is 'could not decide' with the program named."""
    with pytest.raises(ProcessError, match="cannot start 'no-such-program-xyz'"):
        run_process(["no-such-program-xyz"], timeout=5)
