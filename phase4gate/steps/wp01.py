"""WP01: both blockers CLOSED as completed by a substantive, test-backed fix.

First half (GitHub engineer's pure check): every configured blocker is closed as
completed by a change (``checks.blockers.check_blockers_closed``).  Second half
(here): each blocker's closing change is audited in its own repository checkout
with the blocker's own focus (``checks.fix_substance``): a logging-only,
docs-only or unproven fix stops the gate, naming the blocker and the verdict.
A blocker passes when one of its closers is substantive (a re-opened blocker
closed again by a sibling repository's fix passes on that fix).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

from phase4gate.checks.blockers import CONDITION_LOGGING_ONLY, CONDITION_NOT_SUBSTANTIVE
from phase4gate.models import EvidenceRef, FactValue, StepOutcome, StopKind
from phase4gate.textcap import cap

if TYPE_CHECKING:
    from phase4gate.adapters.proof import AuditResult
    from phase4gate.checks.blockers import BlockerVerdict
    from phase4gate.config import BlockerConfig, GateConfig
    from phase4gate.gate import StepContext
    from phase4gate.models import Closer
    from phase4gate.resume import ResumeCheck

__all__ = ["BLOCKER_REASON_LIMIT", "CONDITION_LOGGING_ONLY", "CONDITION_NOT_SUBSTANTIVE", "run", "still_valid"]

# Characters of one blocker's audit reason in the step's reason; the full reason is in its audit evidence.
BLOCKER_REASON_LIMIT: Final = 1500


def _checkout_spec(config: GateConfig, repo: str) -> str | None:
    for name, spec in config.audit.checkouts.items():
        if name.lower() == repo.lower():
            return spec
    if repo.lower() == config.github.cli_repo.lower() and config.release.cli_checkout:
        return config.release.cli_checkout
    return None


def _blocker_config(config: GateConfig, number: int, repo: str) -> BlockerConfig | None:
    for b in config.blockers:
        if b.number == number and config.repo_for(b).lower() == repo.lower():
            return b
    return None


def _short(sha: str | None) -> str:
    return (sha or "none")[:12]


def still_valid(check: ResumeCheck) -> str | None:
    """On resume: return why WP01's earlier pass no longer holds (the gate re-opened a blocker since), or ``None``.

    Reads the typed ``reopened`` fact (:data:`phase4gate.facts.REOPENED`, written by the
    canary protocol) of every WP the run decided; no request is made.
    """
    from phase4gate.facts import REOPENED  # noqa: PLC0415

    found: list[str] = []
    for step in check.previous.steps:
        try:
            numbers = REOPENED.read(step.facts)
        except ValueError as exc:  # not written by the protocol: re-check rather than trust the pass
            return f"{step.wp} recorded an unreadable re-open list ({exc})"
        if numbers:
            found.append(f"{step.wp} re-opened " + ", ".join(f"#{n}" for n in numbers))
    if found:
        return f"the gate itself re-opened a blocker since ({'; '.join(found)}); re-checking"
    return None


def _audit_closer(
    ctx: StepContext, blocker: BlockerVerdict, closer: Closer, cache: Path, *, proof: bool
) -> tuple[AuditResult, list[EvidenceRef]]:
    from phase4gate.adapters import git  # noqa: PLC0415
    from phase4gate.adapters.proof_env import ProofSettings  # noqa: PLC0415
    from phase4gate.audit import audit_commit, audit_options  # noqa: PLC0415
    from phase4gate.checks.fix_substance import Focus  # noqa: PLC0415
    from phase4gate.errors import GitError  # noqa: PLC0415

    config = ctx.config
    spec = _checkout_spec(config, closer.repo)
    if spec is None:
        msg = f"#{blocker.number}: no checkout configured for {closer.repo} to audit {_short(closer.sha)}"
        raise GitError(msg, hint=f'set audit.checkouts = {{"{closer.repo}" = "<path or clone URL>"}}')
    checkout = git.ensure_checkout(spec, cache / "checkouts")
    bc = _blocker_config(config, blocker.number, blocker.repo)
    focus = Focus(files=bc.focus_files, symbols=bc.focus_symbols) if bc else Focus()
    settings = ProofSettings.from_config(config, cache) if proof else None
    options = audit_options(config)
    ctx.note(f"#{blocker.number}: auditing {closer.repo}@{_short(closer.sha)}")
    cache.mkdir(parents=True, exist_ok=True)
    refs: list[EvidenceRef] = []
    work = Path(tempfile.mkdtemp(prefix="wp01-", dir=cache))
    try:
        result = audit_commit(checkout, closer.sha or "", focus=focus, options=options, proof=settings, work_dir=work)
        name = f"blocker-{blocker.number}-{_short(result.commit)}"
        data = {"blocker": blocker.number, "repo": closer.repo, "how": closer.how, **result.to_json_dict()}
        refs.append(ctx.store.write_json(ctx.evidence_path(f"{name}.audit.json"), data))
        if result.proof is not None:
            logs = result.proof.with_log.parent
            # One batch: the logs' fsyncs side by side (issue 23).
            kept = [(f, ctx.evidence_path(f"{name}/{f.name}")) for f in sorted(logs.iterdir()) if f.is_file()]
            refs.extend(ctx.store.copy_in_many(kept))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result, refs


def run(ctx: StepContext) -> StepOutcome:
    """Check every blocker is closed by a change, then audit each closer's substance.

    Raises:
        GitHubError: GitHub could not be read (the engine records "could not decide").
        GitError: a checkout is missing or a commit cannot be read.
        ProcessError: the proof's test environment could not be built or run.
    """
    from phase4gate.adapters.cache import cache_dir  # noqa: PLC0415
    from phase4gate.checks.blockers import (  # noqa: PLC0415
        CloserAudit,
        audit_stop,
        check_blockers_closed,
        choose_closer,
        closer_ref,
    )
    from phase4gate.facts import CLI_FIX_COMMITS  # noqa: PLC0415

    config = ctx.config
    client = ctx.clients.github(ctx.token)
    wanted = [(config.repo_for(b), b.number) for b in config.blockers]
    ctx.note(f"reading {', '.join(f'{r}#{n}' for r, n in wanted)}")
    snapshots = [client.issue(repo, number) for repo, number in wanted]
    repos = {config.github.cli_repo, config.github.e2e_repo, *config.audit.checkouts}
    closed = check_blockers_closed(snapshots, expected=wanted, repos=repos)
    facts: dict[str, FactValue] = dict(closed.facts())
    evidence: list[EvidenceRef] = [
        ctx.store.write_json(
            ctx.evidence_path("blockers.json"),
            {
                "blockers": [
                    {
                        "repo": b.repo,
                        "number": b.number,
                        "state": b.state.value,
                        "issue_state": b.issue_state,
                        "state_reason": b.state_reason,
                        "reason": b.reason,
                        "closers": [closer_ref(c) + f" ({c.how})" for c in b.closers],
                    }
                    for b in closed.blockers
                ],
                "reason": closed.reason,
            },
        )
    ]
    if not closed.passed:
        assert closed.stop_kind is not None  # noqa: S101 - not passed means a stop kind
        assert closed.condition is not None  # noqa: S101
        return StepOutcome.stopped(
            closed.stop_kind, closed.condition, closed.reason, facts=facts, evidence=tuple(evidence)
        )
    proof = config.audit.proof and not ctx.dry_run
    if ctx.dry_run and config.audit.proof:
        ctx.note("dry run: the proof (test environment build and pytest runs) is skipped")
    cache = cache_dir(None, dict(ctx.environ) if ctx.environ else None)
    decisions = []
    failures: list[str] = []
    cli_fixes: list[str] = []
    for blocker in closed.blockers:
        audits: list[CloserAudit] = []
        kept: list[str] = []  # each closer's audit evidence (its full reason)
        reasons: list[str] = []
        for closer in blocker.closers:
            result, refs = _audit_closer(ctx, blocker, closer, cache, proof=proof)
            evidence.extend(refs)
            audits.append(CloserAudit(closer, result.commit, result.verdict.value, result.substantive))
            kept.append(refs[0].path)
            reasons.append(result.reason)
        decision = choose_closer(blocker.number, audits)
        decisions.append(decision)
        counted = decision.counted
        facts[f"blocker_{blocker.number}_verdict"] = counted.verdict
        facts[f"blocker_{blocker.number}_closer"] = f"{counted.closer.repo}@{counted.commit}"
        if decision.passed:
            if counted.closer.repo.lower() == config.github.cli_repo.lower():
                cli_fixes.append(counted.commit)
            continue
        verdicts = ", ".join(f"{a.closer.repo}@{_short(a.commit)}: {a.verdict}" for a in audits)
        why = cap(reasons[decision.chosen], BLOCKER_REASON_LIMIT, full_text=kept[decision.chosen])
        failures.append(cap(f"#{blocker.number} {verdicts} — {why}", 2 * BLOCKER_REASON_LIMIT))
    facts[CLI_FIX_COMMITS.key] = CLI_FIX_COMMITS.encode(c for c in cli_fixes if c)
    condition = audit_stop(decisions)
    if condition is not None:
        return StepOutcome.stopped(
            StopKind.FAILED, condition, "; ".join(failures), facts=facts, evidence=tuple(evidence)
        )
    summary = ", ".join(f"#{b.number} {facts[f'blocker_{b.number}_closer']}" for b in closed.blockers)
    if ctx.dry_run:
        return StepOutcome.passed(
            f"dry run: blockers closed; fixes behavioural and test-backed (proof not run): {summary}",
            facts=facts,
            evidence=tuple(evidence),
        )
    how = "proven by tests that fail without them" if proof else "test-backed (proof disabled in audit.proof)"
    return StepOutcome.passed(
        f"blockers closed by substantive fixes, {how}: {summary}", facts=facts, evidence=tuple(evidence)
    )
