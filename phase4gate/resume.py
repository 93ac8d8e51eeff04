"""Resume: what an earlier invocation of a run decided that this one may reuse.

A ``--resume`` reuses a WP's earlier result only when all of these hold:

* it lies in the journal prefix a finished (or cleanly interrupted) invocation sealed
  (:func:`load_previous`): events after the seal, left by a SIGKILL or appended by
  hand, are never reused;
* it passed, for real (a dry run decides nothing);
* its evidence is intact (:func:`evidence_intact`: every file it names has its digest);
* its WP's ``still_valid`` rule (named in :data:`phase4gate.registry.WORK_PACKAGES`)
  finds no reason it no longer holds: WP01 when the gate re-opened a blocker since,
  WP03 when the preflight is too old or the SaaS was redeployed;
* every WP it needs is reused too: a WP that is re-run takes every WP after it along
  (:func:`phase4gate.registry.dependents`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from attrs import field, frozen

from phase4gate.models import WP_IDS, GateReport, StepResult, StepStatus
from phase4gate.registry import StillValid, dependents

if TYPE_CHECKING:
    from phase4gate.clients import Clients
    from phase4gate.config import GateConfig

__all__ = ["ResumeCheck", "evidence_intact", "load_previous", "reusable", "reused_results"]

log = logging.getLogger("phase4gate")


@frozen
class ResumeCheck:
    """What a WP's ``still_valid`` rule sees: the earlier result, all that the run decided, now, clients."""

    config: GateConfig
    result: StepResult
    # What the sealed prefix of the run decided (every WP's last result): WP01 reads later WPs' facts.
    previous: GateReport
    now: dt.datetime
    environ: Mapping[str, str] = field(repr=False)
    # The gate's clients (injectable sleep and clock): WP03 reads /health/ through clients.saas().
    clients: Clients = field(repr=False)


def load_previous(run_dir: Path) -> GateReport | None:
    """Return what earlier invocations decided, as far as a sealed journal head vouches for it.

    Only the prefix a finished (or cleanly interrupted) invocation sealed is trusted: events
    after it, whether left by a SIGKILL or appended by hand, are never reused (their WPs run
    again), so a resume never seals or signs results it cannot vouch for.

    Raises:
        InputError: the journal cannot be read, or a sealed line is not a journal event.
    """
    from phase4gate.adapters.store import load_manifest  # noqa: PLC0415
    from phase4gate.journal import line_digest, read_journal_file, report_from_journal  # noqa: PLC0415

    journal = read_journal_file(run_dir / "journal.jsonl")
    if journal.torn_note:
        log.warning("%s; it is moved aside before the next event is appended", journal.torn_note)
    if not journal.lines:
        return None
    sealed = load_manifest(run_dir).sealed
    lines = list(journal.lines)
    if sealed is None or sealed[0] > len(lines) or line_digest(lines[sealed[0] - 1]) != sealed[1]:
        log.warning("%s: no sealed journal head matches: nothing earlier is reused", run_dir.name)
        return None
    if len(lines) > sealed[0]:
        log.warning(
            "%s: %d journal event(s) after the sealed head are not reused (their WPs run again)",
            run_dir.name,
            len(lines) - sealed[0],
        )
    return report_from_journal(lines[: sealed[0]], source=journal.source)


def evidence_intact(run_dir: Path, result: StepResult) -> bool:
    """Return whether every evidence file *result* names is in *run_dir* with its recorded digest."""
    from phase4gate.adapters.store import sha256_file  # noqa: PLC0415

    for ref in result.evidence:
        p = run_dir / ref.path
        if not p.is_file() or sha256_file(p) != ref.sha256:
            return False
    return True


def reusable(run_dir: Path, check: ResumeCheck, rule: StillValid | None) -> tuple[bool, str]:
    """Return whether ``check.result`` may be reused, and why (or why not), for the log."""
    result = check.result
    if result.status is not StepStatus.PASSED:
        return False, f"{result.status.value} before"
    if result.dry_run:
        return False, "only described by a dry run; running it for real"
    if not evidence_intact(run_dir, result):
        return False, "its evidence changed since; re-running"
    if rule is not None:
        changed = rule(check)
        if changed:
            return False, f"{changed}; re-running"
    return True, "passed before with intact evidence"


def reused_results(
    previous: GateReport | None, wanted: set[str], judge: Callable[[StepResult], tuple[bool, str]]
) -> dict[str, StepResult]:
    """Return the previous run's passed results that stay valid (and whose needs stay valid).

    *judge* is :func:`reusable` bound to the run: ``(ok, why)`` for one earlier result.
    """
    if previous is None:
        return {}
    keep: dict[str, StepResult] = {}
    invalid: set[str] = set()
    for wp in WP_IDS:
        prev = previous.step(wp)
        if prev is None:
            continue
        ok, why = judge(prev)
        if not ok and prev.status is StepStatus.PASSED:
            log.info("%s: %s", wp, why)
            invalid |= {wp} | dependents(wp)
        if ok and wp not in invalid:
            keep[wp] = prev
    return {wp: r for wp, r in keep.items() if wp in wanted or r.status is StepStatus.PASSED}
