"""Issue 19: the GitHub comments carry the journal head beside the bundle digest; posts are journalled as they happen."""

from __future__ import annotations

import json
from pathlib import Path

from phase4gate.checks.comments import parse_marker
from phase4gate.journal import chain_problems, result_head
from phase4gate.models import StepStatus
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO
from tests.integration.comments.gate_world import make_gate


def test_markers_anchor_the_journal_and_posts_are_journalled(github: GitHubEmulator, evidence_root: Path) -> None:
    """e2e#41's marker names the chain head at WP05's result, #1038's at WP07's; each post is a wp-action event."""
    gate = make_gate(github, evidence_root)
    report = gate.run()
    assert report.verdict is StepStatus.PASSED, [s.reason for s in report.steps]
    lines = (gate.run_dir / "journal.jsonl").read_text().splitlines()
    assert chain_problems(lines) == []
    with github.lock:
        e2e = [c.body for c in github.state.issue(E2E_REPO, 41).comments if c.author == "gate-bot"]
        tracker = [c.body for c in github.state.issue(CLI_REPO, 1038).comments if c.author == "gate-bot"]
    e2e_marker, tracker_marker = parse_marker(e2e[-1]), parse_marker(tracker[-1])
    assert e2e_marker is not None
    assert tracker_marker is not None
    assert e2e_marker.journal_head == result_head(lines, "WP05")
    assert tracker_marker.journal_head == result_head(lines, "WP07")
    assert e2e_marker.journal_head is not None
    assert e2e_marker.journal_head.startswith("sha256:")
    actions = [json.loads(ln) for ln in lines if '"wp-action"' in ln]
    wp06, wp08 = report.step("WP06"), report.step("WP08")
    assert wp06 is not None
    assert wp08 is not None
    assert {"wp": "WP06", "action": f"posted comment {wp06.facts['e2e_comment_url']}"}.items() <= actions[0].items()
    assert {"wp": "WP08", "action": f"posted comment {wp08.facts['tracker_comment_url']}"}.items() <= actions[
        -1
    ].items()
