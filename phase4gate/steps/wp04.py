"""WP04: one canary run, all four scenarios pass (and the protocol WP05 shares).

Stop conditions: any scenario fails, is skipped or missing (failed; the blocker its
failure signature maps to is re-opened, only if closed); the SaaS was redeployed or
the RC changed during the gate (waiting).

Each run goes into an attempt folder reserved with
:func:`~phase4gate.adapters.store.reserve_attempt` (WP04: ``<rc short>-single-attempt<N>``,
WP05: ``<rc short>-attempt<N>``, N counted per RC across gate runs): ``runs/run-k.json``
(copied the moment run k ends, pass or fail), ``<run_id>.json``, ``logs/run-k.log`` and
the JUnit XML, ``latest.json`` (the last run) and ``MANIFEST.sha256`` (sealed at the end,
whatever happened).  Before run 1 and after every run ``/health/`` is read again and compared
with WP03's ``git_sha``/``build_timestamp``.  The e2e checkout is held with
:func:`~phase4gate.adapters.runner.canary_lock` for the whole protocol: a second gate waits.
"""

from __future__ import annotations

import contextlib
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Final

from phase4gate.checks.canary import (
    RunVerdict,
    SignatureMatch,
    blockers_to_reopen,
    check_protocol,
    check_run,
    render_reopen_comment,
    should_reopen,
    unknown_signatures,
)
from phase4gate.errors import ConfigError, Phase4GateError
from phase4gate.models import EvidenceRef, FactValue, StepOutcome, StopKind

if TYPE_CHECKING:
    from phase4gate.adapters.http import ReadOnlyClient
    from phase4gate.adapters.runner import CapturedRun
    from phase4gate.config import GateConfig
    from phase4gate.gate import StepContext

__all__ = [
    "REDEPLOY_CONDITION",
    "RUN_CONDITION",
    "SCENARIO_CONDITION",
    "canary_lock_wait",
    "e2e_checkout",
    "reopen_blockers",
    "run",
    "run_protocol",
]

SCENARIO_CONDITION: Final = "any scenario fails, is skipped or missing"
RUN_CONDITION: Final = "any run does not pass"
REDEPLOY_CONDITION: Final = "the SaaS was redeployed or the RC changed during the gate"


def e2e_checkout(ctx: StepContext) -> Path:
    """Return the configured e2e checkout.

    Raises:
        ConfigError: ``canary.e2e_checkout`` is not set.
    """
    raw = ctx.config.canary.e2e_checkout
    if not raw:
        raise ConfigError(
            "is not set; the canary runs in the end-to-end testing checkout",
            field="canary.e2e_checkout",
            hint="set [canary] e2e_checkout to the spec-kitty-end-to-end-testing checkout",
        )
    return Path(raw)


def _blocker_repo(ctx: StepContext, number: int) -> str:
    for b in ctx.config.blockers:
        if b.number == number:
            return ctx.config.repo_for(b)
    return ctx.config.github.cli_repo


def reopen_blockers(
    ctx: StepContext, failures: tuple[SignatureMatch, ...], *, rc_version: str, evidence_path: str
) -> tuple[list[str], str | None]:
    """Re-open each blocker the failures map to, only if it is closed, with a comment naming RC, run and evidence.

    Returns the actions taken (or, in a dry run, described) and an error text when
    GitHub could not be written (the canary verdict stands either way).
    """
    blockers = blockers_to_reopen(failures)
    actions: list[str] = []
    if not blockers:
        return actions, None
    if ctx.dry_run:
        for b in blockers:
            msg = f"dry run: would re-open {_blocker_repo(ctx, b)}#{b} if closed, with a comment naming the evidence"
            ctx.note(msg)
            actions.append(msg)
        return actions, None
    try:
        from phase4gate.adapters.github import GitHubClient  # noqa: PLC0415 - github3 stays lazy

        client = GitHubClient.from_config(ctx.config, ctx.token)
        for b in blockers:
            repo = _blocker_repo(ctx, b)
            match = next(f for f in failures if f.blocker == b)
            snapshot = client.issue(repo, b)
            if not should_reopen(snapshot.state):
                actions.append(f"{repo}#{b} is already {snapshot.state}; not re-opened")
                continue
            client.reopen_issue(repo, b)
            client.create_comment(
                repo,
                b,
                render_reopen_comment(
                    rc_version=rc_version, match=match, evidence_path=evidence_path, gate_id=ctx.config.comments.gate_id
                ),
            )
            actions.append(f"re-opened {repo}#{b} with a comment")
            ctx.note(f"re-opened {repo}#{b}")
    except (Phase4GateError, ImportError) as exc:
        return actions, f"could not re-open on GitHub: {exc}"
    return actions, None


