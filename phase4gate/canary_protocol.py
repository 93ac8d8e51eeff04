"""The canary protocol WP04, WP05 and WP07 share, over the executor seam (:mod:`phase4gate.executor`).

WP04 runs it once (``<rc short>-single-attempt<N>``), WP05 ``canary.runs`` (4) times
in a row (``<rc short>-attempt<N>``), stopping at the first run that does not pass.
The protocol, whoever runs the canary:

1. the executor refuses a configuration that cannot run, before anything is reserved;
2. the executor holds the canary target for the whole protocol (one canary at a time);
3. ``/health/`` is read before run 1 and compared with WP03's ``git_sha`` /
   ``build_timestamp``: a redeploy is a waiting stop, no run started;
4. the attempt folder is reserved (:func:`~phase4gate.adapters.store.reserve_attempt`,
   N counted per RC across gate runs); each run's ``wp-action`` is journalled before it
   starts; the executor keeps ``runs/run-k.json`` the moment the run ends;
5. each run is judged (:func:`phase4gate.checks.canary.check_run`, plus the
   executor's own findings); ``/health/`` is read again after every run;
6. ``latest.json`` (the last run) is copied and ``MANIFEST.sha256`` sealed, whatever happened;
7. a failed run re-opens the blocker its failure signature maps to, only if closed,
   with a comment naming RC, run and evidence (:func:`reopen_blockers`; the re-opened
   blockers are the ``reopened`` fact, which makes the gate re-check WP01 on resume).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from attrs import frozen

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
    from phase4gate.config import GateConfig
    from phase4gate.executor import CanaryExecutor, CapturedRun, TeamspaceExecutor
    from phase4gate.gate import StepContext

__all__ = [
    "REDEPLOY_CONDITION",
    "RUN_CONDITION",
    "SCENARIO_CONDITION",
    "Reopened",
    "canary_executor",
    "canary_lock_wait",
    "e2e_checkout",
    "reopen_blockers",
    "run_protocol",
    "saas_change",
    "teamspace_executor",
]

SCENARIO_CONDITION: Final = "any scenario fails, is skipped or missing"
RUN_CONDITION: Final = "any run does not pass"
REDEPLOY_CONDITION: Final = "the SaaS was redeployed or the RC changed during the gate"


@frozen
class Reopened:
    """What re-opening blockers did: the blockers re-opened, every action described, a GitHub error."""

    reopened: tuple[tuple[str, int], ...] = ()  # (repo, number) of each blocker this gate re-opened
    actions: tuple[str, ...] = ()
    error: str | None = None

    @property
    def fact(self) -> str:
        """The ``reopened`` fact (:data:`phase4gate.facts.REOPENED`): the re-opened blocker numbers ("1182")."""
        from phase4gate.facts import REOPENED  # noqa: PLC0415

        return REOPENED.encode(n for _repo, n in self.reopened)


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


def canary_lock_wait(config: GateConfig) -> float:
    """Return how long a gate waits for another gate's canary in the same e2e checkout.

    The longest a gate configured like this one holds the checkout: the setup and
    every canary run, or every Teamspace run, each bounded by its timeout.
    """
    canary, ts = config.canary, config.teamspace
    return max(canary.timeout_seconds * (canary.runs + 1), ts.timeout_seconds * ts.runs)


def _local_context(ctx: StepContext) -> dict[str, Any]:
    """What both local executors take from the step: store, the RC's bin folder, the lock, notes, secrets."""
    return {
        "store": ctx.store,
        "cli_bin_dir": None if ctx.dry_run else str(ctx.fact("WP02", "cli_bin_dir")),
        "environ": ctx.environ,
        "lock_owner": (ctx.run_id, ctx.wp),
        "lock_wait": canary_lock_wait(ctx.config),
        "note": ctx.note,
        "secrets": tuple(s for s in (ctx.token,) if s),
    }


def _actions_context(ctx: StepContext) -> dict[str, Any]:
    """What both GitHub Actions executors take from the step: store, the slot's names, clients, the RC."""
    return {
        "store": ctx.store,
        "wp": ctx.wp,
        "gate_run_id": ctx.run_id,
        "environ": ctx.environ,
        "clients": ctx.clients,
        "cli_version": None if ctx.dry_run else str(ctx.fact("WP02", "rc_version")),
        "note": ctx.note,
    }


