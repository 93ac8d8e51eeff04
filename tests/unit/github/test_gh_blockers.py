"""WP01's first half: blockers CLOSED as completed, by a change."""

from __future__ import annotations

import pytest

from phase4gate.checks.blockers import (
    CONDITION_NOT_FIXED,
    CONDITION_OPEN,
    BlockerState,
    check_blockers_closed,
    closer_ref,
)
from phase4gate.models import Closer, IssueSnapshot, StopKind

CLI = "Priivacy-ai/spec-kitty"
E2E = "Priivacy-ai/spec-kitty-end-to-end-testing"
FIX = "f" * 40


def snap(number: int, state: str = "closed", reason: str | None = "completed", *closers: Closer) -> IssueSnapshot:
    return IssueSnapshot(repo=CLI, number=number, state=state, state_reason=reason, closers=closers)


COMMIT = Closer(how="closed-event", repo=CLI, sha=FIX)
SIBLING_PR = Closer(how="cross-referenced-pr", repo=E2E, sha=FIX, pr_number=42, merged=True)


def test_both_closed_by_changes_pass_and_hand_over_closers() -> None:
    """Closed as completed by a commit and by a sibling PR: passes; closers go to the audit."""
    verdict = check_blockers_closed(
        [snap(1141, "closed", "completed", SIBLING_PR), snap(1182, "closed", "completed", COMMIT)]
    )

    assert verdict.passed
    assert verdict.stop_kind is None
    assert verdict.verdict(1141).closers == (SIBLING_PR,)
    assert verdict.facts() == {
        "blockers": "1141,1182",
        "blocker_1141_state": "closed",
        "blocker_1141_closer": f"{E2E}@{FIX}",
        "blocker_1182_state": "closed",
        "blocker_1182_closer": f"{CLI}@{FIX}",
    }


def test_an_open_blocker_is_a_waiting_stop_naming_it() -> None:
    """Either issue still OPEN -> waiting, and the reason names which."""
    verdict = check_blockers_closed([snap(1141, "open", None), snap(1182, "closed", "completed", COMMIT)])

    assert verdict.stop_kind is StopKind.WAITING
    assert verdict.condition == CONDITION_OPEN
    assert verdict.reason == f"still open: {CLI}#1141"


def test_open_wins_but_other_problems_are_mentioned() -> None:
    """An open blocker waits; a not_planned one is reported alongside."""
    verdict = check_blockers_closed([snap(1141, "open", None), snap(1182, "closed", "not_planned")])

    assert verdict.stop_kind is StopKind.WAITING
    assert "also:" in verdict.reason
    assert "not planned" in verdict.reason


@pytest.mark.parametrize(
    ("reason", "closers", "state", "words"),
    [
        ("not_planned", (COMMIT,), BlockerState.NOT_PLANNED, "closed as not planned"),
        ("duplicate", (COMMIT,), BlockerState.DUPLICATE, "closed as a duplicate"),
        ("completed", (), BlockerState.NO_LINKED_CHANGE, "closed with no linked change"),
    ],
)
def test_closed_without_a_fix_is_a_failed_stop(
    reason: str, closers: tuple[Closer, ...], state: BlockerState, words: str
) -> None:
    """not_planned, duplicate, or no linked change -> failed, with that reason."""
    verdict = check_blockers_closed([snap(1141, "closed", reason, *closers)])

    assert verdict.stop_kind is StopKind.FAILED
    assert verdict.condition == CONDITION_NOT_FIXED
    assert verdict.verdict(1141).state is state
    assert words in verdict.reason


@pytest.mark.parametrize(
    "closer",
    [
        Closer(how="cross-referenced-pr", repo=CLI, sha=None, pr_number=3, merged=False),
        Closer(how="referenced-commit", repo=CLI, sha=FIX),
        Closer(how="closed-event", repo=CLI, sha=None),
    ],
)
def test_candidates_that_prove_nothing_do_not_count(closer: Closer) -> None:
    """An unmerged PR, a mere reference, a closed event without a commit: no change."""
    verdict = check_blockers_closed([snap(1141, "closed", "completed", closer)])

    assert verdict.verdict(1141).state is BlockerState.NO_LINKED_CHANGE
    assert verdict.verdict(1141).candidates == (closer,)
    assert verdict.facts()["blocker_1141_closer"] == ""


def test_a_change_outside_the_allowed_repositories_does_not_count() -> None:
    """repos= limits closers to the CLI repository and its siblings."""
    fork = Closer(how="closed-event", repo="someone/fork", sha=FIX)

    verdict = check_blockers_closed([snap(1141, "closed", "completed", fork)], repos=[CLI, E2E])

    assert verdict.stop_kind is StopKind.FAILED
    assert E2E in verdict.reason


def test_a_missing_blocker_fails() -> None:
    """Every expected blocker must have been read."""
    verdict = check_blockers_closed([snap(1141, "closed", "completed", COMMIT)], expected=[(CLI, 1141), (CLI, 1182)])

    assert verdict.stop_kind is StopKind.FAILED
    assert verdict.verdict(1182).state is BlockerState.MISSING
    assert verdict.facts()["blocker_1182_state"] == "missing"


def test_zero_blockers_never_pass() -> None:
    """An empty list is not a vacuous pass."""
    verdict = check_blockers_closed([])

    assert not verdict.passed
    assert verdict.stop_kind is StopKind.FAILED


def test_unknown_blocker_lookup_raises() -> None:
    """verdict(N) for a blocker not checked is a KeyError."""
    with pytest.raises(KeyError):
        check_blockers_closed([snap(1141, "open", None)]).verdict(9)


def test_closer_ref_without_sha_names_the_pr() -> None:
    """A PR with no merge commit is named owner/repo#N."""
    assert closer_ref(Closer(how="cross-referenced-pr", repo=E2E, pr_number=42)) == f"{E2E}#42"


def test_one_change_found_twice_is_handed_over_once() -> None:
    """A merged PR whose closed event also names the merge commit: one closer for the audit."""
    pr = Closer(how="cross-referenced-pr", repo=CLI, sha=FIX, pr_number=9, merged=True)

    verdict = check_blockers_closed([snap(1141, "closed", "completed", pr, COMMIT)])

    assert verdict.verdict(1141).closers == (pr,)
    assert verdict.verdict(1141).candidates == (pr, COMMIT)
