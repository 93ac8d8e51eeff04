"""WP03, pure: judge the SaaS ``/health/`` and ``/health/ready/`` answers.

Stop conditions: "/health/ready/ is not 200 or the drain queue is degraded
(waiting)", "events package older than required (waiting)", "drain counts differ
from 0 and exactly 22 (failed)".  Also :func:`saas_changed`, which later WPs call
after every run to detect a redeploy since the preflight.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from attrs import field, frozen
from packaging.version import InvalidVersion, Version

from phase4gate.models import FactValue, StopKind

__all__ = [
    "COUNTS_CONDITION",
    "EVENTS_CONDITION",
    "MALFORMED_CONDITION",
    "NOT_READY_CONDITION",
    "HealthPolicy",
    "PreflightVerdict",
    "dotted",
    "judge_preflight",
    "saas_changed",
]

NOT_READY_CONDITION: Final = "/health/ready/ is not 200 or the drain queue is degraded (waiting)"
EVENTS_CONDITION: Final = "events package older than required (waiting)"
COUNTS_CONDITION: Final = "drain counts differ from 0 and exactly 22 (failed)"
MALFORMED_CONDITION: Final = "SaaS health answer unreadable or missing a field"


@frozen
class HealthPolicy:
    """What the preflight requires (``SaaSConfig`` values)."""

    min_events_version: str = "5.1.0"
    expected_terminal_failed: int = 0
    expected_business_rule_rejected: int = 22
    terminal_failed_path: str = "dependencies.drain_queue.terminal_failed_count"
    business_rule_rejected_path: str = "dependencies.drain_queue.business_rule_rejected_count"
    drain_status_path: str = "dependencies.drain_queue.status"


@frozen
class PreflightVerdict:
    """The preflight's verdict: ``stop_kind`` None means passed."""

    reason: str
    stop_kind: StopKind | None = None
    condition: str | None = None
    facts: dict[str, FactValue] = field(factory=dict)

    @property
    def passed(self) -> bool:
        """True when nothing stops the gate."""
        return self.stop_kind is None


class _Missing(Exception):  # noqa: N818 - internal control flow, never escapes
    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def dotted(body: object, path: str) -> Any:  # noqa: ANN401 - a JSON value of any shape
    """Return the value at dotted *path* in *body*.

    Raises:
        KeyError: a segment is missing or its parent is not an object (the message names the segment).
    """
    cur = body
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if not isinstance(cur, Mapping) or part not in cur:
            raise KeyError(".".join(walked))
        cur = cur[part]
    return cur


def _decode(body: bytes | str | Mapping[str, Any], what: str) -> Mapping[str, Any] | str:
    """Return the JSON object, or a reason string when it is not one."""
    if isinstance(body, Mapping):
        return body
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        text = body if isinstance(body, str) else body[:80].decode("utf-8", "replace")
        return f"{what} body is not JSON ({exc}): {text[:80]!r}"
    if not isinstance(data, dict):
        return f"{what} body is a JSON {type(data).__name__}, expected an object"
    return data


def _count(body: Mapping[str, Any], path: str) -> int:
    try:
        value = dotted(body, path)
    except KeyError as exc:
        raise _Missing(f"/health/ready/: missing {exc.args[0]!r} (configured path {path!r})") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Missing(f"/health/ready/: {path} is {value!r}, expected an integer")
    return value


