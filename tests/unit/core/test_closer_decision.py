"""Which closer counts for a blocker, and which stop applies: checks.blockers, pure."""

from __future__ import annotations

import pytest

from phase4gate.checks.blockers import (
    CONDITION_LOGGING_ONLY,
    CONDITION_NOT_SUBSTANTIVE,
    CloserAudit,
    audit_stop,
    choose_closer,
)
from phase4gate.checks.fix_substance import Verdict
from phase4gate.models import Closer

CLI = "Priivacy-ai/spec-kitty"
E2E = "Priivacy-ai/spec-kitty-end-to-end-testing"


def audit(repo: str, sha: str, verdict: Verdict) -> CloserAudit:
    return CloserAudit(
        Closer(repo=repo, sha=sha, how="closed-event"), sha, verdict.value, verdict is Verdict.SUBSTANTIVE
    )


def test_the_last_substantive_closer_counts() -> None:
    """Re-opened and closed again by a sibling's fix: the blocker passes on that fix, not the last closer."""
    audits = [
        audit(CLI, "a" * 40, Verdict.LOGGING_ONLY),
        audit(E2E, "b" * 40, Verdict.SUBSTANTIVE),
        audit(CLI, "c" * 40, Verdict.DOCS_ONLY),
    ]
    decision = choose_closer(1182, audits)
    assert decision.chosen == 1
    assert decision.counted.commit == "b" * 40
    assert decision.passed


def test_of_two_substantive_closers_the_later_counts() -> None:
    audits = [audit(CLI, "a" * 40, Verdict.SUBSTANTIVE), audit(E2E, "b" * 40, Verdict.SUBSTANTIVE)]
    assert choose_closer(1141, audits).counted.closer.repo == E2E


def test_without_a_substantive_closer_the_last_counts_and_fails() -> None:
    audits = [audit(CLI, "a" * 40, Verdict.LOGGING_ONLY), audit(CLI, "c" * 40, Verdict.NO_TEST)]
    decision = choose_closer(1141, audits)
    assert (decision.chosen, decision.counted.verdict, decision.passed) == (1, Verdict.NO_TEST.value, False)


def test_no_closer_is_refused() -> None:
    with pytest.raises(ValueError, match="#1141: no closer was audited"):
        choose_closer(1141, [])


def test_every_blocker_passing_is_no_stop() -> None:
    decisions = [choose_closer(n, [audit(CLI, "a" * 40, Verdict.SUBSTANTIVE)]) for n in (1141, 1182)]
    assert audit_stop(decisions) is None


def test_logging_only_when_every_failing_blocker_is_logging_only() -> None:
    """A passing blocker does not change the stop; every failing one logging-only is the logging-only stop."""
    passing = choose_closer(1141, [audit(CLI, "a" * 40, Verdict.SUBSTANTIVE)])
    logging_only = choose_closer(1182, [audit(CLI, "b" * 40, Verdict.LOGGING_ONLY)])
    assert audit_stop([passing, logging_only]) == CONDITION_LOGGING_ONLY


def test_any_other_failing_verdict_is_not_substantive() -> None:
    logging_only = choose_closer(1141, [audit(CLI, "a" * 40, Verdict.LOGGING_ONLY)])
    unproven = choose_closer(1182, [audit(CLI, "b" * 40, Verdict.TEST_PASSES_WITHOUT_FIX)])
    assert audit_stop([logging_only, unproven]) == CONDITION_NOT_SUBSTANTIVE
    assert audit_stop([unproven]) == CONDITION_NOT_SUBSTANTIVE


def test_the_counted_closer_decides_not_an_earlier_one() -> None:
    """An earlier logging-only closer does not make a blocker whose last closer is docs-only 'logging-only'."""
    decision = choose_closer(
        1141, [audit(CLI, "a" * 40, Verdict.LOGGING_ONLY), audit(CLI, "b" * 40, Verdict.DOCS_ONLY)]
    )
    assert audit_stop([decision]) == CONDITION_NOT_SUBSTANTIVE


def test_wp01_names_the_same_conditions() -> None:
    """WP01 re-exports the conditions it stops with (tests and readers import them from the step)."""
    from phase4gate.steps import wp01

    assert (wp01.CONDITION_LOGGING_ONLY, wp01.CONDITION_NOT_SUBSTANTIVE) == (
        CONDITION_LOGGING_ONLY,
        CONDITION_NOT_SUBSTANTIVE,
    )