def _saas_change(ctx: StepContext, client: ReadOnlyClient) -> str | None:
    from phase4gate.checks.health import saas_changed  # noqa: PLC0415

    before = ctx.results["WP03"].facts
    try:
        answer = client.get(ctx.config.saas.health_path)
    except Phase4GateError as exc:
        return f"cannot confirm the SaaS is unchanged: {exc}"
    if answer.status != 200:
        return f"cannot confirm the SaaS is unchanged: {ctx.config.saas.health_path} answered {answer.status}"
    return saas_changed(before, answer.body)


def _dry_run(ctx: StepContext, runs: int, tag: str) -> StepOutcome:
    from phase4gate.adapters.runner import canary_argv  # noqa: PLC0415

    argv = shlex.join(canary_argv(ctx.config, junit_path=Path("<scratch>/run-k.junit.xml")))
    lines = [
        f"dry run: would reserve {tag}-attempt<N> and run `{argv}` {runs} time(s) in {ctx.config.canary.e2e_checkout}",
        "would re-open the blocker a failure maps to (only if closed) with a comment naming RC, run and evidence",
    ]
    for line in lines:
        ctx.note(line)
    return StepOutcome.passed("; ".join(lines))


def run_protocol(ctx: StepContext, *, runs: int, attempt_tag_suffix: str, condition: str) -> StepOutcome:
    """Run the canary *runs* times (stopping at the first failure) and judge it.

    Raises:
        ProcessError: runner preflight failure, start failure or timeout (evidence kept and sealed).
        InputError: a missing, malformed or inconsistent run file (kept and sealed).
        ConfigError: no e2e checkout configured, or a command asking for reruns.
    """
    from phase4gate.adapters.runner import canary_argv, canary_env, canary_lock  # noqa: PLC0415

    ctx.fact("WP02", "rc_version")
    rc_short = str(ctx.fact("WP02", "rc_short"))
    tag = f"{rc_short}{attempt_tag_suffix}"
    if ctx.dry_run:
        return _dry_run(ctx, runs, tag)
    cli_bin_dir = str(ctx.fact("WP02", "cli_bin_dir"))
    ctx.fact("WP03", "saas_git_sha")
    ctx.fact("WP03", "saas_build_timestamp")
    checkout = e2e_checkout(ctx)
    # Refuse a rerun-asking command line before anything is reserved or run.
    canary_argv(ctx.config, junit_path=Path("run.junit.xml"))
    canary_env(ctx.environ, ctx.config, cli_bin_dir)
    with canary_lock(checkout, run_id=ctx.run_id, wp=ctx.wp, wait_seconds=canary_lock_wait(ctx.config), note=ctx.note):
        return _run_locked(ctx, runs=runs, tag=tag, checkout=checkout, cli_bin_dir=cli_bin_dir, condition=condition)


def canary_lock_wait(config: GateConfig) -> float:
    """Return how long a gate waits for another gate's canary in the same e2e checkout.

    The longest a gate configured like this one holds the checkout: the setup and
    every canary run, or every Teamspace run, each bounded by its timeout.
    """
    canary, ts = config.canary, config.teamspace
    return max(canary.timeout_seconds * (canary.runs + 1), ts.timeout_seconds * ts.runs)


def _run_locked(  # noqa: PLR0913 - run_protocol's context, once the checkout is this gate's
    ctx: StepContext, *, runs: int, tag: str, checkout: Path, cli_bin_dir: str, condition: str
) -> StepOutcome:
    from phase4gate.adapters.http import ReadOnlyClient  # noqa: PLC0415
    from phase4gate.adapters.runner import CanaryRunner, counted_run_ids  # noqa: PLC0415
    from phase4gate.adapters.store import reserve_attempt  # noqa: PLC0415

    rc_version = str(ctx.fact("WP02", "rc_version"))
    # The SaaS may have been redeployed since WP03 (or while this gate waited for the checkout).
    with contextlib.closing(ReadOnlyClient.from_config(ctx.config.saas)) as first:
        redeployed = _saas_change(ctx, first)
    if redeployed is not None:
        return StepOutcome.stopped(
            StopKind.WAITING,
            REDEPLOY_CONDITION,
            f"{redeployed} (seen before run 1 of {runs}); SaaS redeployed during the gate; re-run from WP03. "
            "No canary run was started",
        )
    attempt = reserve_attempt(ctx.evidence_root, ctx.store.root, tag)
    ctx.note(f"attempt folder {attempt}")
    runner = CanaryRunner(
        ctx.config,
        checkout=checkout,
        store=ctx.store,
        attempt=attempt,
        cli_bin_dir=cli_bin_dir,
        environ=ctx.environ,
        total_runs=runs,
        note=ctx.note,
        secrets=tuple(s for s in (ctx.token,) if s),
        counted=counted_run_ids(ctx.evidence_root, ctx.store.root, (r.facts for r in ctx.results.values())),
    )
    health = ReadOnlyClient.from_config(ctx.config.saas)
    captured: list[CapturedRun] = []
    verdicts: list[RunVerdict] = []
    refs: list[EvidenceRef] = []
    changed: str | None = None
    try:
        setup_ref = runner.setup()
        if setup_ref is not None:
            refs.append(setup_ref)
        for k in range(1, runs + 1):
            ctx.store.append_event({"event": "wp-action", "wp": ctx.wp, "action": f"dispatched canary run {k}"})
            cap = runner.run(k)
            captured.append(cap)
            refs.extend(cap.refs)
            verdict = check_run(
                cap.run,
                run_number=k,
                expected_version=rc_version,
                signatures=ctx.config.canary.signatures,
                source=cap.run_file,
            )
            verdicts.append(verdict)
            ctx.note(f"run {k} of {runs}: {'pass' if verdict.passed else 'FAIL'} ({cap.run_file})")
            changed = _saas_change(ctx, health)
            if changed is not None or not verdict.passed:
                break
        if captured:
            refs.append(ctx.store.copy_in(ctx.store.path(captured[-1].run_file), f"{attempt}/latest.json"))
    finally:
        health.close()
        with contextlib.suppress(Phase4GateError):
            refs.append(ctx.store.seal(attempt))
    return _judge(ctx, runs, attempt, rc_version, captured, verdicts, changed, refs, condition)


