"""Issue 19 case 7: ``status`` of an interrupted or killed run tells the truth.

It says "interrupted", names the WP in progress and what it had already done (a
posted comment, a dispatched run, journalled as they happen), and the exit code of
``run``; a journal whose last invocation has a gate-start without a gate-end and no
``interrupted`` event is a killed run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from phase4gate.config import GateConfig
from phase4gate.gate import Gate
from phase4gate.journal import chain_problems
from tests.conftest import HANG_GUARD_SECONDS
from tests.gate_helpers import Recorder, phase4gate

_URL = "https://github.example/Priivacy-ai/spec-kitty-end-to-end-testing/issues/41#issuecomment-7"

_KILLED_GATE = """
import sys, time
from pathlib import Path
from phase4gate.config import GateConfig
from phase4gate.gate import Gate
from phase4gate.models import StepOutcome
from tests.gate_helpers import Recorder

root, ready = Path(sys.argv[1]), Path(sys.argv[2])

def wp05(ctx):
    # The same calls WP04-WP08 make as they act: journalled at once.
    ctx.store.append_event({"event": "wp-action", "wp": ctx.wp, "action": "dispatched canary run 1"})
    ctx.store.append_event({"event": "wp-action", "wp": ctx.wp, "action": "posted comment URL"})
    ready.write_text("")
    time.sleep(120)  # killed here
    return StepOutcome.passed("unreachable")

steps = {**Recorder({}).steps(), "WP05": wp05}
Gate(GateConfig(), evidence_root=root, steps=steps).run()
""".replace("URL", _URL)


def test_status_of_a_sigkilled_run(tmp_path: Path) -> None:
    """A gate SIGKILLed inside WP05: status says interrupted (killed), WP05 in progress, what it had done."""
    root, ready = tmp_path / "evidence", tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_GATE, str(root), str(ready)],
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), "the gate never reached WP05"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=HANG_GUARD_SECONDS)
    result = phase4gate("status", "--evidence-root", str(root), cwd=tmp_path)
    out = result.stdout
    assert "Verdict: **interrupted**" in out, out
    assert "skipped" not in out.split("\n")[2]
    assert "| WP05 | in progress (interrupted) |" in out
    assert f"WP05 was in progress: it had already dispatched canary run 1; posted comment {_URL}" in out
    assert "Interrupted (killed: the journal just stops); `run`'s exit code is unknown." in out
    data = json.loads(phase4gate("status", "--json", "--evidence-root", str(root), cwd=tmp_path).stdout)
    assert data["verdict"] == "interrupted"
    assert data["interrupted"]["how"] == "killed"
    assert data["interrupted"]["in_progress"] == ["WP05"]
    listing = phase4gate("status", "--list", "--evidence-root", str(root), cwd=tmp_path)
    assert "  interrupted" in listing.stdout


def test_status_of_a_run_stopped_by_a_signal(tmp_path: Path) -> None:
    """An ``interrupted`` event appended through the gate's journal (chained): signal, WP and exit code shown."""
    gate = Gate(GateConfig(), evidence_root=tmp_path / "evidence", steps=Recorder({}).steps())
    gate.run(until="WP04")
    resumed = Gate(GateConfig(), evidence_root=tmp_path / "evidence", steps=Recorder({}).steps(), resume=gate.run_id)
    # What the signal handler journals mid-WP05, through the gate's own journal function.
    resumed._journal({"event": "gate-start", "run_id": gate.run_id, "time": "2026-05-20T10:00:00+00:00"})
    resumed._journal({"event": "wp-start", "wp": "WP05", "time": "2026-05-20T10:00:01+00:00", "attempt": 1})
    resumed.store.append_event({"event": "wp-action", "wp": "WP05", "action": "dispatched canary run 1"})
    resumed._journal(
        {
            "event": "interrupted",
            "signal": "SIGTERM",
            "in_progress": ["WP05"],
            "exit_code": 143,
            "time": "2026-05-20T10:00:02+00:00",
        }
    )
    lines = (gate.run_dir / "journal.jsonl").read_text().splitlines()
    assert chain_problems(lines) == []
    assert json.loads(lines[-1])["prev"].startswith("sha256:")
    result = phase4gate("status", gate.run_id, "--evidence-root", str(tmp_path / "evidence"), cwd=tmp_path)
    assert result.returncode == 143
    assert "Interrupted by SIGTERM; `run` exited 143." in result.stdout
    assert "WP05 was in progress: it had already dispatched canary run 1" in result.stdout
    assert "| WP04 | passed |" in result.stdout
