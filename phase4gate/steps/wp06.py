"""WP06: bundle the attempt folder, comment on e2e#41 from observed facts, read it back, close e2e#41.

Stop (failed): the comment cannot be rendered from observed facts (a fact
missing, a claim the evidence does not support), or it was not read back.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from phase4gate.checks.comments import (
    PLAN_RUNS,
    PLAN_TEAMSPACE_RUNS,
    PROTOCOL_CONDITION,
    CommentFacts,
    CommentRenderError,
    RunRow,
    build_comment_facts,
    protocol_shortfall,
    run_row,
)
from phase4gate.errors import InputError
from phase4gate.models import FactValue, StepOutcome, StepStatus, StopKind, parse_run_file, run_number_from_filename

if TYPE_CHECKING:
    from phase4gate.adapters.publish import IssueClient, Publisher
    from phase4gate.config import GateConfig
    from phase4gate.gate import StepContext
    from phase4gate.models import StepResult

__all__ = [
    "CONDITION",
    "collect_comment_facts",
    "e2e_issue",
    "load_run_rows",
    "make_publisher",
    "not_the_plans_protocol",
    "passed_facts",
    "run",
    "tracker_issue",
]

CONDITION: Final = "the comment cannot be rendered from observed facts, or was not read back"


def e2e_issue(config: GateConfig) -> tuple[str, int]:
    """Return (repository, number) of the e2e#41 target."""
    return config.repo_for(config.comments.e2e, config.github.e2e_repo), config.comments.e2e.number


def tracker_issue(config: GateConfig) -> tuple[str, int]:
    """Return (repository, number) of the #1038 tracker."""
    return config.repo_for(config.comments.tracker), config.comments.tracker.number


def load_run_rows(run_dir: Path, attempt_dir: str, run_files: str) -> tuple[RunRow, ...]:
    """Read WP05's run files (comma-separated, relative to the run folder or the attempt folder).

    Raises:
        InputError: a run file is missing, not JSON, or breaks the plan's invariants.
    """
    rows: list[RunRow] = []
    for raw in (p.strip() for p in run_files.split(",")):
        if not raw:
            continue
        rel = raw if raw.startswith(f"{attempt_dir}/") else f"{attempt_dir}/{raw}"
        path = run_dir / rel
        from phase4gate.convert import read_json  # noqa: PLC0415 - keep start-up light

        data = read_json(path)
        run = parse_run_file(data, source=str(path), file_run_number=run_number_from_filename(path.name))
        rows.append(run_row(rel, run))
    return tuple(rows)


def passed_facts(results: Mapping[str, StepResult]) -> dict[str, dict[str, FactValue]]:
    """Return the facts of every WP that passed, by WP."""
    return {wp: dict(r.facts) for wp, r in results.items() if r.status is StepStatus.PASSED}


def collect_comment_facts(
    config: GateConfig,
    facts: Mapping[str, Mapping[str, FactValue]],
    run_dir: Path,
) -> CommentFacts:
    """Build the comment facts of a run: WP facts, WP05's run files, and ``saas.fly_image``.

    Raises:
        InputError: a run file named by WP05 is missing or malformed.
    """
    wp05 = facts.get("WP05", {})
    attempt = wp05.get("attempt_dir")
    run_files = wp05.get("run_files")
    runs = (
        load_run_rows(run_dir, str(attempt), str(run_files))
        if isinstance(attempt, str) and attempt and isinstance(run_files, str) and run_files
        else None
    )
    e2e_repo, e2e_no = e2e_issue(config)
    tracker_repo, tracker_no = tracker_issue(config)
    import attrs  # noqa: PLC0415

    from phase4gate.journal import read_journal_file, result_head  # noqa: PLC0415

    lines = read_journal_file(run_dir / "journal.jsonl").lines
    built = build_comment_facts(
        facts,
        runs=runs or None,
        gate_id=config.comments.gate_id,
        fly_image=config.saas.fly_image,
        e2e_issue=f"{e2e_repo}#{e2e_no}",
        tracker_issue=f"{tracker_repo}#{tracker_no}",
        expected_runs=config.canary.runs,
        expected_scenarios=config.canary.scenarios,
        expected_teamspace_runs=config.teamspace.runs,
    )
    # The comments anchor the journal: its chain head at the result they report.
    return attrs.evolve(
        built, e2e_journal_head=result_head(lines, "WP05"), tracker_journal_head=result_head(lines, "WP07")
    )