def _judge(  # noqa: PLR0913, PLR0917 - the protocol's whole result, split out of run_protocol
    ctx: StepContext,
    runs: int,
    attempt: str,
    rc_version: str,
    captured: list[CapturedRun],
    verdicts: list[RunVerdict],
    changed: str | None,
    refs: list[EvidenceRef],
    condition: str,
) -> StepOutcome:
    evidence = tuple(refs)
    run_files = [c.run_file for c in captured]
    facts: dict[str, FactValue] = {"attempt_dir": attempt, "run_files": ",".join(run_files)}
    facts["run_ids"] = ",".join(c.run.run_id for c in captured if c.run.run_id)
    disagreements = [c.disagreement for c in captured if c.disagreement]
    if disagreements:
        facts["exit_code_disagreement"] = "; ".join(disagreements)
    note = f" (note: {'; '.join(disagreements)})" if disagreements else ""
    last = len(captured)
    if changed is not None:
        return StepOutcome.stopped(
            StopKind.WAITING,
            REDEPLOY_CONDITION,
            f"{changed} (seen after run {last} of {runs}); SaaS redeployed during the gate; re-run from WP03. "
            f"Runs 1-{last} kept in {attempt}{note}",
            facts=facts,
            evidence=evidence,
        )
    mismatch = next((v for v in verdicts if v.version_mismatch), None)
    if mismatch is not None:
        return StepOutcome.stopped(
            StopKind.WAITING,
            REDEPLOY_CONDITION,
            f"{mismatch.describe()}; re-run from WP02{note}",
            facts=facts,
            evidence=evidence,
        )
    verdict = check_protocol(verdicts, required_runs=runs, scenarios=len(ctx.config.canary.scenarios))
    facts["runs_passed"] = verdict.runs_passed
    facts["cells_passed"] = verdict.cells_passed
    if verdict.passed:
        return StepOutcome.passed(
            f"{verdict.reason}; evidence in {attempt}{note}",
            facts=facts,
            evidence=evidence,
        )
    failures = verdicts[-1].failures if verdicts else ()
    evidence_path = captured[-1].run_file if captured else attempt
    actions, gh_error = reopen_blockers(ctx, failures, rc_version=rc_version, evidence_path=evidence_path)
    unknown = unknown_signatures(failures)
    parts = [verdict.reason]
    if unknown:
        quoted = "; ".join(repr(u.quote) for u in unknown)
        parts.append(f"new failure signature: {quoted}; no blocker re-opened for it; file a new issue")
    parts.extend(actions)
    if gh_error:
        parts.append(gh_error)
        facts["reopen_error"] = gh_error
    facts["failed_run"] = verdict.failed_run
    facts["failed_scenarios"] = ",".join(str(f.scenario_id) for f in failures)
    facts["signatures"] = ",".join(f.signature or "new" for f in failures)
    facts["reopened"] = ",".join(a.split("#")[-1].split(" ")[0] for a in actions if a.startswith("re-opened"))
    return StepOutcome.stopped(
        StopKind.FAILED,
        condition,
        "; ".join(parts) + f"; evidence kept in {attempt}{note}",
        facts=facts,
        evidence=evidence,
    )


def run(ctx: StepContext) -> StepOutcome:
    """WP04: run the canary once; every scenario must pass."""
    outcome = run_protocol(ctx, runs=1, attempt_tag_suffix="-single", condition=SCENARIO_CONDITION)
    if outcome.status.value == "passed" and not ctx.dry_run:
        facts = dict(outcome.facts)
        facts["single_run_file"] = str(facts.get("run_files", ""))
        return StepOutcome.passed(outcome.reason, facts=facts, evidence=outcome.evidence)
    return outcome
