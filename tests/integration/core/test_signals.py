"""SIGINT and SIGTERM mid-WP05 stop the gate at once; a resume reaches the clean final state.

Issue 19, case 5: SIGINT during WP05 run 1 used to let runs 2-4 run and WP05 "pass"
before exit 130; SIGTERM killed the gate outright (no ``interrupted`` event, children
orphaned, scratch folders left in the temp dir).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from phase4gate.gate import find_run, report_from_journal
from phase4gate.sandbox.e2e import canary_state
from phase4gate.sandbox.world import World
from tests.conftest import HANG_GUARD_SECONDS
from tests.integration.core.gate_proc import (
    alive,
    events,
    gate_env,
    marked_alive,
    run_gate,
    scratch_of,
    start_gate,
    wait_for,
    write_config,
)
from tests.integration.demo.test_reliability import _final_state


def _wp05_children(evs: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in evs if e.get("event") == "child" and e.get("wp") == "WP05"]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_wp05_stops_at_once_then_resume_is_green(sig: signal.Signals, code: int, tmp_path: Path) -> None:
    """The hung run is ended, no later run starts, the journal says why, nothing is left; a resume is green."""
    evidence = tmp_path / "evidence"
    with World(tmp_path / "world") as world:
        config = write_config(world, tmp_path)
        env = gate_env(world, tmp_path)
        gate = start_gate(config, env)
        try:
            # WP04 done: every run of WP05 from now on hangs (the canary's own knob).
            wait_for(
                "WP04's result",
                lambda: any(e.get("event") == "wp-result" and e.get("wp") == "WP04" for e in events(evidence)),
                gate,
            )
            world.saas.extra.update(canary=canary_state(hang_seconds=600))
            wait_for("WP05's first canary run", lambda: bool(_wp05_children(events(evidence))), gate)
            gate.send_signal(sig)
            out, _ = gate.communicate(timeout=HANG_GUARD_SECONDS)
        finally:
            if gate.poll() is None:
                gate.kill()
                gate.wait(HANG_GUARD_SECONDS)
        text = out.decode(errors="replace")
        assert gate.returncode == code, text[-3000:]
        assert signal.Signals(sig).name in text
        evs = events(evidence)
        (interrupted,) = [e for e in evs if e.get("event") == "interrupted"]
        assert interrupted["signal"] == signal.Signals(sig).name
        assert interrupted["in_progress"] == ["WP05"]
        assert interrupted["exit_code"] == code
        assert not any(e.get("event") == "gate-end" for e in evs)
        # Only the interrupted run ever started; its process (and its group) is gone.
        children = _wp05_children(evs)
        assert len(children) == 1, children
        assert not alive(int(children[0]["pid"]))  # type: ignore[call-overload]
        (run_dir,) = [p.parent for p in evidence.glob("*/journal.jsonl")]
        assert sorted(run_dir.glob("rc16-attempt*/runs/run-*.json")) == []
        (start,) = [e for e in evs if e.get("event") == "gate-start"]
        assert marked_alive(str(start["child_marker"])) == []
        assert scratch_of(int(start["pid"])) == [], "the gate's scratch folder was left in the temp dir"

        world.saas.extra.update(canary=canary_state())
        resumed = run_gate(config, env, "--resume", "latest")
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        run_dir = find_run(evidence, "latest")
        report = report_from_journal((run_dir / "journal.jsonl").read_text().splitlines())
        _final_state(
            world,
            tmp_path,
            report,
            [world.github.token, world.github.read_only_token],
            output=text + resumed.stdout + resumed.stderr,
        )
