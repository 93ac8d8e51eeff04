"""WP03: the read-only SaaS preflight (``/health/``, ``/health/ready/``, drain counts).

Shell only: two GETs through :class:`phase4gate.adapters.http.ReadOnlyClient`,
the bodies kept as evidence, the verdict from :func:`phase4gate.checks.health.judge_preflight`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from phase4gate.models import EvidenceRef, StepOutcome

if TYPE_CHECKING:
    from phase4gate.adapters.http import HttpAnswer
    from phase4gate.gate import StepContext
    from phase4gate.resume import ResumeCheck

__all__ = ["preflight_too_old", "run", "still_valid"]


def _keep(ctx: StepContext, name: str, answer: HttpAnswer) -> list[EvidenceRef]:
    refs = [ctx.store.write_bytes(ctx.evidence_path(f"{name}.body"), answer.body)]
    refs.append(
        ctx.store.write_json(
            ctx.evidence_path(f"{name}.json"),
            {
                "url": answer.url,
                "method": "GET",
                "status": answer.status,
                "latency_seconds": round(answer.latency_seconds, 4),
                "attempts": answer.attempts,
                "content_type": answer.header("Content-Type"),
                "body": answer.body.decode("utf-8", "replace"),
                "body_file": f"{name}.body",
            },
        )
    )
    return refs


def preflight_too_old(check: ResumeCheck) -> str | None:
    """On resume: return why an earlier preflight is too old to reuse, or ``None``.

    Older than ``[saas] max_preflight_age_hours`` (by the gate's clock) is too old.
    """
    hours = check.config.saas.max_preflight_age_hours
    if check.now - check.result.finished_at > dt.timedelta(hours=hours):
        return f"preflight older than {hours:g} h"
    return None


def still_valid(check: ResumeCheck) -> str | None:
    """On resume: return why an earlier preflight no longer holds (too old, or a redeploy), or ``None``.

    The age first (no request); then one GET of ``/health/`` through the gate's SaaS
    client: an unreachable or unreadable SaaS also means "re-run WP03", which then
    stops or errors with the real reason.
    """
    from phase4gate.checks.health import saas_changed  # noqa: PLC0415
    from phase4gate.errors import Phase4GateError  # noqa: PLC0415

    stale = preflight_too_old(check)
    if stale is not None:
        return stale
    config = check.config
    client = check.clients.saas()
    try:
        answer = client.get(config.saas.health_path)
    except Phase4GateError as exc:
        return f"cannot re-read the SaaS health ({exc})"
    finally:
        client.close()
    if answer.status != 200:
        return f"/health/ answered {answer.status}"
    return saas_changed(check.result.facts, answer.body)


def run(ctx: StepContext) -> StepOutcome:
    """Read the SaaS health and readiness, judge them, record the preflight facts.

    Raises:
        SaaSError: the SaaS could not be reached within the retries and deadline (exit 3).
    """
    from phase4gate.checks.health import HealthPolicy, judge_preflight  # noqa: PLC0415

    saas = ctx.config.saas
    client = ctx.clients.saas()
    try:
        ctx.note(f"GET {client.url(saas.health_path)}")
        health = client.get(saas.health_path)
        ctx.note(f"GET {client.url(saas.ready_path)}")
        ready = client.get(saas.ready_path)
    finally:
        client.close()
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    evidence = [*_keep(ctx, "health", health), *_keep(ctx, "ready", ready)]
    policy = HealthPolicy(
        min_events_version=saas.min_events_version,
        expected_terminal_failed=saas.expected_terminal_failed,
        expected_business_rule_rejected=saas.expected_business_rule_rejected,
        terminal_failed_path=saas.terminal_failed_path,
        business_rule_rejected_path=saas.business_rule_rejected_path,
    )
    verdict = judge_preflight(health.status, health.body, ready.status, ready.body, policy, preflight_at=at)
    evidence.append(
        ctx.store.write_json(
            ctx.evidence_path("preflight.json"),
            {
                "verdict": "passed" if verdict.passed else f"stopped ({verdict.stop_kind})",
                "reason": verdict.reason,
                "condition": verdict.condition,
                "facts": verdict.facts,
                "client": "ReadOnlyClient (GET only)",
            },
        )
    )
    refs = tuple(evidence)
    if verdict.stop_kind is None:
        prefix = "dry run: read-only preflight; " if ctx.dry_run else ""
        return StepOutcome.passed(prefix + verdict.reason, facts=verdict.facts, evidence=refs)
    assert verdict.condition is not None  # noqa: S101 - a stop always names its condition
    return StepOutcome.stopped(verdict.stop_kind, verdict.condition, verdict.reason, facts=verdict.facts, evidence=refs)
