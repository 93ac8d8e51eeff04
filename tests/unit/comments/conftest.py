"""Complete, valid comment facts for the renderer tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from phase4gate.checks.comments import CommentFacts, RunRow

SHA = "a" * 64
RC_COMMIT = "0123456789abcdef0123456789abcdef01234567"
SAAS_SHA = "fedcba9876543210fedcba9876543210fedcba98"


def make_runs(attempt: str = "rc16-attempt1", n: int = 4) -> tuple[RunRow, ...]:
    return tuple(
        RunRow(
            number=i,
            path=f"{attempt}/runs/run-{i}.json",
            outcome="pass",
            scenarios=tuple((s, "pass") for s in (1, 2, 3, 4)),
            cli_version="3.2.0rc16",
        )
        for i in range(1, n + 1)
    )


def make_facts() -> CommentFacts:
    return CommentFacts(
        gate_id="phase4-canary-gate-01KS1W46",
        cli_version="3.2.0rc16",
        rc_tag="v3.2.0rc16",
        rc_commit=RC_COMMIT,
        fly_image="registry.fly.io/spec-kitty-dev:deployment-01J",
        saas_git_sha=SAAS_SHA,
        events_version="5.1.0",
        health_status=200,
        ready_status=200,
        terminal_failed=0,
        business_rule_rejected=22,
        attempt_dir="rc16-attempt1",
        runs=make_runs(),
        bundle_path="wp06/1/rc16-attempt1.tar.gz",
        bundle_sha256=SHA,
        e2e_issue="Priivacy-ai/spec-kitty-end-to-end-testing#41",
        e2e_comment_url="http://127.0.0.1:1/Priivacy-ai/spec-kitty-end-to-end-testing/issues/41#issuecomment-7",
        e2e_state="closed",
        tracker_issue="Priivacy-ai/spec-kitty#1038",
        teamspace_runs_passed=4,
    )


@pytest.fixture
def facts() -> CommentFacts:
    """Every fact both comments need, as a passing gate records them."""
    return make_facts()


@pytest.fixture(name="make_runs")
def make_runs_fixture() -> Callable[..., tuple[RunRow, ...]]:
    """Build four (or n) passing run rows inside an attempt folder."""
    return make_runs
