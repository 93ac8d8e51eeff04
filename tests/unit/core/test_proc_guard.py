"""The run guard: one writer per run folder, scratch and stale-owner pruning, per-gate child markers."""

from __future__ import annotations

import contextvars
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from phase4gate.adapters.guard import SCRATCH_PREFIX, WRITER_LOCK, RunFolderBusyError, RunGuard, prune_scratch
from phase4gate.adapters.proc import CHILD_ENV, run_process, set_child_marker
from phase4gate.config import GateConfig
from phase4gate.errors import ExitCode
from tests.conftest import HANG_GUARD_SECONDS


def _guard(run_dir: Path, tmp_path: Path, events: list[dict[str, Any]]) -> RunGuard:
    return RunGuard(
        run_dir,
        run_dir.name,
        config=GateConfig(),
        environ={"PHASE4GATE_CACHE_DIR": str(tmp_path / "cache")},
        journal=events.append,
    )


def test_second_writer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    """While one guard holds a run folder a second gets exit 3 naming pid and host; after release it may enter."""
    run_dir = tmp_path / "run"
    events: list[dict[str, Any]] = []
    with _guard(run_dir, tmp_path, events):
        # The holder is another process: a guard in a child python on the same folder.
        code = (
            "import sys; from pathlib import Path; from phase4gate.adapters.guard import RunGuard, RunFolderBusyError;"
            "from phase4gate.config import GateConfig\n"
            "try:\n"
            f"    RunGuard(Path({str(run_dir)!r}), 'r', config=GateConfig(), environ={{}}, journal=print).__enter__()\n"
            "except RunFolderBusyError as exc:\n"
            "    print(exc); sys.exit(int(exc.exit_code))\n"
        )
        other = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_GUARD_SECONDS, check=False
        )
        assert other.returncode == ExitCode.INFRA, other.stderr
        assert f"pid {os.getpid()} on host {socket.gethostname()}" in other.stdout
    with _guard(run_dir, tmp_path, events):
        assert (run_dir / WRITER_LOCK).read_text().startswith(f"pid {os.getpid()}")
    assert (run_dir / WRITER_LOCK).read_text() == ""


def test_busy_error_is_exit_3() -> None:
    """RunFolderBusyError is 'could not decide' and names the folder and holder."""
    exc = RunFolderBusyError(Path("/ev/run"), "pid 7 on host h")
    assert exc.exit_code == ExitCode.INFRA
    assert "/ev/run" in str(exc)
    assert "pid 7 on host h" in str(exc)


def test_scratch_holds_temp_folders_and_is_removed(tmp_path: Path) -> None:
    """Inside the guard temporary folders land in its scratch folder, which is gone afterwards."""
    events: list[dict[str, Any]] = []
    before = tempfile.gettempdir()
    with _guard(tmp_path / "run", tmp_path, events):
        scratch = Path(tempfile.gettempdir())
        assert scratch.name.startswith(SCRATCH_PREFIX)
        owner = json.loads((scratch / "owner.json").read_text())
        assert owner["pid"] == os.getpid()
        made = Path(tempfile.mkdtemp(prefix="phase4gate-canary-"))
        assert made.parent == scratch
    assert tempfile.gettempdir() == before
    assert not scratch.exists()


def test_prune_scratch_removes_only_dead_owners(tmp_path: Path) -> None:
    """A scratch folder whose recorded owner is gone is removed; a live owner's and an unowned one stay."""
    dead = subprocess.Popen(["true"])
    dead.wait(HANG_GUARD_SECONDS)
    host = socket.gethostname()
    for name, owner in {
        "dead": {"pid": dead.pid, "host": host, "start_time": 1},
        "live": {"pid": os.getpid(), "host": host, "start_time": None},
        "elsewhere": {"pid": dead.pid, "host": host + "-other", "start_time": 1},
    }.items():
        folder = tmp_path / f"{SCRATCH_PREFIX}{name}"
        folder.mkdir()
        (folder / "owner.json").write_text(json.dumps(owner))
    (tmp_path / f"{SCRATCH_PREFIX}unowned").mkdir()
    removed = prune_scratch(tmp_path)
    assert [p.name for p in removed] == [f"{SCRATCH_PREFIX}dead"]
    assert sorted(p.name.removeprefix(SCRATCH_PREFIX) for p in tmp_path.iterdir()) == ["elsewhere", "live", "unowned"]