def _required_str(body: Mapping[str, Any], key: str, what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise _Missing(f"{what}: field {key!r} missing or not a string (got {value!r})")
    return value


def judge_preflight(  # noqa: PLR0913 - the two answers, each a status and a body
    health_status: int,
    health_body: bytes | str | Mapping[str, Any],
    ready_status: int,
    ready_body: bytes | str | Mapping[str, Any],
    policy: HealthPolicy | None = None,
    *,
    preflight_at: str = "",
) -> PreflightVerdict:
    """Judge the two health answers against *policy* (WP03).

    ``/health/`` must be 200 with events >= the minimum; ``/health/ready/`` 200,
    ``status`` "ready", drain queue not degraded; the two counts exactly as
    expected (any other value means the historical rows changed: failed).
    """
    pol = policy or HealthPolicy()
    facts: dict[str, FactValue] = {"health_status": health_status, "ready_status": ready_status}
    if preflight_at:
        facts["preflight_at"] = preflight_at
    try:
        return _judge(health_status, health_body, ready_status, ready_body, pol, facts)
    except _Missing as exc:
        return PreflightVerdict(exc.where, StopKind.FAILED, MALFORMED_CONDITION, facts)


def _judge(  # noqa: PLR0913, PLR0917 - split out of judge_preflight
    health_status: int,
    health_body: bytes | str | Mapping[str, Any],
    ready_status: int,
    ready_body: bytes | str | Mapping[str, Any],
    pol: HealthPolicy,
    facts: dict[str, FactValue],
) -> PreflightVerdict:
    if health_status != 200:
        return PreflightVerdict(
            f"/health/ answered {health_status}, expected 200", StopKind.WAITING, NOT_READY_CONDITION, facts
        )
    health = _decode(health_body, "/health/")
    if isinstance(health, str):
        return PreflightVerdict(health, StopKind.FAILED, MALFORMED_CONDITION, facts)
    for key in ("git_sha", "build_timestamp", "version", "environment"):
        value = health.get(key)
        facts[f"saas_{key}"] = value if isinstance(value, str) else str(value) if value is not None else ""
    for key in ("git_sha", "build_timestamp"):
        _required_str(health, key, "/health/")
    if health.get("status") != "ok":
        return PreflightVerdict(
            f"/health/ status is {health.get('status')!r}, expected 'ok'", StopKind.WAITING, NOT_READY_CONDITION, facts
        )
    events = _required_str(health, "spec_kitty_events", "/health/")
    facts["events_version"] = events
    try:
        too_old = Version(events) < Version(pol.min_events_version)
    except InvalidVersion:
        raise _Missing(f"/health/: spec_kitty_events {events!r} is not a version") from None
    if too_old:
        return PreflightVerdict(
            f"events package {events} is older than the required {pol.min_events_version}",
            StopKind.WAITING,
            EVENTS_CONDITION,
            facts,
        )
    ready = _decode(ready_body, "/health/ready/")
    drain_status: object = None
    if not isinstance(ready, str):
        try:
            drain_status = dotted(ready, pol.drain_status_path)
        except KeyError:
            drain_status = None
    if drain_status == "degraded":
        return PreflightVerdict(
            f"drain queue is degraded (/health/ready/ answered {ready_status})",
            StopKind.WAITING,
            NOT_READY_CONDITION,
            facts,
        )
    if ready_status != 200:
        return PreflightVerdict(
            f"/health/ready/ answered {ready_status}, expected 200", StopKind.WAITING, NOT_READY_CONDITION, facts
        )
    if isinstance(ready, str):
        return PreflightVerdict(ready, StopKind.FAILED, MALFORMED_CONDITION, facts)
    if ready.get("status") != "ready":
        return PreflightVerdict(
            f"/health/ready/ status is {ready.get('status')!r}, expected 'ready'",
            StopKind.WAITING,
            NOT_READY_CONDITION,
            facts,
        )
    terminal = _count(ready, pol.terminal_failed_path)
    rejected = _count(ready, pol.business_rule_rejected_path)
    facts["terminal_failed_count"] = terminal
    facts["business_rule_rejected_count"] = rejected
    problems: list[str] = []
    if terminal != pol.expected_terminal_failed:
        problems.append(f"terminal_failed_count is {terminal}, expected {pol.expected_terminal_failed}")
    if rejected != pol.expected_business_rule_rejected:
        problems.append(
            f"business_rule_rejected_count is {rejected}, expected exactly {pol.expected_business_rule_rejected}"
            " (the historical rows changed)"
        )
    if problems:
        return PreflightVerdict("; ".join(problems), StopKind.FAILED, COUNTS_CONDITION, facts)
    return PreflightVerdict(
        f"SaaS ready: events {events}, drain counts {terminal} and {rejected}, git_sha {facts['saas_git_sha']}",
        facts=facts,
    )


def saas_changed(before_facts: Mapping[str, FactValue], health_body: bytes | str | Mapping[str, Any]) -> str | None:
    """Return why the SaaS is no longer the one the preflight saw, or ``None`` if it is.

    *before_facts* are WP03's facts (``saas_git_sha``, ``saas_build_timestamp``);
    *health_body* a later ``/health/`` body.  An unreadable body is a change: the
    gate cannot confirm the SaaS is the same.
    """
    body = _decode(health_body, "/health/")
    if isinstance(body, str):
        return f"cannot confirm the SaaS is unchanged: {body}"
    changes: list[str] = []
    for key in ("git_sha", "build_timestamp"):
        before = before_facts.get(f"saas_{key}")
        now = body.get(key)
        if before in (None, ""):
            return f"cannot confirm the SaaS is unchanged: the preflight recorded no {key}"
        if now != before:
            changes.append(f"{key} {before} -> {now}")
    if changes:
        return "SaaS redeployed since the preflight: " + ", ".join(changes)
    return None
