"""Pure judgement of the SaaS health answers (WP03) and redeploy detection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from phase4gate.checks.health import (
    COUNTS_CONDITION,
    EVENTS_CONDITION,
    MALFORMED_CONDITION,
    NOT_READY_CONDITION,
    HealthPolicy,
    dotted,
    judge_preflight,
    saas_changed,
)
from phase4gate.models import StopKind

HEALTH: dict[str, Any] = {
    "status": "ok",
    "service": "spec-kitty-saas",
    "version": "2026.05.19",
    "git_sha": "4f2a" * 10,
    "build_timestamp": "2026-05-19T08:14:00Z",
    "spec_kitty_events": "5.1.0",
    "environment": "dev",
}


def ready(**drain: object) -> dict[str, Any]:
    queue: dict[str, Any] = {
        "status": "ok",
        "oldest_pending_age_seconds": 0,
        "retryable_count": 0,
        "terminal_failed_count": 0,
        "business_rule_rejected_count": 22,
    }
    queue.update(drain)
    return {"status": "ready", "dependencies": {"postgres": {"status": "ok"}, "drain_queue": queue}}


def test_healthy_passes_with_every_fact() -> None:
    """200/200, events 5.1.0, counts 0 and 22: passed, facts recorded."""
    v = judge_preflight(200, json.dumps(HEALTH).encode(), 200, json.dumps(ready()), preflight_at="2026-05-19T08:20:00Z")
    assert v.passed
    assert v.facts == {
        "health_status": 200,
        "ready_status": 200,
        "preflight_at": "2026-05-19T08:20:00Z",
        "saas_git_sha": HEALTH["git_sha"],
        "saas_build_timestamp": "2026-05-19T08:14:00Z",
        "saas_version": "2026.05.19",
        "saas_environment": "dev",
        "events_version": "5.1.0",
        "terminal_failed_count": 0,
        "business_rule_rejected_count": 22,
    }


@pytest.mark.parametrize(
    ("health_status", "health", "ready_status", "ready_body", "kind", "condition", "text"),
    [
        (503, b"down", 200, ready(), StopKind.WAITING, NOT_READY_CONDITION, "/health/ answered 503"),
        (200, HEALTH, 503, {"status": "not_ready"}, StopKind.WAITING, NOT_READY_CONDITION, "answered 503"),
        (200, HEALTH, 503, ready(status="degraded"), StopKind.WAITING, NOT_READY_CONDITION, "degraded"),
        (200, HEALTH, 200, ready(status="degraded"), StopKind.WAITING, NOT_READY_CONDITION, "degraded"),
        (200, HEALTH, 200, {**ready(), "status": "starting"}, StopKind.WAITING, NOT_READY_CONDITION, "'starting'"),
        (200, {**HEALTH, "spec_kitty_events": "5.0.9"}, 200, ready(), StopKind.WAITING, EVENTS_CONDITION, "5.0.9"),
        (200, HEALTH, 200, ready(business_rule_rejected_count=21), StopKind.FAILED, COUNTS_CONDITION, "exactly 22"),
        (200, HEALTH, 200, ready(terminal_failed_count=1), StopKind.FAILED, COUNTS_CONDITION, "is 1, expected 0"),
        (200, b'{"status": "ok"', 200, ready(), StopKind.FAILED, MALFORMED_CONDITION, "not JSON"),
        (200, b"[1, 2]", 200, ready(), StopKind.FAILED, MALFORMED_CONDITION, "a JSON list"),
        (200, {**HEALTH, "git_sha": None}, 200, ready(), StopKind.FAILED, MALFORMED_CONDITION, "'git_sha'"),
        (200, {**HEALTH, "spec_kitty_events": "new"}, 200, ready(), StopKind.FAILED, MALFORMED_CONDITION, "'new'"),
        (200, HEALTH, 200, b"<html>", StopKind.FAILED, MALFORMED_CONDITION, "/health/ready/ body is not JSON"),
        (200, HEALTH, 200, {"status": "ready"}, StopKind.FAILED, MALFORMED_CONDITION, "missing 'dependencies'"),
        (200, HEALTH, 200, ready(terminal_failed_count="0"), StopKind.FAILED, MALFORMED_CONDITION, "an integer"),
        (200, HEALTH, 200, ready(terminal_failed_count=True), StopKind.FAILED, MALFORMED_CONDITION, "an integer"),
    ],
)
def test_stops(  # noqa: PLR0917 - one row of the table
    health_status: int,
    health: object,
    ready_status: int,
    ready_body: object,
    kind: StopKind,
    condition: str,
    text: str,
) -> None:
    """Each bad answer stops with the right kind, condition and a reason naming the problem."""
    v = judge_preflight(health_status, health, ready_status, ready_body)  # type: ignore[arg-type]
    assert (v.stop_kind, v.condition) == (kind, condition), v.reason
    assert text in v.reason
    assert not v.passed


def test_count_paths_are_configurable() -> None:
    """The harness's names, at another path, are read when configured."""
    body = {"status": "ready", "batch": {"batch_intake_terminal_failed": 0, "batch_intake_business_rule_rejected": 22}}
    policy = HealthPolicy(
        terminal_failed_path="batch.batch_intake_terminal_failed",
        business_rule_rejected_path="batch.batch_intake_business_rule_rejected",
    )
    assert judge_preflight(200, HEALTH, 200, body, policy).passed
    assert dotted({"a": {"b": 1}}, "a.b") == 1
    with pytest.raises(KeyError, match=r"a\.c"):
        dotted({"a": {"b": 1}}, "a.c.d")


def test_saas_changed() -> None:
    """Same sha and build: None; a redeploy or an unreadable body: a reason."""
    facts = {"saas_git_sha": HEALTH["git_sha"], "saas_build_timestamp": HEALTH["build_timestamp"]}
    assert saas_changed(facts, HEALTH) is None
    assert saas_changed(facts, json.dumps(HEALTH)) is None
    moved = saas_changed(facts, {**HEALTH, "git_sha": "beef", "build_timestamp": "2026-05-19T08:20:00Z"})
    assert moved == (
        f"SaaS redeployed since the preflight: git_sha {HEALTH['git_sha']} -> beef, "
        "build_timestamp 2026-05-19T08:14:00Z -> 2026-05-19T08:20:00Z"
    )
    assert "cannot confirm" in str(saas_changed(facts, b"oops"))
    assert "recorded no git_sha" in str(saas_changed({}, HEALTH))


@pytest.mark.parametrize("status", ["error", "degraded", None])
def test_health_status_must_be_ok(status: object) -> None:
    """/health/ answering 200 with a status other than "ok" is not ready (waiting), never a pass."""
    body = {**HEALTH, "status": status}
    verdict = judge_preflight(200, json.dumps(body), 200, json.dumps(ready()), preflight_at="2026-05-20T10:00:00Z")
    assert not verdict.passed
    assert verdict.stop_kind is StopKind.WAITING
    assert "expected 'ok'" in verdict.reason
