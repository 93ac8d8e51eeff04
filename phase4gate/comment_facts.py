"""The comment facts WP06, WP08 and ``render-comment`` share: where they come from and who posts them.

One place for what both evidence comments are built from, so no step imports
another step and no command imports a step:

* the targets (:func:`e2e_issue`, :func:`tracker_issue`) from the configuration;
* the facts (:func:`collect_comment_facts`): the passed WPs' facts, WP05's run files
  (and, beside each, the GitHub Actions metadata ``runs/run-N.actions.json`` when the
  executor kept one), ``saas.fly_image``, and the journal heads the comments anchor;
  the pure mapping and every claim check live in :mod:`phase4gate.checks.comments`;
* the protocol refusal (:func:`not_the_plans_protocol`) and the render refusal (:func:`refused`);
* the publisher of a step (:func:`make_publisher`): the GitHub client from
  ``ctx.clients``, progress through ``ctx.note`` (a dry run's whole body as
  finished progress lines, never a write to ``sys.stderr`` from here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from phase4gate.checks.citations import actions_meta_path, parse_actions_run
from phase4gate.checks.comments import (
    PLAN_RUNS,
    PLAN_TEAMSPACE_RUNS,
    PROTOCOL_CONDITION,
    CommentFacts,
    CommentRenderError,
    RunRow,
    build_comment_facts,
    run_row,
)
from phase4gate.errors import InputError
from phase4gate.models import FactValue, StepOutcome, StepStatus, StopKind, parse_run_file, run_number_from_filename

if TYPE_CHECKING:
    from phase4gate.adapters.publish import Publisher
    from phase4gate.config import GateConfig
    from phase4gate.gate import StepContext
    from phase4gate.models import StepResult

__all__ = [
    "collect_comment_facts",
    "configured_protocol",
    "e2e_issue",
    "load_run_rows",
    "make_publisher",
    "not_the_plans_protocol",
    "passed_facts",
    "refused",
    "tracker_issue",
]


def e2e_issue(config: GateConfig) -> tuple[str, int]:
    """Return (repository, number) of the e2e#41 target."""
    return config.repo_for(config.comments.e2e, config.github.e2e_repo), config.comments.e2e.number


def tracker_issue(config: GateConfig) -> tuple[str, int]:
    """Return (repository, number) of the #1038 tracker."""
    return config.repo_for(config.comments.tracker), config.comments.tracker.number


def load_run_rows(run_dir: Path, attempt_dir: str, run_files: str) -> tuple[RunRow, ...]:
    """Read WP05's run files (comma-separated, relative to the run folder or the attempt folder).

    Beside each ``runs/run-N.json`` the GitHub Actions executor keeps
    ``runs/run-N.actions.json``; when it is there it is read too (the comment checks
    WP05's citation against it), when it is not the run is a local one.

    Raises:
        InputError: a run file (or an Actions metadata file) is missing, not JSON, or breaks the plan's invariants.
    """
    from phase4gate.convert import read_json  # noqa: PLC0415 - keep start-up light

    rows: list[RunRow] = []
    for raw in (p.strip() for p in run_files.split(",")):
        if not raw:
            continue
        rel = raw if raw.startswith(f"{attempt_dir}/") else f"{attempt_dir}/{raw}"
        path = run_dir / rel
        data = read_json(path)
        run = parse_run_file(data, source=str(path), file_run_number=run_number_from_filename(path.name))
        meta_path = run_dir / actions_meta_path(rel)
        actions = parse_actions_run(read_json(meta_path), source=str(meta_path)) if meta_path.is_file() else None
        rows.append(run_row(rel, run, actions=actions))
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
    from phase4gate.journal import read_journal_file, result_head  # noqa: PLC0415

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


def refused(exc: InputError, condition: str, facts: Mapping[str, FactValue] | None = None) -> StepOutcome:
    """Return the stop (failed) of a comment that cannot be rendered, naming the fields at fault.

    The fields go into the ``missing_or_unsupported`` fact (comma-separated).
    """
    extra: dict[str, FactValue] = dict(facts or {})
    if isinstance(exc, CommentRenderError):
        extra["missing_or_unsupported"] = ",".join(exc.fields)
    reason = str(exc) + (f" (hint: {exc.hint})" if exc.hint else "")
    return StepOutcome.stopped(StopKind.FAILED, condition, reason, facts=extra)


def _sayer(ctx: StepContext) -> Callable[[str], None]:
    """Return the publisher's ``say``: progress lines as notes; a whole comment body (dry run) line by line.

    A body goes out as finished progress lines (``progress.done``), so a terminal keeps
    every line instead of rewriting one live line; ``--json`` (no progress) shows none.
    """

    def say(message: str) -> None:
        if "\n" not in message:
            ctx.note(message)
            return
        for line in message.rstrip("\n").split("\n"):
            ctx.progress.done(ctx.wp, line)

    return say


def make_publisher(ctx: StepContext) -> Publisher:
    """Return the publisher of this step: the GitHub client of ``ctx.clients``, or none in a dry run."""
    from phase4gate.adapters.publish import Publisher  # noqa: PLC0415

    config = ctx.config
    return Publisher(
        None if ctx.dry_run else ctx.clients.github(ctx.token),
        gate_id=config.comments.gate_id,
        lock_dir=ctx.evidence_root,
        min_write_interval=config.comments.min_write_interval_seconds,
        dry_run=ctx.dry_run,
        say=_sayer(ctx),
        never_close=[tracker_issue(config)] if config.comments.tracker.never_close else [],
    )
