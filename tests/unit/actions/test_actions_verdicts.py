"""The pure Actions verdicts (phase4gate.checks.actions) and the journal's slots."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phase4gate.adapters.actions.executor import journal_slots
from phase4gate.checks.actions import (
    carries_correlation,
    conclusion_problem,
    digest_verdict,
    run_facts,
    run_problems,
    undecided_reason,
)

CORR = "20261201T113000Z-3f9a-WP05-1"
SHA = "a" * 40


def _run(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": 21000000001,
        "run_number": 7,
        "run_attempt": 1,
        "status": "completed",
        "conclusion": "success",
        "event": "workflow_dispatch",
        "head_sha": SHA,
        "head_branch": "main",
        "display_title": f"identity-boundary canary {CORR} (spec-kitty-cli 3.2.0rc16)",
        "html_url": "https://github.com/o/r/actions/runs/21000000001",
        "created_at": "2026-12-01T11:30:00Z",
        "run_started_at": "2026-12-01T11:30:01Z",
        "updated_at": "2026-12-01T11:31:00Z",
    }
    data.update(changes)
    return data


def _problems(**changes: Any) -> tuple[str, ...]:
    return run_problems(
        run_facts(_run(**changes)), label="run 1 of 4", dispatched_id=21000000001, correlation_id=CORR, pinned_sha=SHA
    )


def test_the_gates_own_first_attempt_has_no_problem() -> None:
    """A workflow_dispatch run, attempt 1, at the pinned SHA, with the correlation id: nothing to say."""
    assert _problems() == ()


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"run_attempt": 2}, "run_attempt is 2, not 1"),
        ({"run_attempt": None}, "run_attempt is None, not 1"),
        ({"head_sha": "b" * 40}, f"is not the pinned_sha {SHA}"),
        ({"event": "push"}, "event is 'push', not 'workflow_dispatch'"),
        ({"id": 5}, "is not the run this gate dispatched"),
        ({"display_title": "identity-boundary canary someone-else"}, "is not the run this gate dispatched"),
        ({"display_title": f"canary {CORR}0"}, "is not the run this gate dispatched"),
    ],
)
def test_each_actions_problem(changes: dict[str, Any], needle: str) -> None:
    """Each way a run cannot count is named once."""
    problems = _problems(**changes)
    assert len(problems) == 1
    assert needle in problems[0]
    assert problems[0].startswith("run 1 of 4: ")


def test_no_pinned_sha_accepts_any_commit() -> None:
    """Without pinned_sha the commit is recorded, not judged."""
    run = run_facts(_run(head_sha="c" * 40))
    assert run_problems(run, label="r", dispatched_id=run.id, correlation_id=CORR, pinned_sha=None) == ()


@given(st.from_regex(r"[A-Za-z0-9]{1,12}-WP0[4-7]-[1-9][0-9]?", fullmatch=True), st.integers(0, 9))
def test_correlation_is_a_whole_word(corr: str, digit: int) -> None:
    """A correlation id is found in a title only as a whole word: "-1" never matches "-12"."""
    assert carries_correlation(f"canary {corr} (x)", corr)
    assert carries_correlation(corr, corr)
    assert not carries_correlation(f"canary {corr}{digit} (x)", corr)
    assert not carries_correlation(f"canary x{corr}", corr)


def test_digest_match_mismatch_absent() -> None:
    """The zip's sha256 against the artifact's digest: match, mismatch (evidence altered), absent (recorded)."""
    hexd = "0" * 63 + "1"
    assert digest_verdict(f"sha256:{hexd}", hexd).state == "match"
    assert digest_verdict(f"sha256:{hexd}", hexd).problem is None
    wrong = digest_verdict("sha256:" + "f" * 64, hexd)
    assert wrong.state == "mismatch"
    assert wrong.problem is not None and "evidence altered in transit" in wrong.problem
    assert "sha256:" + hexd in wrong.problem
    assert digest_verdict(None, hexd).state == "absent"
    assert digest_verdict(None, hexd).problem is None
    assert digest_verdict("md5:abc", hexd).state == "mismatch"


@pytest.mark.parametrize(
    ("conclusion", "passed", "bad"),
    [("success", True, False), ("failure", False, False), ("success", False, True), ("failure", True, True)],
)
def test_conclusion_contradicting_the_run_file(conclusion: str, passed: bool, bad: bool) -> None:
    """A conclusion that contradicts the run file is inconsistent evidence; agreement says nothing."""
    problem = conclusion_problem(conclusion, run_file_passed=passed, label="run 2 of 4")
    assert (problem is not None) is bad
    if problem is not None:
        assert "inconsistent evidence" in problem


@pytest.mark.parametrize("conclusion", ["cancelled", "timed_out", "startup_failure", "skipped", "neutral", None])
def test_runs_without_a_verdict(conclusion: str | None) -> None:
    """cancelled, timed_out, startup_failure and the rest end without a verdict (could not decide)."""
    reason = undecided_reason(run_facts(_run(conclusion=conclusion)))
    assert reason is not None
    assert "without a verdict" in reason


@pytest.mark.parametrize("conclusion", ["success", "failure"])
def test_decided_runs(conclusion: str) -> None:
    """success and failure leave the verdict to the run file."""
    assert undecided_reason(run_facts(_run(conclusion=conclusion))) is None


def test_a_run_not_completed_is_undecided() -> None:
    """A run still queued is never judged."""
    assert "queued, not completed" in str(undecided_reason(run_facts(_run(status="queued", conclusion=None))))


def _event(wp: str, state: str, corr: str, **info: object) -> str:
    return json.dumps(
        {"event": "wp-action", "wp": wp, "action": "x", "actions": {"slot": corr, "state": state, **info}}
    )


def test_journal_slots_open_and_closed() -> None:
    """Slots are read per WP: dispatching, then its run id, then closed; another WP's slots are not seen."""
    lines = [
        _event("WP05", "dispatching", "g-WP05-1", n=1, at=10.0),
        _event("WP05", "dispatched", "g-WP05-1", run_id=11, url="u1"),
        _event("WP05", "closed", "g-WP05-1", run_id=11, why="collected"),
        _event("WP05", "dispatching", "g-WP05-2", n=2, at=20.0),
        _event("WP04", "dispatching", "g-WP04-1", n=1, at=5.0),
        "not json",
        json.dumps({"event": "wp-action", "wp": "WP05", "action": "dispatched canary run 2"}),
    ]
    slots = journal_slots(lines, "WP05")
    assert [(s.correlation_id, s.number, s.run_id, s.closed) for s in slots] == [
        ("g-WP05-1", 1, 11, "collected"),
        ("g-WP05-2", 2, None, None),
    ]
    assert slots[1].dispatched_at == 20.0
    assert [s.correlation_id for s in journal_slots(lines, "WP04")] == ["g-WP04-1"]


def test_journal_slots_skip_lines_that_are_not_events() -> None:
    """A journal line that is JSON but not an object, or a slot with a bad number, never crashes a resume."""
    from phase4gate.adapters.actions.executor import journal_slots

    lines = [
        "[1, 2]",
        '"text"',
        "not json",
        '{"event": "wp-action", "wp": "WP04", "actions": {"slot": "g-WP04-1-aa", "n": "x", "state": "dispatching"}}',
        (
            '{"event": "wp-action", "wp": "WP04", "actions": {"slot": "g-WP04-2-bb", "n": 2, "at": true, '
            '"state": "dispatching"}}'
        ),
        '{"event": "wp-action", "wp": "WP04", "actions": {"slot": "g-WP04-2-bb", "state": "dispatched", "run_id": 7}}',
    ]
    slots = journal_slots(lines, "WP04")
    assert [(s.correlation_id, s.number, s.dispatched_at, s.run_id) for s in slots] == [
        ("g-WP04-1-aa", 1, 0.0, None),
        ("g-WP04-2-bb", 2, 0.0, 7),
    ]