def _sayer(ctx: StepContext) -> Callable[[str], None]:
    """Progress lines go to the step's notes; a whole comment body (dry run) goes to stderr as is."""

    def say(message: str) -> None:
        if "\n" in message:
            sys.stderr.write(message if message.endswith("\n") else message + "\n")
            sys.stderr.flush()
        else:
            ctx.note(message)

    return say


def make_publisher(ctx: StepContext) -> Publisher:
    """Return the publisher of this step: the GitHub adapter, or none in a dry run."""
    from phase4gate.adapters.publish import Publisher  # noqa: PLC0415

    config = ctx.config
    client: IssueClient | None = None
    if not ctx.dry_run:
        from phase4gate.adapters.github import GitHubClient  # noqa: PLC0415 - github3 stays out of start-up

        client = GitHubClient.from_config(config, ctx.token)
    tracker = tracker_issue(config)
    return Publisher(
        client,
        gate_id=config.comments.gate_id,
        lock_dir=ctx.evidence_root,
        min_write_interval=config.comments.min_write_interval_seconds,
        dry_run=ctx.dry_run,
        say=_sayer(ctx),
        never_close=[tracker] if config.comments.tracker.never_close else [],
    )


def _refused(exc: InputError, facts: Mapping[str, FactValue] | None = None) -> StepOutcome:
    extra: dict[str, FactValue] = dict(facts or {})
    if isinstance(exc, CommentRenderError):
        extra["missing_or_unsupported"] = ",".join(exc.fields)
    reason = str(exc) + (f" (hint: {exc.hint})" if exc.hint else "")
    return StepOutcome.stopped(StopKind.FAILED, CONDITION, reason, facts=extra)


def configured_protocol(config: GateConfig) -> CommentFacts:
    """Return the protocol the configuration asks for, as comment facts with nothing observed."""
    return CommentFacts(
        expected_runs=config.canary.runs,
        expected_scenarios=tuple(config.canary.scenarios),
        expected_teamspace_runs=config.teamspace.runs,
    )


def not_the_plans_protocol(config: GateConfig, shortfall: tuple[str, ...], target: tuple[str, int]) -> StepOutcome:
    """Return the stop (failed) of a gate whose protocol is not the plan's: nothing is posted or closed."""
    repo, number = target
    reason = f"not the plan's protocol: {'; '.join(shortfall)}; nothing posted to or closed on {repo}#{number}"
    return StepOutcome.stopped(
        StopKind.FAILED,
        PROTOCOL_CONDITION,
        reason,
        facts={
            "protocol": "not the plan's",
            "canary_runs_configured": config.canary.runs,
            "canary_runs_required": PLAN_RUNS,
            "canary_scenarios_configured": ",".join(str(n) for n in config.canary.scenarios),
            "teamspace_runs_configured": config.teamspace.runs,
            "teamspace_runs_required": PLAN_TEAMSPACE_RUNS,
        },
    )


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
        return _refused(
            CommentRenderError("e2e-41", [("attempt_dir", "missing; expected from WP05 fact 'attempt_dir'")])
        )
    try:
        data, members = bundle_bytes(ctx.store.path(attempt), arcname=Path(attempt).name)
        bundle_rel = ctx.evidence_path(f"{Path(attempt).name}.tar.gz")
        bundle_sha = sha256_bytes(data)
        facts["WP06"] = {"bundle_path": bundle_rel, "bundle_sha256": bundle_sha}
        body = render_e2e_comment(collect_comment_facts(config, facts, ctx.store.root))
    except InputError as exc:
        return _refused(exc)
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