def canary_executor(ctx: StepContext) -> CanaryExecutor:
    """Return the executor ``[canary] executor`` names, for this step.

    Raises:
        ConfigError: the executor cannot be built from the configuration.
    """
    kind = ctx.config.canary.executor
    if kind == "local":
        from phase4gate.adapters.runner import LocalCanaryExecutor  # noqa: PLC0415

        # A dry run only describes: it needs no checkout (as before the seam).
        checkout = Path(ctx.config.canary.e2e_checkout or ".") if ctx.dry_run else e2e_checkout(ctx)
        return LocalCanaryExecutor(ctx.config, checkout=checkout, **_local_context(ctx))
    if kind == "github-actions":
        from phase4gate.adapters.actions.executor import ActionsCanaryExecutor  # noqa: PLC0415

        return ActionsCanaryExecutor(ctx.config, **_actions_context(ctx))
    raise ConfigError(f"{kind!r} is not available in this build", field="canary.executor")


def teamspace_executor(ctx: StepContext) -> TeamspaceExecutor:
    """Return the executor of the Teamspace runs (WP07), by ``[canary] executor``.

    Raises:
        ConfigError: the executor cannot be built from the configuration.
    """
    kind = ctx.config.canary.executor
    if kind == "local":
        from phase4gate.adapters.runner import LocalTeamspaceExecutor  # noqa: PLC0415

        return LocalTeamspaceExecutor(
            ctx.config, checkout=e2e_checkout(ctx), evidence_path=ctx.evidence_path, **_local_context(ctx)
        )
    if kind == "github-actions":
        from phase4gate.adapters.actions.executor import ActionsTeamspaceExecutor  # noqa: PLC0415

        return ActionsTeamspaceExecutor(ctx.config, evidence_path=ctx.evidence_path, **_actions_context(ctx))
    raise ConfigError(f"{kind!r} is not available in this build", field="canary.executor")


def _blocker_repo(config: GateConfig, number: int) -> str:
    for b in config.blockers:
        if b.number == number:
            return config.repo_for(b)
    return config.github.cli_repo


def reopen_blockers(
    ctx: StepContext, failures: tuple[SignatureMatch, ...], *, rc_version: str, evidence_path: str
) -> Reopened:
    """Re-open each blocker the failures map to, only if it is closed, with a comment naming RC, run and evidence.

    Returns what was done (or, in a dry run, described) and an error text when GitHub
    could not be written (the canary verdict stands either way).
    """
    blockers = blockers_to_reopen(failures)
    if not blockers:
        return Reopened()
    actions: list[str] = []
    if ctx.dry_run:
        for b in blockers:
            repo = _blocker_repo(ctx.config, b)
            msg = f"dry run: would re-open {repo}#{b} if closed, with a comment naming the evidence"
            ctx.note(msg)
            actions.append(msg)
        return Reopened(actions=tuple(actions))
    reopened: list[tuple[str, int]] = []
    try:
        client = ctx.clients.github(ctx.token)
        for b in blockers:
            repo = _blocker_repo(ctx.config, b)
            match = next(f for f in failures if f.blocker == b)
            snapshot = client.issue(repo, b)
            if not should_reopen(snapshot.state):
                actions.append(f"{repo}#{b} is already {snapshot.state}; not re-opened")
                continue
            client.reopen_issue(repo, b)
            reopened.append((repo, b))
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
        return Reopened(tuple(reopened), tuple(actions), f"could not re-open on GitHub: {exc}")
    return Reopened(tuple(reopened), tuple(actions))


def saas_change(ctx: StepContext, client: ReadOnlyClient) -> str | None:
    """Return how the SaaS differs from WP03's preflight (a redeploy), or None when it is unchanged."""
    from phase4gate.checks.health import saas_changed  # noqa: PLC0415

    before = ctx.results["WP03"].facts
    try:
        answer = client.get(ctx.config.saas.health_path)
    except Phase4GateError as exc:
        return f"cannot confirm the SaaS is unchanged: {exc}"
    if answer.status != 200:
        return f"cannot confirm the SaaS is unchanged: {ctx.config.saas.health_path} answered {answer.status}"
    return saas_changed(before, answer.body)


