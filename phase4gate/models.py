"""Frozen, validated models shared by every work package.

* the gate's own records: :class:`StepOutcome` (what a WP step decided),
  :class:`StepResult` (the same, stamped with the WP id and times) and
  :class:`GateReport`;
* GitHub snapshots: :class:`IssueSnapshot`, :class:`Closer`, :class:`Comment`.

The canary harness's run file (:class:`CanaryRunResult`, its reader
:func:`parse_run_file`, :class:`RunWindow`, :class:`RunOutcome`, formerly
``Outcome``) lives in :mod:`phase4gate.runfile` and is re-exported here.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from typing import Final

import attrs
from attrs import field, frozen

from phase4gate.errors import ExitCode, most_severe
from phase4gate.runfile import (
    DEFAULT_SCENARIO_IDS,
    CanaryRunResult,
    Outcome,
    RunFileSpelling,
    RunOutcome,
    RunWindow,
    ScenarioResult,
    ScenarioStatus,
    parse_cli_version,
    parse_run_file,
    run_number_from_filename,
)

__all__ = [
    "DEFAULT_SCENARIO_IDS",
    "WP_IDS",
    "CanaryRunResult",
    "Closer",
    "Comment",
    "EvidenceRef",
    "FactValue",
    "GateReport",
    "IssueSnapshot",
    "Outcome",
    "RunFileSpelling",
    "RunOutcome",
    "RunWindow",
    "ScenarioResult",
    "ScenarioStatus",
    "StepOutcome",
    "StepResult",
    "StepStatus",
    "StopKind",
    "parse_cli_version",
    "parse_run_file",
    "run_number_from_filename",
]

WP_IDS: Final = ("WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07", "WP08")

FactValue = str | int | float | bool | None

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class StepStatus(enum.StrEnum):
    """How a work package ended."""

    PASSED = "passed"
    STOPPED = "stopped"
    ERROR = "error"
    SKIPPED = "skipped"


class StopKind(enum.StrEnum):
    """Why a stop fired.

    ``waiting``: a precondition is not met yet (a blocker open, no newer RC, the
    SaaS not ready); a later re-run may pass with no change to the release.
    ``failed``: evidence against the release or the fix.
    """

    WAITING = "waiting"
    FAILED = "failed"


def _check_wp(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in WP_IDS:
        msg = f"{attribute.name} must be one of {', '.join(WP_IDS)}, got {value!r}"
        raise ValueError(msg)


def _check_sha256(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not _SHA256_RE.match(value):
        msg = f"{attribute.name} must be 64 lowercase hex digits, got {value!r}"
        raise ValueError(msg)


def _check_aware(_inst: object, attribute: attrs.Attribute[dt.datetime], value: dt.datetime) -> None:
    if value.tzinfo is None:
        msg = f"{attribute.name} must be timezone-aware, got {value.isoformat()!r}"
        raise ValueError(msg)


@frozen
class EvidenceRef:
    """A file of evidence, by its path relative to the run folder and its sha256."""

    path: str = field(validator=attrs.validators.min_len(1))
    sha256: str = field(validator=_check_sha256)


@frozen
class StepOutcome:
    """What a work package decided, before the engine stamps it with its id and times.

    Build one with :meth:`passed`, :meth:`stopped` or :meth:`error`.
    """

    status: StepStatus = field(converter=StepStatus)
    reason: str
    stop_kind: StopKind | None = None
    stop_condition: str | None = None
    facts: dict[str, FactValue] = field(factory=dict)
    evidence: tuple[EvidenceRef, ...] = ()

    def __attrs_post_init__(self) -> None:
        _check_stop_fields(self.status, self.stop_kind, self.stop_condition, self.reason)

    @classmethod
    def passed(
        cls,
        reason: str,
        *,
        facts: Mapping[str, FactValue] | None = None,
        evidence: tuple[EvidenceRef, ...] = (),
    ) -> StepOutcome:
        """Return a passing outcome."""
        return cls(StepStatus.PASSED, reason, facts=dict(facts or {}), evidence=evidence)

    @classmethod
    def stopped(
        cls,
        kind: StopKind,
        condition: str,
        reason: str,
        *,
        facts: Mapping[str, FactValue] | None = None,
        evidence: tuple[EvidenceRef, ...] = (),
    ) -> StepOutcome:
        """Return a stop: *condition* is the plan's stop condition, *reason* the observed why."""
        return cls(
            StepStatus.STOPPED,
            reason,
            stop_kind=kind,
            stop_condition=condition,
            facts=dict(facts or {}),
            evidence=evidence,
        )

    @classmethod
    def error(
        cls,
        reason: str,
        *,
        facts: Mapping[str, FactValue] | None = None,
        evidence: tuple[EvidenceRef, ...] = (),
    ) -> StepOutcome:
        """Return "could not decide" (infrastructure): never a pass."""
        return cls(StepStatus.ERROR, reason, facts=dict(facts or {}), evidence=evidence)


def _check_stop_fields(status: StepStatus, kind: StopKind | None, condition: str | None, reason: str) -> None:
    if status is StepStatus.STOPPED:
        if kind is None or not condition or not reason:
            msg = "a stopped step needs stop_kind, stop_condition and reason"
            raise ValueError(msg)
    elif kind is not None or condition is not None:
        msg = f"stop_kind/stop_condition are only for stopped steps, not {status.value}"
        raise ValueError(msg)
    if status is StepStatus.ERROR and not reason:
        msg = "an error step needs a reason"
        raise ValueError(msg)


