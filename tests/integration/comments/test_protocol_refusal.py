"""The plan's protocol cannot be weakened by accident: WP06 and WP08 publish nothing for a weaker gate.

Issue 20, case 1's consequence: ``canary.runs = 1`` made the whole gate "pass 1/1
runs", post, and close e2e#41.  The gate may still *run* fewer canary or Teamspace
runs when configured, but WP06 and WP08 refuse to post or close anything unless the
plan's protocol was met (4 consecutive runs x 4 scenarios, 4 Teamspace runs), and
the report says "not the plan's protocol" plainly.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from phase4gate.checks.comments import (
    PROTOCOL_CONDITION,
    CommentFacts,
    parse_marker,
    protocol_shortfall,
)
from phase4gate.config import GateConfig
from phase4gate.gate import Gate, render_report_markdown
from phase4gate.models import StepStatus, StopKind
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO
from phase4gate.sandbox.world import World
from tests.integration.comments.gate_world import gate_config, make_gate
from tests.integration.comments.test_steps import our_comments

E2E = "Priivacy-ai/spec-kitty-end-to-end-testing"


def _weakened(config: GateConfig, *, canary_runs: int | None = None, teamspace_runs: int | None = None) -> GateConfig:
    canary = config.canary if canary_runs is None else attrs.evolve(config.canary, runs=canary_runs)
    teamspace = config.teamspace if teamspace_runs is None else attrs.evolve(config.teamspace, runs=teamspace_runs)
    return attrs.evolve(config, canary=canary, teamspace=teamspace)


def test_sandbox_gate_with_one_run_posts_nothing_and_leaves_e2e41_open(tmp_path: Path) -> None:
    """The sandbox gate with canary.runs = 1 and teamspace.runs = 1: WP05 runs once, WP06 stops (failed), no write."""
    with World(tmp_path / "world") as world:
        config = _weakened(world.config(tmp_path / "evidence"), canary_runs=1, teamspace_runs=1)
        gate = Gate(config, environ=world.environ(dict(os.environ)))
        report = gate.run()
        writes = [(r.method, r.path) for r in world.github.writes()]
        e41 = world.github.state.issue(E2E, 41)
        tracker = world.github.state.issue(CLI_REPO, 1038)
        e41_comments = [c for c in e41.comments if parse_marker(c.body)]
        tracker_comments = [c for c in tracker.comments if parse_marker(c.body)]
    steps = {s.wp: s for s in report.steps}
    assert [steps[wp].status for wp in ("WP01", "WP02", "WP03", "WP04", "WP05")] == [StepStatus.PASSED] * 5, [
        (s.wp, s.reason) for s in report.steps
    ]
    wp06 = steps["WP06"]
    assert (wp06.status, wp06.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert wp06.stop_condition == PROTOCOL_CONDITION
    assert wp06.reason.startswith("not the plan's protocol: canary.runs = 1, the plan requires 4 consecutive runs")
    assert f"nothing posted to or closed on {E2E}#41" in wp06.reason
    assert (wp06.facts["canary_runs_configured"], wp06.facts["canary_runs_required"]) == (1, 4)
    assert (wp06.facts["teamspace_runs_configured"], wp06.facts["teamspace_runs_required"]) == (1, 4)
    assert steps["WP07"].status is StepStatus.SKIPPED
    assert steps["WP08"].status is StepStatus.SKIPPED
    assert report.exit_code == 1
    # The GitHub emulator's state and request log: no comment, no close, no write at all.
    assert writes == []
    assert e41.state == "open"
    assert e41_comments == []
    assert tracker.state == "open"
    assert tracker_comments == []
    text = render_report_markdown(report)
    assert "| WP06 | stopped | failed | not the plan's protocol" in text
    assert (gate.run_dir / "report.md").read_text(encoding="utf-8") == text


def test_dry_run_says_not_the_plans_protocol_too(github: GitHubEmulator, evidence_root: Path) -> None:
    """A dry run of a weakened gate stops at WP06 with the same reason (it can be known before any run)."""
    config = _weakened(gate_config(github), canary_runs=2)
    report = make_gate(github, evidence_root, config=config, dry_run=True).run()
    wp06 = report.step("WP06")
    assert wp06 is not None
    assert (wp06.status, wp06.stop_condition) == (StepStatus.STOPPED, PROTOCOL_CONDITION)
    assert "canary.runs = 2, the plan requires 4" in wp06.reason
    assert github.writes() == []


def test_fewer_scenarios_is_not_the_protocol(github: GitHubEmulator, evidence_root: Path) -> None:
    """canary.scenarios = [1, 2, 3]: WP06 refuses, naming the missing scenario; e2e#41 untouched."""
    config = gate_config(github)
    config = attrs.evolve(config, canary=attrs.evolve(config.canary, scenarios=(1, 2, 3)))
    report = make_gate(github, evidence_root, config=config).run()
    wp06 = report.step("WP06")
    assert wp06 is not None
    assert wp06.stop_condition == PROTOCOL_CONDITION
    assert "canary.scenarios = [1, 2, 3] lacks [4]" in wp06.reason
    assert our_comments(github, E2E_REPO, 41) == []
    with github.lock:
        assert github.state.issue(E2E_REPO, 41).state == "open"


def test_fewer_teamspace_runs_stops_wp08_before_posting(github: GitHubEmulator, evidence_root: Path) -> None:
    """teamspace.runs = 1 with the canary's full protocol: e2e#41 is commented and closed, #1038 gets nothing."""
    config = _weakened(gate_config(github), teamspace_runs=1)
    report = make_gate(github, evidence_root, config=config).run()
    wp06, wp08 = report.step("WP06"), report.step("WP08")
    assert wp06 is not None
    assert wp08 is not None
    assert wp06.status is StepStatus.PASSED, wp06.reason
    assert (wp08.status, wp08.stop_kind, wp08.stop_condition) == (
        StepStatus.STOPPED,
        StopKind.FAILED,
        PROTOCOL_CONDITION,
    )
    assert wp08.reason == (
        f"not the plan's protocol: teamspace.runs = 1, the plan requires 4; nothing posted to or closed on {CLI_REPO}#1038"
    )
    assert len(our_comments(github, E2E_REPO, 41)) == 1
    assert our_comments(github, CLI_REPO, 1038) == []
    with github.lock:
        assert github.state.issue(CLI_REPO, 1038).state == "open"
    assert report.exit_code == 1


def test_protocol_shortfall_is_pure_and_names_configured_and_required() -> None:
    """The plan's protocol (or more): empty shortfall; each weakening named with configured vs required counts."""
    assert protocol_shortfall(CommentFacts(), teamspace=True) == ()
    assert protocol_shortfall(CommentFacts(expected_runs=6, expected_teamspace_runs=5), teamspace=True) == ()
    weak = CommentFacts(expected_runs=1, expected_scenarios=(1, 2), expected_teamspace_runs=2)
    assert protocol_shortfall(weak, teamspace=False) == (
        "canary.runs = 1, the plan requires 4 consecutive runs",
        "canary.scenarios = [1, 2] lacks [3, 4], the plan requires scenarios [1, 2, 3, 4] in every run",
    )
    assert protocol_shortfall(weak, teamspace=True)[-1] == "teamspace.runs = 2, the plan requires 4"
    assert protocol_shortfall(CommentFacts(expected_teamspace_runs=3), teamspace=False) == ()
