"""WP06: bundle the attempt folder, comment on e2e#41 from observed facts, read it back, close e2e#41.

Stop (failed): the comment cannot be rendered from observed facts (a fact
missing, a claim the evidence does not support), or it was not read back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from phase4gate.checks.comments import CommentRenderError, protocol_shortfall
from phase4gate.comment_facts import (
    collect_comment_facts,
    configured_protocol,
    e2e_issue,
    make_publisher,
    not_the_plans_protocol,
    passed_facts,
    refused,
)
from phase4gate.errors import InputError
from phase4gate.models import FactValue, StepOutcome, StopKind

if TYPE_CHECKING:
    from phase4gate.gate import StepContext

__all__ = ["CONDITION", "run"]

CONDITION: Final = "the comment cannot be rendered from observed facts, or was not read back"


def run(ctx: StepContext) -> StepOutcome:
    """Bundle, render, post (or update) and read back the e2e#41 comment, then close e2e#41.

    Nothing is posted or closed unless the plan's protocol was configured and met
    (four consecutive runs of the four scenarios): a weaker gate stops here (failed).
    """
    from phase4gate.adapters.bundle import bundle_bytes  # noqa: PLC0415
    from phase4gate.adapters.publish import ReadBackError  # noqa: PLC0415
    from phase4gate.adapters.store import sha256_bytes  # noqa: PLC0415
    from phase4gate.checks.comments import render_e2e_comment  # noqa: PLC0415

    config = ctx.config
    short = protocol_shortfall(configured_protocol(config), teamspace=False)
    if short:
        return not_the_plans_protocol(config, short, e2e_issue(config))
    facts = passed_facts(ctx.results)
    attempt = facts.get("WP05", {}).get("attempt_dir")
    if ctx.dry_run and not attempt:
        # A dry WP05 ran no canary: there is nothing to bundle or render, only to describe.
        repo, number = e2e_issue(config)
        close = (
            " and close it (state_reason completed) after reading the comment back" if config.comments.e2e.close else ""
        )
        plan = f"bundle WP05's attempt folder, render the e2e-41 comment, post or update it on {repo}#{number}{close}"
        ctx.note(f"dry run: would {plan}")
        return StepOutcome.passed(f"dry run: would {plan}; nothing written")
    if not isinstance(attempt, str) or not attempt:
        return refused(
            CommentRenderError("e2e-41", [("attempt_dir", "missing; expected from WP05 fact 'attempt_dir'")]),
            CONDITION,
        )
    try:
        data, members = bundle_bytes(ctx.store.path(attempt), arcname=Path(attempt).name)
        bundle_rel = ctx.evidence_path(f"{Path(attempt).name}.tar.gz")
        bundle_sha = sha256_bytes(data)
        facts["WP06"] = {"bundle_path": bundle_rel, "bundle_sha256": bundle_sha}
        body = render_e2e_comment(collect_comment_facts(config, facts, ctx.store.root))
    except InputError as exc:
        return refused(exc, CONDITION)
    out: dict[str, FactValue] = {"bundle_path": bundle_rel, "bundle_sha256": bundle_sha, "bundle_members": members}
    repo, number = e2e_issue(config)
    publisher = make_publisher(ctx)
    if ctx.dry_run:
        ctx.note(f"dry run: would write the bundle {bundle_rel} (sha256 {bundle_sha}, {members} entries)")
        result = publisher.publish(repo, number, body)
        if config.comments.e2e.close:
            publisher.close_after_read_back(result, body)
        return StepOutcome.passed(f"dry run: e2e comment rendered for {repo}#{number}; nothing written", facts=out)
    evidence = [
        ctx.store.write_bytes(bundle_rel, data),
        ctx.store.write_text(ctx.evidence_path("e2e-41-comment.md"), body),
    ]
    # The comment names evidence written just now: make it durable before GitHub shows it.
    ctx.store.flush()
    result = publisher.publish(repo, number, body)
    ctx.store.append_event({"event": "wp-action", "wp": ctx.wp, "action": f"posted comment {result.comment_url}"})
    out |= {
        "e2e_comment_id": result.comment_id,
        "e2e_comment_url": result.comment_url,
        "e2e_comment_action": result.action.value,
        "e2e_duplicate_comments": ",".join(str(d) for d in result.duplicates),
        "e2e_foreign_marker_comments": ",".join(str(d) for d in result.foreign),
    }
    try:
        if config.comments.e2e.close:
            closed = publisher.close_after_read_back(result, body)
            out |= {"e2e_state": closed.state, "e2e_close_sent": closed.sent}
        else:
            publisher.read_back(result, body)
            out["e2e_state"] = publisher.state(repo, number)
    except ReadBackError as exc:
        evidence.append(ctx.store.write_json(ctx.evidence_path("e2e-41-publish.json"), out))
        return StepOutcome.stopped(StopKind.FAILED, CONDITION, str(exc), facts=out, evidence=tuple(evidence))
    evidence.append(ctx.store.write_json(ctx.evidence_path("e2e-41-publish.json"), out))
    reason = f"{repo}#{number}: comment {result.comment_id} {result.action.value}, read back; state {out['e2e_state']}"
    if result.duplicates:
        reason += f"; duplicate comments by us left in place: {out['e2e_duplicate_comments']} (oldest kept)"
    return StepOutcome.passed(reason, facts=out, evidence=tuple(evidence))