@frozen
class StepResult:
    """One work package's result as journalled and reported."""

    wp: str = field(validator=_check_wp)
    status: StepStatus = field(converter=StepStatus)
    reason: str
    started_at: dt.datetime = field(validator=_check_aware)
    finished_at: dt.datetime = field(validator=_check_aware)
    stop_kind: StopKind | None = None
    stop_condition: str | None = None
    facts: dict[str, FactValue] = field(factory=dict)
    evidence: tuple[EvidenceRef, ...] = ()
    # A dry run only described this WP: it decided nothing and is never reused as a pass.
    dry_run: bool = False
    # The exit code of the exception that ended the step (ConfigError: 2), kept as an ExitCode;
    # None means "the one its status implies" (stopped 1, error 3).
    exit_code: ExitCode | None = field(default=None, converter=attrs.converters.optional(ExitCode))

    def __attrs_post_init__(self) -> None:
        _check_stop_fields(self.status, self.stop_kind, self.stop_condition, self.reason)
        if self.finished_at < self.started_at:
            msg = f"{self.wp}: finished_at is before started_at"
            raise ValueError(msg)

    @classmethod
    def from_outcome(  # noqa: PLR0913 - the outcome, its stamp, and two keyword knobs
        cls,
        wp: str,
        outcome: StepOutcome,
        started_at: dt.datetime,
        finished_at: dt.datetime,
        *,
        dry_run: bool = False,
        exit_code: ExitCode | None = None,
    ) -> StepResult:
        """Stamp *outcome* with its WP id and times (and the exit code of the exception that ended it)."""
        return cls(
            wp=wp,
            status=outcome.status,
            reason=outcome.reason,
            started_at=started_at,
            finished_at=finished_at,
            stop_kind=outcome.stop_kind,
            stop_condition=outcome.stop_condition,
            facts=dict(outcome.facts),
            evidence=outcome.evidence,
            dry_run=dry_run,
            exit_code=exit_code,
        )

    @property
    def outcome_exit_code(self) -> ExitCode:
        """The exit code this result stands for: its own, else the one its status implies."""
        if self.exit_code is not None:
            return self.exit_code
        if self.status is StepStatus.STOPPED:
            return ExitCode.STOPPED
        if self.status is StepStatus.ERROR:
            legacy = self.facts.get("exit_code")  # journals written before the field existed
            known = {int(c) for c in ExitCode}
            if isinstance(legacy, int) and not isinstance(legacy, bool) and legacy in known:
                return ExitCode(legacy)
            return ExitCode.INFRA
        return ExitCode.PASSED

    @property
    def duration_seconds(self) -> float:
        """Wall time of the step."""
        return (self.finished_at - self.started_at).total_seconds()


@frozen
class GateReport:
    """Every WP's result of one gate run, in WP order."""

    run_id: str
    started_at: dt.datetime = field(validator=_check_aware)
    finished_at: dt.datetime = field(validator=_check_aware)
    steps: tuple[StepResult, ...]
    dry_run: bool = False
    requested: tuple[str, ...] = WP_IDS

    @property
    def verdict(self) -> StepStatus:
        """``passed`` only when every requested WP passed; else error, stopped or skipped."""
        mine = [s for s in self.steps if s.wp in self.requested]
        if any(s.status is StepStatus.ERROR for s in mine):
            return StepStatus.ERROR
        if any(s.status is StepStatus.STOPPED for s in mine):
            return StepStatus.STOPPED
        done = {s.wp for s in mine if s.status is StepStatus.PASSED and not s.dry_run}
        if self.requested and done == set(self.requested):
            return StepStatus.PASSED
        return StepStatus.SKIPPED

    @property
    def exit_code(self) -> ExitCode:
        """The most severe exit code among the requested WPs that stopped or erred (see ``errors.most_severe``).

        0 passed (or a dry run that hit no stop), 1 stopped, 2 a configuration error
        inside a step, 3 could not decide, 70 internal error.
        """
        verdict = self.verdict
        if verdict is StepStatus.PASSED:
            return ExitCode.PASSED
        if verdict is StepStatus.SKIPPED and self.dry_run:
            # A dry run that hit no stop did what was asked (describe); its verdict stays "skipped".
            return ExitCode.PASSED
        ended = [
            s.outcome_exit_code
            for s in self.steps
            if s.wp in self.requested and s.status in {StepStatus.STOPPED, StepStatus.ERROR}
        ]
        return most_severe(ended) if ended else ExitCode.INFRA

    def step(self, wp: str) -> StepResult | None:
        """Return the result of *wp*, if it ran or was skipped."""
        for s in self.steps:
            if s.wp == wp:
                return s
        return None


# --------------------------------------------------------------------------- GitHub snapshots


@frozen
class Closer:
    """A change that may have closed an issue, and how it was found.

    ``how`` is one of ``closed-event`` (a ``closed`` event's ``commit_id``),
    ``cross-referenced-pr`` (a merged PR that references the issue, in any
    repository), ``referenced-commit`` (a ``referenced`` event's commit).
    """

    how: str
    repo: str
    sha: str | None = None
    pr_number: int | None = None
    merged: bool | None = None


@frozen
class Comment:
    """An issue comment as the gate needs it."""

    id: int
    author: str | None
    body: str
    created_at: str
    updated_at: str | None = None
    url: str | None = None


@frozen
class IssueSnapshot:
    """An issue's state when read, with every candidate closer."""

    repo: str
    number: int
    state: str = field(validator=attrs.validators.in_(("open", "closed")))
    title: str = ""
    state_reason: str | None = None
    closed_at: str | None = None
    closed_by: str | None = None
    closers: tuple[Closer, ...] = ()
    url: str | None = None
