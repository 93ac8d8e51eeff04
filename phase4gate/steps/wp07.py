"""WP07: the Teamspace MVP suite four times, logs kept.

Stop condition: any Teamspace run fails (failed), triaged from its log: HTTP 413
(payload above the ingress cap of 524288 bytes; the cap is never raised), 503 (the
SaaS not ready), "did not materialize within 60s", ``terminal_failed`` /
``DrainMaterializationRejected``, or other.  Each run is
``<teamspace.command> <files> -m deployed_dev`` in the e2e checkout, its own process
with flakiness-hiding plugins disabled; its log goes to ``teamspace.log_path``
(plan default ``/tmp/teamspace-canary-run-{n}.log``) and is copied, with the JUnit XML,
into the evidence (``wp07/<k>/teamspace-run-{n}.log``) the moment the run ends.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

from phase4gate.checks.canary import check_teamspace_run, parse_junit, triage_teamspace_log
from phase4gate.errors import ProcessError
from phase4gate.models import EvidenceRef, StepOutcome, StopKind
from phase4gate.steps.wp04 import REDEPLOY_CONDITION, _saas_change, canary_lock_wait, e2e_checkout

if TYPE_CHECKING:
    from phase4gate.adapters.http import ReadOnlyClient
    from phase4gate.gate import StepContext

__all__ = ["CONDITION", "run"]

CONDITION: Final = "any Teamspace run fails"


def run(ctx: StepContext) -> StepOutcome:
    """WP07: run the three Teamspace MVP files ``teamspace.runs`` (4) times; every run must pass.

    The SaaS is read before run 1 and after every run: a redeploy since WP03 is a
    waiting stop.  One canary or Teamspace suite at a time per e2e checkout.

    Raises:
        ProcessError: a run could not start, timed out, or wrote no JUnit report (log kept).
        ConfigError: no e2e checkout configured, or a command asking for reruns.
    """
    from phase4gate.adapters.http import ReadOnlyClient  # noqa: PLC0415
    from phase4gate.adapters.runner import canary_env, canary_lock, teamspace_argv  # noqa: PLC0415

    ts = ctx.config.teamspace
    checkout = e2e_checkout(ctx)
    if ctx.dry_run:
        cmd = shlex.join(teamspace_argv(ctx.config, junit_path=Path("<scratch>/junit.xml")))
        msg = f"dry run: would run `{cmd}` {ts.runs} time(s) in {checkout}, logs at {ts.log_path}"
        ctx.note(msg)
        return StepOutcome.passed(msg)
    env = canary_env(ctx.environ, ctx.config, str(ctx.fact("WP02", "cli_bin_dir")))
    ctx.fact("WP03", "saas_git_sha")
    with (
        canary_lock(checkout, run_id=ctx.run_id, wp=ctx.wp, wait_seconds=canary_lock_wait(ctx.config), note=ctx.note),
        contextlib.closing(ReadOnlyClient.from_config(ctx.config.saas)) as health,
    ):
        return _run_locked(ctx, checkout, env, health)


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


def _run_locked(ctx: StepContext, checkout: Path, env: dict[str, str], health: ReadOnlyClient) -> StepOutcome:
    from phase4gate.adapters.proc import run_process  # noqa: PLC0415
    from phase4gate.adapters.runner import teamspace_argv  # noqa: PLC0415

    ts = ctx.config.teamspace
    refs: list[EvidenceRef] = []
    logs: list[str] = []
    changed = _saas_change(ctx, health)
    if changed is not None:
        return _redeployed(changed, f"seen before Teamspace run 1 of {ts.runs}", 0, refs, logs)
    for n in range(1, ts.runs + 1):
        log_path = Path(ts.log_path.format(n=n))
        # The plan's log name is fixed: an older gate's log there is not this run's.
        log_path.unlink(missing_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="phase4gate-teamspace-"))
        try:
            junit = scratch / f"teamspace-run-{n}.junit.xml"
            argv = teamspace_argv(ctx.config, junit_path=junit)
            ctx.note(f"Teamspace run {n} of {ts.runs}: {shlex.join(argv)}")
            ctx.store.append_event({"event": "wp-action", "wp": ctx.wp, "action": f"dispatched Teamspace run {n}"})
            result = run_process(
                argv,
                cwd=checkout,
                env=env,
                timeout=ts.timeout_seconds,
                log_path=log_path,
                secrets=tuple(s for s in (ctx.token,) if s),
            )
            log_rel = ctx.evidence_path(f"teamspace-run-{n}.log")
            if log_path.is_file():
                refs.append(ctx.store.copy_in(log_path, log_rel))
                logs.append(log_rel)
            junit_text = junit.read_text(encoding="utf-8", errors="replace") if junit.is_file() else None
            if junit_text is not None:
                refs.append(ctx.store.write_text(ctx.evidence_path(f"teamspace-run-{n}.junit.xml"), junit_text))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if result.timed_out or junit_text is None:
            why = f"did not finish within {ts.timeout_seconds:g}s" if result.timed_out else "wrote no JUnit report"
            raise ProcessError(
                f"Teamspace run {n} {why} (exit {result.returncode}); log kept at {log_rel}",
                argv=result.argv,
                returncode=result.returncode,
            )
        cases = parse_junit(junit_text, source=ctx.evidence_path(f"teamspace-run-{n}.junit.xml"))
        verdict = check_teamspace_run(cases, run_number=n, files=ts.files, returncode=result.returncode)
        ctx.note(f"Teamspace run {n} of {ts.runs}: {'pass' if verdict.passed else 'FAIL'} ({verdict.tests} tests)")
        changed = _saas_change(ctx, health)
        if changed is not None:
            return _redeployed(
                changed, f"seen after Teamspace run {n} of {ts.runs}", n - 1 + verdict.passed, refs, logs
            )
        if not verdict.passed:
            log_text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else ""
            triage = triage_teamspace_log(log_text + "\n" + "\n".join(verdict.problems))
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
                },
                evidence=tuple(refs),
            )
    return StepOutcome.passed(
        f"{ts.runs}/{ts.runs} Teamspace runs pass; logs {', '.join(logs)}",
        facts={"teamspace_runs_passed": ts.runs, "teamspace_logs": ",".join(logs)},
        evidence=tuple(refs),
    )