def test_child_records_are_journalled_with_the_marker(tmp_path: Path) -> None:
    """Each child is journalled (pid, group, start time, marker), and carries the guard's marker."""
    events: list[dict[str, Any]] = []
    with _guard(tmp_path / "run", tmp_path, events) as guard:
        result = run_process(
            [sys.executable, "-c", f"import os; print(os.environ[{CHILD_ENV!r}])"], timeout=HANG_GUARD_SECONDS
        )
    assert result.output_tail.strip() == guard.marker
    (child,) = [e for e in events if e["event"] == "child"]
    assert child["marker"] == guard.marker
    assert child["pid"] == child["pgid"]
    assert isinstance(child["start_time"], int)


def test_markers_are_per_context() -> None:
    """Two gates in one process: a marker set in one context is not seen in another."""
    seen: list[str] = []

    def in_other() -> None:
        set_child_marker("other:1")
        seen.append(run_process(["sh", "-c", f"echo ${CHILD_ENV}"], timeout=HANG_GUARD_SECONDS).output_tail.strip())

    set_child_marker("mine:1")
    try:
        contextvars.copy_context().run(in_other)
        seen.append(run_process(["sh", "-c", f"echo ${CHILD_ENV}"], timeout=HANG_GUARD_SECONDS).output_tail.strip())
    finally:
        set_child_marker(None)
    assert seen == ["other:1", "mine:1"]


@pytest.mark.parametrize("resume_marker", ["gone:1"])
def test_resume_ends_nothing_when_nothing_is_left(tmp_path: Path, resume_marker: str) -> None:
    """A resume whose earlier gate left nothing running journals no children-ended event."""
    events: list[dict[str, Any]] = []
    earlier = [json.dumps({"event": "gate-start", "child_marker": resume_marker})]
    guard = RunGuard(
        tmp_path / "run",
        "run",
        config=GateConfig(),
        environ={"PHASE4GATE_CACHE_DIR": str(tmp_path / "cache")},
        journal=events.append,
        earlier=earlier,
    )
    with guard:
        pass
    assert [e for e in events if e["event"] == "children-ended"] == []


def test_a_stop_during_a_step_records_interrupted_and_starts_nothing(tmp_path: Path) -> None:
    """A stop requested while WP01 runs: WP01 is not a verdict, nothing later starts, the journal says so."""
    import signal

    from phase4gate.adapters.proc import StopRequested, clear_stop, request_stop
    from phase4gate.gate import Gate, StepContext
    from phase4gate.models import StepOutcome
    from tests.gate_helpers import Recorder

    recorder = Recorder({})
    steps = recorder.steps()

    def wp01(ctx: StepContext) -> StepOutcome:
        request_stop(signal.SIGTERM)  # as the SIGTERM handler does
        return StepOutcome.passed("would have passed", facts={"wp": ctx.wp})

    steps["WP01"] = wp01
    gate = Gate(
        GateConfig(),
        evidence_root=tmp_path / "ev",
        environ={"PHASE4GATE_CACHE_DIR": str(tmp_path / "cache")},
        steps=steps,
    )
    try:
        with pytest.raises(StopRequested) as excinfo:
            gate.run()
    finally:
        clear_stop()
    assert excinfo.value.exit_code == 143
    events = [json.loads(ln) for ln in gate.store.read_journal()]
    kinds = [e["event"] for e in events]
    assert kinds == ["gate-start", "wp-start", "interrupted"]
    assert events[-1]["in_progress"] == ["WP01"]
    assert events[-1]["signal"] == "SIGTERM"
    assert recorder.calls == []
    # The lock is released and a resume continues: WP01 runs again (it was never a verdict).
    resumed = Gate(
        GateConfig(),
        evidence_root=tmp_path / "ev",
        resume="latest",
        environ={"PHASE4GATE_CACHE_DIR": str(tmp_path / "cache")},
        steps=recorder.steps(),
    ).run()
    assert resumed.exit_code == 0
    assert recorder.calls[0] == "WP01"