def _dry_run(ctx: StepContext, executor: CanaryExecutor, runs: int, tag: str) -> StepOutcome:
    lines = [
        *executor.describe(runs, tag),
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
    ctx.fact("WP02", "rc_version")
    rc_short = str(ctx.fact("WP02", "rc_short"))
    tag = f"{rc_short}{attempt_tag_suffix}"
    executor = canary_executor(ctx)
    if ctx.dry_run:
        return _dry_run(ctx, executor, runs, tag)
    ctx.fact("WP03", "saas_git_sha")
    ctx.fact("WP03", "saas_build_timestamp")
    executor.check_ready()
    try:
        with executor.hold():
            return _run_held(ctx, executor, runs=runs, tag=tag, condition=condition)
    finally:
        executor.cancel()


def _run_held(ctx: StepContext, executor: CanaryExecutor, *, runs: int, tag: str, condition: str) -> StepOutcome:
    from phase4gate.adapters.runner import counted_run_ids  # noqa: PLC0415
    from phase4gate.adapters.store import reserve_attempt  # noqa: PLC0415

    rc_version = str(ctx.fact("WP02", "rc_version"))
    # The SaaS may have been redeployed since WP03 (or while this gate waited for the canary target).
    with contextlib.closing(ctx.clients.saas()) as first:
        redeployed = saas_change(ctx, first)
    if redeployed is not None:
        return StepOutcome.stopped(
            StopKind.WAITING,
            REDEPLOY_CONDITION,
            f"{redeployed} (seen before run 1 of {runs}); SaaS redeployed during the gate; re-run from WP03. "
            "No canary run was started",
        )
    attempt = reserve_attempt(ctx.evidence_root, ctx.store.root, tag)
    ctx.note(f"attempt folder {attempt}")
    counted = counted_run_ids(ctx.evidence_root, ctx.store.root, (r.facts for r in ctx.results.values()))
    captured: list[CapturedRun] = []
    verdicts: list[RunVerdict] = []
    refs: list[EvidenceRef] = []
    changed: str | None = None
    health = ctx.clients.saas()
    try:
        refs.extend(executor.begin(attempt, total_runs=runs, counted=counted))
        for k in range(1, runs + 1):
            ctx.store.append_event({"event": "wp-action", "wp": ctx.wp, "action": f"dispatched canary run {k}"})
            cap = executor.run(k)
            captured.append(cap)
            refs.extend(cap.refs)
            verdict = check_run(
                cap.run,
                run_number=k,
                expected_version=rc_version,
                signatures=ctx.config.canary.signatures,
                source=cap.run_file,
                problems=cap.problems,
            )
            verdicts.append(verdict)
            ctx.note(f"run {k} of {runs}: {'pass' if verdict.passed else 'FAIL'} ({cap.run_file})")
            changed = saas_change(ctx, health)
            if changed is not None or not verdict.passed:
                break
        if captured:
            refs.append(ctx.store.copy_in(ctx.store.path(captured[-1].run_file), f"{attempt}/latest.json"))
    finally:
        health.close()
        with contextlib.suppress(Phase4GateError):
            refs.append(ctx.store.seal(attempt))
    return _judge(ctx, _Protocol(runs, attempt, rc_version, condition), captured, verdicts, changed, refs)


@frozen
class _Protocol:
    runs: int
    attempt: str
    rc_version: str
    condition: str


def _run_facts(attempt: str, captured: list[CapturedRun]) -> dict[str, FactValue]:
    facts: dict[str, FactValue] = {"attempt_dir": attempt, "run_files": ",".join(c.run_file for c in captured)}
    facts["run_ids"] = ",".join(c.run.run_id for c in captured if c.run.run_id)
    cited = [c.citation for c in captured if c.citation is not None and c.citation.run_id]
    if cited:
        facts["executor_run_ids"] = ",".join(c.run_id for c in cited)
        facts["executor_run_urls"] = ",".join(c.url for c in cited)
    return facts


def _judge(  # noqa: PLR0913, PLR0917 - the protocol's whole result
    ctx: StepContext,
    protocol: _Protocol,
    captured: list[CapturedRun],
    verdicts: list[RunVerdict],
    changed: str | None,
    refs: list[EvidenceRef],
) -> StepOutcome:
    runs, attempt = protocol.runs, protocol.attempt
    evidence = tuple(refs)
    facts = _run_facts(attempt, captured)
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
        return StepOutcome.passed(f"{verdict.reason}; evidence in {attempt}{note}", facts=facts, evidence=evidence)
    failures = verdicts[-1].failures if verdicts else ()
    evidence_path = captured[-1].run_file if captured else attempt
    done = reopen_blockers(ctx, failures, rc_version=protocol.rc_version, evidence_path=evidence_path)
    unknown = unknown_signatures(failures)
    parts = [verdict.reason]
    if unknown:
        quoted = "; ".join(repr(u.quote) for u in unknown)
        parts.append(f"new failure signature: {quoted}; no blocker re-opened for it; file a new issue")
    parts.extend(done.actions)
    if done.error:
        parts.append(done.error)
        facts["reopen_error"] = done.error
    facts["failed_run"] = verdict.failed_run
    facts["failed_scenarios"] = ",".join(str(f.scenario_id) for f in failures)
    facts["signatures"] = ",".join(f.signature or "new" for f in failures)
    facts["reopened"] = done.fact
    return StepOutcome.stopped(
        StopKind.FAILED,
        protocol.condition,
        "; ".join(parts) + f"; evidence kept in {attempt}{note}",
        facts=facts,
        evidence=evidence,
    )
