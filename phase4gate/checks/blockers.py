"""WP01, first half: every blocker is CLOSED as completed, and closed by a change.

Pure: issue snapshots (``adapters.github.GitHubClient.issue``) in, a verdict out.

Stop conditions (the plan's WP01 row and ``REAL_WORLD.md``):

* a blocker still OPEN -> stop, *waiting*, naming which ("Either issue still OPEN");
* a blocker closed as ``not_planned`` or ``duplicate``, or closed with no linked
  change (no ``closed`` event with a commit, no merged pull request in this or a
  sibling repository) -> stop, *failed*: "closed" alone never proves a fix.

Each accepted blocker hands its closers (repository, commit, PR) to the
fix-substance audit, which judges what the change does.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final

from attrs import frozen

from phase4gate.models import Closer, FactValue, IssueSnapshot, StopKind

__all__ = [
    "CONDITION_LOGGING_ONLY",
    "CONDITION_NOT_FIXED",
    "CONDITION_NOT_SUBSTANTIVE",
    "CONDITION_OPEN",
    "BlockerState",
    "BlockerVerdict",
    "BlockersVerdict",
    "CloserAudit",
    "CloserDecision",
    "audit_stop",
    "check_blockers_closed",
    "choose_closer",
    "closer_ref",
    "closers_from_timeline",
    "repo_from_url",
]

CONDITION_OPEN: Final = "Either issue still OPEN"
CONDITION_NOT_FIXED: Final = "blocker not CLOSED as completed by a change"
# The fix audit's stops (WP01, second half): which one applies is audit_stop's decision.
CONDITION_LOGGING_ONLY: Final = "fix diff is logging-only (diagnostic-only)"
CONDITION_NOT_SUBSTANTIVE: Final = "fix not substantive or not proven by a test that fails without it"
# checks.fix_substance.Verdict.LOGGING_ONLY (kept as text: this module does not load the audit).
_LOGGING_ONLY: Final = "logging-only"
# How a closer was found -> whether it proves a change closed the issue.
_PROVING: Final = frozenset({"closed-event", "cross-referenced-pr"})


class BlockerState(enum.StrEnum):
    """What the snapshot says about one blocker."""

    CLOSED_BY_CHANGE = "closed-by-change"
    OPEN = "open"
    NOT_PLANNED = "not-planned"
    DUPLICATE = "duplicate"
    NO_LINKED_CHANGE = "no-linked-change"
    MISSING = "missing"


@frozen
class BlockerVerdict:
    """One blocker's verdict; ``closers`` are the changes that prove the closing (for the audit)."""

    repo: str
    number: int
    state: BlockerState
    reason: str
    issue_state: str | None = None
    state_reason: str | None = None
    closers: tuple[Closer, ...] = ()
    candidates: tuple[Closer, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the blocker is closed as completed by a change."""
        return self.state is BlockerState.CLOSED_BY_CHANGE


@frozen
class BlockersVerdict:
    """All blockers' verdicts; ``stop_kind`` None means every blocker passed this half of WP01."""

    blockers: tuple[BlockerVerdict, ...]
    stop_kind: StopKind | None
    condition: str | None
    reason: str

    @property
    def passed(self) -> bool:
        """True when every blocker is closed as completed by a change."""
        return self.stop_kind is None

    def verdict(self, number: int) -> BlockerVerdict:
        """Return the verdict of blocker *number*.

        Raises:
            KeyError: *number* is not one of the blockers checked.
        """
        for b in self.blockers:
            if b.number == number:
                return b
        raise KeyError(number)

    def facts(self) -> dict[str, FactValue]:
        """Return WP01's facts this half knows.

        ``blockers``; per blocker N ``blocker_N_state`` (open/closed, or missing)
        and ``blocker_N_closer`` (``owner/repo@sha`` of the first proving closer,
        empty when none).  ``blocker_N_verdict`` is left to the fix audit.
        """
        out: dict[str, FactValue] = {"blockers": ",".join(str(b.number) for b in self.blockers)}
        for b in self.blockers:
            out[f"blocker_{b.number}_state"] = b.issue_state or b.state.value
            out[f"blocker_{b.number}_closer"] = closer_ref(b.closers[0]) if b.closers else ""
        return out


def closer_ref(closer: Closer) -> str:
    """Return ``owner/repo@sha`` (or ``owner/repo#PR`` when the PR has no merge commit)."""
    if closer.sha:
        return f"{closer.repo}@{closer.sha}"
    return f"{closer.repo}#{closer.pr_number}"


def _proving(closer: Closer, allowed: Collection[str] | None) -> bool:
    if closer.how not in _PROVING or not closer.sha:
        return False
    if closer.how == "cross-referenced-pr" and closer.merged is not True:
        return False
    return allowed is None or closer.repo.lower() in allowed


def _verdict(
    snapshot: IssueSnapshot, state: BlockerState, reason: str, closers: tuple[Closer, ...] = ()
) -> BlockerVerdict:
    return BlockerVerdict(
        repo=snapshot.repo,
        number=snapshot.number,
        state=state,
        reason=reason,
        issue_state=snapshot.state,
        state_reason=snapshot.state_reason,
        closers=closers,
        candidates=snapshot.closers,
    )


def _judge(snapshot: IssueSnapshot, allowed: Mapping[str, str] | None) -> BlockerVerdict:
    where = f"{snapshot.repo}#{snapshot.number}"
    if snapshot.state != "closed":
        return _verdict(snapshot, BlockerState.OPEN, f"{where} is still open")
    if snapshot.state_reason == "not_planned":
        return _verdict(snapshot, BlockerState.NOT_PLANNED, f"{where} was closed as not planned, not as completed")
    if snapshot.state_reason == "duplicate":
        return _verdict(
            snapshot, BlockerState.DUPLICATE, f"{where} was closed as a duplicate, not as completed by a fix"
        )
    proving: tuple[Closer, ...] = ()
    for c in snapshot.closers:
        # One change found twice (a PR merge whose closed event also names the commit) is audited once.
        if _proving(c, allowed) and all((c.repo.lower(), c.sha) != (p.repo.lower(), p.sha) for p in proving):
            proving = (*proving, c)
    if not proving:
        seen = ", ".join(f"{c.how} {closer_ref(c)}" for c in snapshot.closers) or "none"
        scope = f" in {', '.join(sorted(allowed.values()))}" if allowed is not None else ""
        reason = (
            f"{where} was closed with no linked change{scope} (no closing commit, no merged pull request; "
            f"candidates seen: {seen})"
        )
        return _verdict(snapshot, BlockerState.NO_LINKED_CHANGE, reason)
    refs = ", ".join(f"{closer_ref(c)} ({c.how})" for c in proving)
    return _verdict(snapshot, BlockerState.CLOSED_BY_CHANGE, f"{where} closed as completed by {refs}", proving)


def check_blockers_closed(
    snapshots: Iterable[IssueSnapshot],
    *,
    expected: Sequence[tuple[str, int]] | None = None,
    repos: Collection[str] | None = None,
) -> BlockersVerdict:
    """Judge WP01's first half: every blocker CLOSED as completed by a change.

    *expected* (``(repo, number)`` pairs) names the blockers that must be present;
    a missing one is a *failed* stop, and an empty list of blockers never passes.
    *repos* limits where a closing change may live (the CLI repository and its
    siblings); None accepts any repository.

    Open blockers make a *waiting* stop naming every open one; otherwise any
    not_planned, duplicate or change-less closing makes a *failed* stop.
    """
    snaps = list(snapshots)
    allowed = {r.lower(): r for r in repos} if repos is not None else None
    verdicts = [_judge(s, allowed) for s in snaps]
    present = {(s.repo.lower(), s.number) for s in snaps}
    verdicts.extend(
        BlockerVerdict(
            repo=repo,
            number=number,
            state=BlockerState.MISSING,
            reason=f"{repo}#{number} was not read; every blocker must be checked",
        )
        for repo, number in expected or ()
        if (repo.lower(), number) not in present
    )
    blockers = tuple(verdicts)
    if not blockers:
        return BlockersVerdict(
            blockers, StopKind.FAILED, CONDITION_NOT_FIXED, "no blockers to check; zero checks never pass"
        )
    open_ = [b for b in blockers if b.state is BlockerState.OPEN]
    if open_:
        names = ", ".join(f"{b.repo}#{b.number}" for b in open_)
        reason = f"still open: {names}" + _others(blockers, open_)
        return BlockersVerdict(blockers, StopKind.WAITING, CONDITION_OPEN, reason)
    bad = [b for b in blockers if not b.ok]
    if bad:
        return BlockersVerdict(blockers, StopKind.FAILED, CONDITION_NOT_FIXED, "; ".join(b.reason for b in bad))
    return BlockersVerdict(blockers, None, None, "; ".join(b.reason for b in blockers))


def _others(blockers: Sequence[BlockerVerdict], shown: Sequence[BlockerVerdict]) -> str:
    rest = [b.reason for b in blockers if not b.ok and b not in shown]
    return f"; also: {'; '.join(rest)}" if rest else ""


# ------------------------------------------------------------------ which closing counts

_REPO_IN_URL: Final = re.compile(r"/repos/(?P<repo>[^/]+/[^/]+)/")


def repo_from_url(url: str | None, default: str) -> str:
    """Return the ``owner/name`` in a GitHub API *url*, else *default*."""
    m = _REPO_IN_URL.search(url or "")
    return m["repo"] if m else default


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def closers_from_timeline(
    repo: str,
    timeline: Iterable[Mapping[str, Any]],
    pulls: Mapping[str, Mapping[str, Any]],
) -> tuple[Closer, ...]:
    """Return every candidate closer of the issue's current closing, with how it was found.

    Only what happened after the last ``reopened`` entry counts: a closing that
    was undone by a re-open proves nothing about the current one.

    * ``closed-event``: a ``closed`` entry's ``commit_id`` (repository from its ``commit_url``);
    * ``cross-referenced-pr``: a ``cross-referenced`` entry from a pull request in any
      repository, looked up in *pulls* (PR API URL -> PR JSON) for ``merged`` and
      ``merge_commit_sha``; an unmerged PR is listed with ``merged=False``; a PR
      merged before the last re-open is left out;
    * ``referenced-commit``: a ``referenced`` entry's ``commit_id``.
    """
    entries = list(timeline)
    last_reopen: dt.datetime | None = None
    start = 0
    for i, e in enumerate(entries):
        if e.get("event") == "reopened":
            start = i + 1
            last_reopen = _parse_time(e.get("created_at"))
    found: list[Closer] = []
    for i, e in enumerate(entries):
        kind = e.get("event")
        if kind == "cross-referenced":
            closer = _pr_closer(repo, e, pulls, last_reopen)
            if closer is not None:
                found.append(closer)
            continue
        if i < start:
            continue
        sha = e.get("commit_id")
        if kind in {"closed", "referenced"} and isinstance(sha, str) and sha:
            how = "closed-event" if kind == "closed" else "referenced-commit"
            found.append(Closer(how=how, repo=repo_from_url(e.get("commit_url"), repo), sha=sha))
    unique: list[Closer] = []
    for c in found:
        if c not in unique:
            unique.append(c)
    return tuple(unique)


def _pr_closer(
    repo: str, entry: Mapping[str, Any], pulls: Mapping[str, Mapping[str, Any]], last_reopen: dt.datetime | None
) -> Closer | None:
    source = entry.get("source") or {}
    issue = source.get("issue") if isinstance(source, Mapping) else None
    if not isinstance(issue, Mapping) or not isinstance(issue.get("pull_request"), Mapping):
        return None
    pr_url = issue["pull_request"].get("url")
    repository = issue.get("repository")
    pr_repo = repository.get("full_name") if isinstance(repository, Mapping) else None
    pr_repo = pr_repo or repo_from_url(pr_url, repo)
    pr = pulls.get(pr_url) if isinstance(pr_url, str) else None
    merged = bool(pr.get("merged")) if pr is not None else False
    merged_at = _parse_time(pr.get("merged_at")) if pr is not None else None
    if merged and last_reopen is not None and merged_at is not None and merged_at < last_reopen:
        return None
    sha = pr.get("merge_commit_sha") if pr is not None and merged else None
    number = issue.get("number")
    return Closer(
        how="cross-referenced-pr",
        repo=pr_repo,
        sha=sha if isinstance(sha, str) else None,
        pr_number=number if isinstance(number, int) else None,
        merged=merged,
    )


# --------------------------------------------------------------------------- the closer decision


@frozen
class CloserAudit:
    """One closer of a blocker with its fix audit's verdict (``checks.fix_substance.Verdict`` value)."""

    closer: Closer
    commit: str
    verdict: str
    substantive: bool


@frozen
class CloserDecision:
    """Which closer counts for one blocker, and whether the blocker passes on it."""

    number: int
    audits: tuple[CloserAudit, ...]
    chosen: int  # index into audits

    @property
    def counted(self) -> CloserAudit:
        """The closer that counts."""
        return self.audits[self.chosen]

    @property
    def passed(self) -> bool:
        """True when the closer that counts is substantive."""
        return self.counted.substantive


def choose_closer(number: int, audits: Sequence[CloserAudit]) -> CloserDecision:
    """Decide which of blocker *number*'s closers counts.

    The last substantive closer counts: a blocker re-opened and closed again by a
    sibling repository's fix passes on that fix.  When none is substantive, the last
    closer counts and the blocker fails with its verdict.

    Raises:
        ValueError: *audits* is empty (a blocker closed by a change has a closer).
    """
    if not audits:
        msg = f"#{number}: no closer was audited"
        raise ValueError(msg)
    good = [i for i, a in enumerate(audits) if a.substantive]
    return CloserDecision(number, tuple(audits), good[-1] if good else len(audits) - 1)


def audit_stop(decisions: Iterable[CloserDecision]) -> str | None:
    """Return the stop condition of the fix audit, or ``None`` when every blocker passed.

    Logging-only when every failing blocker's counted closer is logging-only; otherwise
    "not substantive or not proven".
    """
    failing = [d for d in decisions if not d.passed]
    if not failing:
        return None
    if all(d.counted.verdict == _LOGGING_ONLY for d in failing):
        return CONDITION_LOGGING_ONLY
    return CONDITION_NOT_SUBSTANTIVE
