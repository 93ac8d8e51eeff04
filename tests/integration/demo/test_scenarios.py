"""Every demo scenario, through the real engine, emulators, repositories and subprocesses.

Each asserts where the gate stops and how (the plan's stop condition, waiting or
failed), that no WP ran past the stop, that the evidence verifies, that the gate sent
the SaaS nothing but GETs, and that no token reached the evidence.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from phase4gate.gate import Gate
from phase4gate.models import StepStatus
from phase4gate.sandbox.world import SCENARIOS, World
from phase4gate.verify import verify_run
from tests.gate_helpers import token_hits

GATE_AGENT = "phase4gate/"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_ends_where_it_should(scenario: object, tmp_path: Path) -> None:
    """The gate ends green or on exactly the scenario's stop, with intact evidence."""
    from phase4gate.sandbox.world import Scenario

    assert isinstance(scenario, Scenario)
    with World(tmp_path / "world", scenario.name) as world:
        gate = Gate(world.config(tmp_path / "evidence"), environ=world.environ(dict(os.environ)))
        report = gate.run()
        saas_methods = {
            r.method for r in world.saas.requests if (r.headers.get("User-Agent") or "").startswith(GATE_AGENT)
        }
        e41 = world.github.state.issue("Priivacy-ai/spec-kitty-end-to-end-testing", 41)
        tracker = world.github.state.issue("Priivacy-ai/spec-kitty", 1038)
        tokens = [world.github.token, world.github.read_only_token]
    statuses = {s.wp: s for s in report.steps}
    if scenario.wp is None:
        assert report.verdict is StepStatus.PASSED, [(s.wp, s.reason) for s in report.steps]
        assert e41.state == "closed"
    else:
        stop = statuses[scenario.wp]
        assert stop.status is StepStatus.STOPPED, (stop.status, stop.reason)
        assert stop.stop_kind is not None
        assert stop.stop_kind.value == scenario.kind, stop.reason
        later = [s for s in report.steps if s.wp > scenario.wp and s.wp != "WP03"]
        assert all(s.status is StepStatus.SKIPPED for s in later), [(s.wp, s.status) for s in later]
        assert report.exit_code == 1
        wp06 = statuses["WP06"]
        assert e41.state == ("closed" if wp06.status is StepStatus.PASSED else "open")
    assert tracker.state == "open"
    assert saas_methods <= {"GET"}, saas_methods
    findings = verify_run(gate.run_dir)
    assert findings.ok, findings.render()
    assert token_hits(tmp_path / "evidence", tokens) == []


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    """--dry-run on the green world: every WP says what it would do; no GitHub write, no install, no canary run."""
    with World(tmp_path / "world") as world:
        gate = Gate(world.config(tmp_path / "evidence"), environ=world.environ(dict(os.environ)), dry_run=True)
        report = gate.run()
        writes = world.github.writes()
        runs = list(world.e2e_checkout.glob("artifacts/sync_identity_boundary/runs/*.json"))
    assert report.dry_run
    assert report.exit_code == 0, [(s.wp, s.reason) for s in report.steps]
    assert all(s.reason.startswith("dry run:") for s in report.steps), [s.reason for s in report.steps]
    assert writes == []
    assert runs == []
    assert not (tmp_path / "evidence" / ".venvs").exists()


@pytest.mark.slow
def test_every_scenario_after_a_green_demo_in_one_evidence_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make demo` then `make demo SCENARIO=...` for each: each ends where it should, whatever the root holds.

    Issue 19, case 9: with an earlier green run in the evidence root, the saas-redeployed
    watcher redeployed before the preflight and the scenario passed green.
    """
    import json

    from phase4gate import cli

    monkeypatch.setenv("PHASE4GATE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "evidence"
    seen: dict[str, tuple[str | None, str | None]] = {}
    for s in SCENARIOS:  # green first: the table starts with it
        code = cli.main(["demo", "--scenario", s.name, "--evidence-root", str(root), "--json"])
        report = json.loads(capsys.readouterr().out)
        stop = next((st for st in report["steps"] if st["status"] in {"stopped", "error"}), None)
        seen[s.name] = (stop["wp"], stop["stop_kind"]) if stop else (None, None)
        assert code == (0 if s.wp is None else 1), (s.name, seen[s.name])
    expected = {s.name: (s.wp, s.kind) for s in SCENARIOS}
    assert seen == expected
    runs = [p.parent for p in root.glob("*/journal.jsonl")]
    assert len(runs) == len(SCENARIOS)
    for run_dir in runs:
        findings = verify_run(run_dir)
        assert findings.ok, (run_dir, findings.render())
