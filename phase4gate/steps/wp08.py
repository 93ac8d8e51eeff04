"""WP08: comment on spec-kitty#1038 from observed facts; never close it.

Stop (failed): the comment cannot be rendered, or #1038 is not open after posting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from phase4gate.comment_facts import (
    collect_comment_facts,
    configured_protocol,
    make_publisher,
    not_the_plans_protocol,
    passed_facts,
    refused,
    tracker_issue,
)
from phase4gate.errors import InputError
from phase4gate.models import FactValue, StepOutcome, StopKind

if TYPE_CHECKING:
    from phase4gate.gate import StepContext

__all__ = ["CONDITION", "run"]

CONDITION: Final = "the comment cannot be rendered, or #1038 is not open after posting"


def run(ctx: StepContext) -> StepOutcome:
    """Render, post (or update) and read back the #1038 comment; check #1038 is still open.

    Nothing is posted unless the plan's protocol was configured and met (four
    consecutive canary runs of the four scenarios, four Teamspace runs).
    """
    from phase4gate.adapters.publish import ReadBackError  # noqa: PLC0415
    from phase4gate.checks.comments import (  # noqa: PLC0415
        CommentRenderError,
        protocol_shortfall,
        render_tracker_comment,
    )

    config = ctx.config
    short = protocol_shortfall(configured_protocol(config), teamspace=True)
    if short:
        return not_the_plans_protocol(config, short, tracker_issue(config))
    try:
        body = render_tracker_comment(collect_comment_facts(config, passed_facts(ctx.results), ctx.store.root))
    except InputError as exc:
        if ctx.dry_run and isinstance(exc, CommentRenderError):
            # A dry gate ran no canary and posted nothing: those facts do not exist yet.
            repo, number = tracker_issue(config)
            missing = ", ".join(sorted(exc.fields))
            ctx.note(f"dry run: would render the #1038 comment once these exist: {missing}")
            return StepOutcome.passed(
                f"dry run: would post or update the comment on {repo}#{number} (never closing it) once a real run "
                f"has recorded {missing}; nothing written"
            )
        return refused(exc, CONDITION)
    repo, number = tracker_issue(config)
    publisher = make_publisher(ctx)
    if ctx.dry_run:
        publisher.publish(repo, number, body)
        publisher.state(repo, number)
        return StepOutcome.passed(f"dry run: #1038 comment rendered for {repo}#{number}; nothing written")
    evidence = [ctx.store.write_text(ctx.evidence_path("issue-1038-comment.md"), body)]
    # The comment names evidence written just now: make it durable before GitHub shows it.
    ctx.store.flush()
    result = publisher.publish(repo, number, body)
    ctx.store.append_event({"event": "wp-action", "wp": ctx.wp, "action": f"posted comment {result.comment_url}"})
    out: dict[str, FactValue] = {
        "tracker_comment_id": result.comment_id,
        "tracker_comment_url": result.comment_url,
        "tracker_comment_action": result.action.value,
        "tracker_duplicate_comments": ",".join(str(d) for d in result.duplicates),
        "tracker_foreign_marker_comments": ",".join(str(d) for d in result.foreign),
    }
    try:
        publisher.read_back(result, body)
    except ReadBackError as exc:
        out["tracker_state"] = publisher.state(repo, number)
        evidence.append(ctx.store.write_json(ctx.evidence_path("issue-1038-publish.json"), out))
        return StepOutcome.stopped(StopKind.FAILED, CONDITION, str(exc), facts=out, evidence=tuple(evidence))
    state = publisher.state(repo, number)
    out["tracker_state"] = state
    evidence.append(ctx.store.write_json(ctx.evidence_path("issue-1038-publish.json"), out))
    if state != "open":
        reason = f"{repo}#{number} is {state!r} after posting; the release tracker must stay open (re-open it by hand)"
        return StepOutcome.stopped(StopKind.FAILED, CONDITION, reason, facts=out, evidence=tuple(evidence))
    reason = f"{repo}#{number}: comment {result.comment_id} {result.action.value}, read back; still open"
    if result.duplicates:
        reason += f"; duplicate comments by us left in place: {out['tracker_duplicate_comments']} (oldest kept)"
    return StepOutcome.passed(reason, facts=out, evidence=tuple(evidence))
