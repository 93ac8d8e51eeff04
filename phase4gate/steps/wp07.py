"""WP07: the Teamspace MVP suite four times, logs kept.

Stop condition: any Teamspace run fails (failed), triaged from its log: HTTP 413
(payload above the ingress cap of 524288 bytes; the cap is never raised), 503 (the
SaaS not ready), "did not materialize within 60s", ``terminal_failed`` /
``DrainMaterializationRejected``, or other.  Each run is
``<teamspace.command> <files> -m deployed_dev`` in the e2e checkout, its own process
with flakiness-hiding plugins disabled; its log goes to ``teamspace.log_path``
(plan default ``/tmp/teamspace-canary-run-{n}.log``) and is copied, with the JUnit XML,
into the evidence (``wp07/<k>/teamspace-run-{n}.log``) the moment the run ends.
Who runs it is the executor :func:`phase4gate.canary_protocol.teamspace_executor` builds.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final

from phase4gate.canary_protocol import REDEPLOY_CONDITION, saas_change, teamspace_executor
from phase4gate.checks.canary import check_teamspace_run, parse_junit, triage_teamspace_log
from phase4gate.errors import ProcessError
from phase4gate.models import EvidenceRef, FactValue, StepOutcome, StopKind

if TYPE_CHECKING:
    from phase4gate.adapters.http import ReadOnlyClient
    from phase4gate.executor import RunCitation, TeamspaceExecutor
    from phase4gate.gate import StepContext

__all__ = ["CONDITION", "run"]

CONDITION: Final = "any Teamspace run fails"


def run(ctx: StepContext) -> StepOutcome:
    """WP07: run the three Teamspace MVP files ``teamspace.runs`` (4) times; every run must pass.

    The SaaS is read before run 1 and after every run: a redeploy since WP03 is a
    waiting stop.  One canary or Teamspace suite at a time per canary target.

    Raises:
        ProcessError: a run could not start, timed out, or wrote no JUnit report (log kept).
        ConfigError: no e2e checkout configured, or a command asking for reruns.
    """
    executor = teamspace_executor(ctx)
    if ctx.dry_run:
        lines = executor.describe(ctx.config.teamspace.runs)
        for line in lines:
            ctx.note(line)
        return StepOutcome.passed("; ".join(lines))
    ctx.fact("WP03", "saas_git_sha")
    try:
        with executor.hold(), contextlib.closing(ctx.clients.saas()) as health:
            return _run_held(ctx, executor, health)
    finally:
        executor.cancel()


def _redeployed(changed: str, seen: str, passed: int, refs: list[EvidenceRef], logs: list[str]) -> StepOutcome:
    """Return the waiting stop for a SaaS redeploy seen before or between Teamspace runs."""
    kept = f"logs kept: {', '.join(logs)}" if logs else "no Teamspace run was started"
    return StepOutcome.stopped(
        StopKind.WAITING,
        REDEPLOY_CONDITION,
        f"{changed} ({seen}); SaaS redeployed during the gate; re-run from WP03; {kept}",
        facts={"teamspace_runs_passed": passed, "teamspace_logs": ",".join(logs)},
        evidence=tuple(refs),
    )


def _run_held(ctx: StepContext, executor: TeamspaceExecutor, health: ReadOnlyClient) -> StepOutcome:
    ts = ctx.config.teamspace
    refs: list[EvidenceRef] = []
    logs: list[str] = []
    cited: list[RunCitation] = []
    changed = saas_change(ctx, health)
    if changed is not None:
        return _redeployed(changed, f"seen before Teamspace run 1 of {ts.runs}", 0, refs, logs)
    for n in range(1, ts.runs + 1):
        ctx.store.append_event({"event": "wp-action", "wp": ctx.wp, "action": f"dispatched Teamspace run {n}"})
        cap = executor.run(n, total_runs=ts.runs)
        refs.extend(cap.refs)
        if cap.log_rel is not None:
            logs.append(cap.log_rel)
        if cap.citation is not None and cap.citation.run_id:
            cited.append(cap.citation)
        log_rel = cap.log_rel or "(no log)"
        if cap.timed_out or cap.junit_text is None:
            why = f"did not finish within {ts.timeout_seconds:g}s" if cap.timed_out else "wrote no JUnit report"
            raise ProcessError(
                f"Teamspace run {n} {why} (exit {cap.returncode}); log kept at {log_rel}",
                argv=cap.argv,
                returncode=cap.returncode,
            )
        cases = parse_junit(cap.junit_text, source=cap.junit_rel)
        verdict = check_teamspace_run(
            cases, run_number=n, files=ts.files, returncode=cap.returncode, problems=cap.problems
        )
        ctx.note(f"Teamspace run {n} of {ts.runs}: {'pass' if verdict.passed else 'FAIL'} ({verdict.tests} tests)")
        changed = saas_change(ctx, health)
        if changed is not None:
            return _redeployed(
                changed, f"seen after Teamspace run {n} of {ts.runs}", n - 1 + verdict.passed, refs, logs
            )
        if not verdict.passed:
            triage = triage_teamspace_log(cap.log_text + "\n" + "\n".join(verdict.problems))
            return StepOutcome.stopped(
                StopKind.FAILED,
                CONDITION,
                f"Teamspace run {n} of {ts.runs} failed: {triage.describe()}; "
                + "; ".join(verdict.problems)
                + f"; log kept at {log_rel}",
                facts={
                    "teamspace_runs_passed": n - 1,
                    "teamspace_failed_run": n,
                    "teamspace_triage": triage.kind.value,
                    "teamspace_logs": ",".join(logs),
                    **_citation_facts(cited),
                },
                evidence=tuple(refs),
            )
    return StepOutcome.passed(
        f"{ts.runs}/{ts.runs} Teamspace runs pass; logs {', '.join(logs)}",
        facts={"teamspace_runs_passed": ts.runs, "teamspace_logs": ",".join(logs), **_citation_facts(cited)},
        evidence=tuple(refs),
    )


def _citation_facts(cited: list[RunCitation]) -> dict[str, FactValue]:
    """Return the ``executor_run_ids`` / ``executor_run_urls`` facts of runs an executor cited (none locally)."""
    if not cited:
        return {}
    return {"executor_run_ids": ",".join(c.run_id for c in cited), "executor_run_urls": ",".join(c.url for c in cited)}
