"""WP07 on the sandbox Actions runner: four Teamspace runs, one after another or two at a time."""

from __future__ import annotations

import re

import attrs

from phase4gate.config import GateConfig
from phase4gate.models import StepStatus, StopKind
from phase4gate.sandbox.e2e import TEAMSPACE_TEXTS, teamspace_state

from .conftest import ActionsHarness

TEAMSPACE = "teamspace-mvp.yml"


def _teamspace_dispatches(harness: ActionsHarness, run_id: str) -> list[str]:
    with harness.world.github.lock:
        return [
            str((d.get("inputs") or {}).get("correlation_id"))
            for d in harness.actions.dispatches
            if str((d.get("inputs") or {}).get("correlation_id", "")).startswith(f"{run_id}-WP07-")
        ]


def _config(harness: ActionsHarness, parallel: int) -> GateConfig:
    cfg = harness.config()
    return attrs.evolve(
        cfg, teamspace=attrs.evolve(cfg.teamspace, actions=attrs.evolve(cfg.teamspace.actions, parallel=parallel))
    )


def test_wp07_four_runs_on_actions(harness: ActionsHarness) -> None:
    """Four Teamspace runs pass, each dispatched once, its log and JUnit report kept from the artifact."""
    harness.world.saas.extra["teamspace"] = {}
    gate, report = harness.gate(
        "WP07", _config(harness, 1), steps={"WP04": harness.stand_ins()["WP01"], "WP05": harness.stand_ins()["WP01"]}
    )
    wp07 = report.step("WP07")
    assert wp07 is not None and wp07.status is StepStatus.PASSED, wp07.reason if wp07 else None
    dispatched = _teamspace_dispatches(harness, gate.run_id)
    assert [c.rsplit("-", 1)[0] for c in dispatched] == [f"{gate.run_id}-WP07-{n}" for n in range(1, 5)]
    # Each slot's correlation id ends in a random part nobody can guess before the dispatch.
    assert all(re.fullmatch(r"[0-9a-f]{8}", c.rsplit("-", 1)[1]) for c in dispatched), dispatched
    logs = str(wp07.facts["teamspace_logs"]).split(",")
    assert len(logs) == 4
    for rel in logs:
        assert (gate.run_dir / rel).read_text().strip()
        assert (gate.run_dir / rel.replace(".log", ".junit.xml")).read_text().startswith("<?xml")


def test_wp07_parallel_two_and_a_failure(harness: ActionsHarness) -> None:
    """parallel = 2 dispatches runs two at a time; a failing run 2 stops WP07 and the run dispatched ahead is cancelled."""
    harness.world.saas.extra["teamspace"] = teamspace_state(TEAMSPACE_TEXTS["payload-too-large"])
    gate, report = harness.gate(
        "WP07", _config(harness, 2), steps={"WP04": harness.stand_ins()["WP01"], "WP05": harness.stand_ins()["WP01"]}
    )
    wp07 = report.step("WP07")
    assert wp07 is not None
    assert (wp07.status, wp07.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp07.reason
    assert wp07.facts["teamspace_failed_run"] == 1
    # Runs 1 and 2 were dispatched together; run 2 was cancelled once run 1 failed.
    dispatched = [c.rsplit("-", 1)[0] for c in _teamspace_dispatches(harness, gate.run_id)]
    assert dispatched == [f"{gate.run_id}-WP07-1", f"{gate.run_id}-WP07-2"]
    journal = (gate.run_dir / "journal.jsonl").read_text()
    assert "cancelled: the gate stopped before collecting it" in journal
