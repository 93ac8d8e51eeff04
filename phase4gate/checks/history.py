"""The gate across release candidates: every run folder of an evidence root, summarised per RC.

Pure: the adapter (:mod:`phase4gate.adapters.history_reader`) reads each run folder's
journal and canary run files into :class:`FolderRead` values; these functions turn them
into a :class:`History` and render it as Markdown (GitHub tables, ✅/❌ cells, no HTML).

Per RC (newest first): each gate run (id, start, end, where it stopped, waiting or
failed, the reason on one line, the attempt folders it wrote); a matrix of canary
attempts x scenarios, each failing cell triaged with the run's own configured
signatures (:func:`phase4gate.checks.canary.triage_failure`: a signature name, or a
*new signature*); the blockers each signature maps to; every unknown signature quoted
once with the runs it appeared in.  Then which RC cleared the whole gate (every WP
passed, not a dry run), and whether the newest RC's latest preflight is older than the
preflight age rule allows.

The JSON shape is :data:`SCHEMA` (``phase4gate.history/1``): the unstructured
:class:`History`; it is documented in the README.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Final

from attrs import field, frozen
from packaging.version import InvalidVersion, Version

from phase4gate.checks.canary import triage_failure
from phase4gate.checks.comments import GITHUB_BODY_LIMIT, render_marker
from phase4gate.config import SignatureConfig
from phase4gate.errors import redact
from phase4gate.models import DEFAULT_SCENARIO_IDS, WP_IDS, CanaryRunResult, GateReport, ScenarioStatus, StepStatus

__all__ = [
    "DEFAULT_MAX_AGE_HOURS",
    "HISTORY_GATE_SUFFIX",
    "SCHEMA",
    "AttemptRead",
    "CellStatus",
    "Cleared",
    "FolderKind",
    "FolderProblem",
    "FolderRead",
    "Freshness",
    "GateRunSummary",
    "History",
    "MatrixCell",
    "MatrixRow",
    "RCHistory",
    "RunFileRead",
    "SignatureSummary",
    "UnknownSignature",
    "attempt_rc",
    "history_comment_body",
    "history_gate_id",
    "normalise_rc",
    "render_history_markdown",
    "summarise_history",
]

SCHEMA: Final = "phase4gate.history/1"
# SaaSConfig.max_preflight_age_hours' default: the rule when no run recorded one.
DEFAULT_MAX_AGE_HOURS: Final = 24.0
# The history comment's marker carries "<gate id>-history": the publisher then never
# mistakes the #1038 evidence comment (WP08, "<gate id>") for the history comment.
HISTORY_GATE_SUFFIX: Final = "-history"
_REASON_LIMIT: Final = 240
# GitHub's comment limit, less room for the marker line.
_COMMENT_BUDGET: Final = GITHUB_BODY_LIMIT - 400
_ATTEMPT_RE = re.compile(r"^(?P<rc>.+?)(?P<single>-single)?-attempt(?P<n>[0-9]+)$")
_RC_RE = re.compile(r"(?P<pre>(?:a|b|rc))(?P<n>[0-9]+)$")


class FolderKind(enum.StrEnum):
    """What a folder under the evidence root is."""

    RUN = "run"
    DAMAGED = "damaged"
    FOREIGN = "foreign"


class CellStatus(enum.StrEnum):
    """One scenario of one canary run, as the matrix shows it."""

    PASS = "pass"  # noqa: S105 - the harness's word, not a password
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    MISSING = "missing"


# --------------------------------------------------------------------------- input (from the adapter)


@frozen
class RunFileRead:
    """One ``runs/run-N.json`` of an attempt folder as the adapter found it."""

    path: str  # relative to the run folder: "rc16-attempt1/runs/run-1.json"
    run_number: int
    run: CanaryRunResult | None = None
    problem: str | None = None  # unreadable, malformed, or altered since written


@frozen
class AttemptRead:
    """One attempt folder of a run folder and its run files, in run order."""

    name: str
    run_files: tuple[RunFileRead, ...] = ()


@frozen
class FolderRead:
    """One folder under the evidence root: a gate run (its folded journal), or damaged, or foreign."""

    name: str
    path: str
    kind: FolderKind
    problem: str | None = None
    report: GateReport | None = None
    # How the journal ended: "finished" (gate-end), "interrupted", or "unfinished".
    ending: str = "finished"
    signatures: tuple[SignatureConfig, ...] = ()
    scenarios: tuple[int, ...] = DEFAULT_SCENARIO_IDS
    max_preflight_age_hours: float | None = None
    attempts: tuple[AttemptRead, ...] = ()
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- output (the JSON shape)


@frozen
class GateRunSummary:
    """One gate run: when, where it stopped and why (one line), and the attempt folders it wrote."""

    run_id: str
    path: str
    started_at: dt.datetime
    finished_at: dt.datetime
    verdict: str  # passed / stopped / error / skipped
    ending: str  # finished / interrupted / unfinished
    stopped_at: str | None  # the WP that stopped or erred
    stop_kind: str | None  # waiting / failed / error
    stop_condition: str | None
    reason: str  # one line
    attempts: tuple[str, ...]
    rc: str | None
    rc_version: str | None
    dry_run: bool = False
    notes: tuple[str, ...] = ()
    # Every WP of the plan (WP01-WP08) was asked for and passed: only such a run clears an RC.
    whole_gate: bool = False


@frozen
class MatrixCell:
    """One scenario of one canary run: its status and, when failing, the signature it matched."""

    scenario_id: int
    status: CellStatus
    signature: str | None = None  # the configured signature's name; None with new_signature
    new_signature: bool = False
    blocker: int | None = None
    quote: str | None = None


@frozen
class MatrixRow:
    """One canary run of one attempt folder."""

    attempt: str
    wp: str  # WP04 (single run) or WP05 (the four-run protocol)
    run_number: int | None
    run_id: str  # the gate run
    path: str  # the run file, relative to the evidence root
    outcome: str | None  # the run file's outcome; None when it could not be read
    problem: str | None
    cells: tuple[MatrixCell, ...]


@frozen
class SignatureSummary:
    """A configured signature that failed cells of this RC, and the blocker it maps to."""

    name: str
    blocker: int | None
    scenarios: tuple[int, ...]
    cells: int
    runs: tuple[str, ...]  # gate run ids


@frozen
class UnknownSignature:
    """A failure text no configured signature matched, quoted once, with where it appeared."""

    quote: str
    scenarios: tuple[int, ...]
    runs: tuple[str, ...]  # gate run ids
    seen_in: tuple[str, ...]  # "<run id>/<attempt>/runs/run-N.json S<k>"


@frozen
class Cleared:
    """The run in which an RC cleared the whole gate."""

    rc: str
    rc_version: str | None
    run_id: str
    evidence_path: str
    finished_at: dt.datetime


@frozen
class Freshness:
    """Whether the newest RC's latest preflight is older than the preflight age rule allows."""

    rc: str
    max_age_hours: float
    rule_from: str  # "--config", "run <id>", or "default"
    checked_at: dt.datetime
    preflight_at: dt.datetime | None
    preflight_run: str | None
    age_hours: float | None
    stale: bool
    reason: str


@frozen
class RCHistory:
    """Everything the evidence root says about one release candidate."""

    rc: str
    rc_version: str | None
    runs: tuple[GateRunSummary, ...]
    matrix: tuple[MatrixRow, ...]
    signatures: tuple[SignatureSummary, ...]
    unknown_signatures: tuple[UnknownSignature, ...]
    cleared: Cleared | None = None


@frozen
class FolderProblem:
    """A folder that is not a readable gate run: damaged (a journal that cannot be read) or foreign."""

    name: str
    path: str
    kind: FolderKind
    problem: str


@frozen
class History:
    """The gate across release candidates (JSON schema ``phase4gate.history/1``)."""

    evidence_root: str
    generated_at: dt.datetime
    rcs: tuple[RCHistory, ...]  # newest RC first
    runs_without_rc: tuple[GateRunSummary, ...]
    cleared: Cleared | None
    freshness: Freshness | None
    other_folders: tuple[FolderProblem, ...]
    since: dt.datetime | None = None
    rc_filter: str | None = None
    folders_read: int = 0
    schema: str = field(default=SCHEMA)

    def __attrs_post_init__(self) -> None:
        if self.schema != SCHEMA:
            msg = f"schema must be {SCHEMA!r}, got {self.schema!r}"
            raise ValueError(msg)


# --------------------------------------------------------------------------- helpers


def normalise_rc(text: str) -> str:
    """Return the short RC tag (``rc16``) of ``rc16``, ``3.2.0rc16`` or ``v3.2.0rc16``; else *text* lowered."""
    raw = text.strip().lower()
    m = _RC_RE.search(raw)
    if m:
        return f"{m.group('pre')}{m.group('n')}"
    return raw


def attempt_rc(name: str) -> tuple[str, str] | None:
    """Return (RC short tag, WP) of an attempt folder name: ``rc16-single-attempt2`` -> ("rc16", "WP04")."""
    m = _ATTEMPT_RE.match(name)
    if not m:
        return None
    return m.group("rc"), "WP04" if m.group("single") else "WP05"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _rc_key(rc: RCHistory) -> tuple[int, Version | None, str]:
    if rc.rc_version:
        try:
            return (1, Version(rc.rc_version), rc.rc)
        except InvalidVersion:
            pass
    m = _RC_RE.search(rc.rc)
    return (0, Version(f"0{m.group('pre')}{m.group('n')}") if m else None, rc.rc)


def _sort_newest_first(rcs: Iterable[RCHistory]) -> list[RCHistory]:
    items = list(rcs)
    with_version = [r for r in items if _rc_key(r)[1] is not None]
    without = [r for r in items if _rc_key(r)[1] is None]
    with_version.sort(key=lambda r: (_rc_key(r)[0], _rc_key(r)[1]), reverse=True)
    return [*with_version, *sorted(without, key=lambda r: r.rc, reverse=True)]


def _fact_str(report: GateReport, wp: str, key: str) -> str | None:
    step = report.step(wp)
    if step is None:
        return None
    value = step.facts.get(key)
    return str(value) if value not in {None, ""} else None


def _summarise_run(folder: FolderRead, report: GateReport) -> GateRunSummary:
    halted = next((s for s in report.steps if s.status in {StepStatus.STOPPED, StepStatus.ERROR}), None)
    verdict = report.verdict.value
    if halted is not None:
        kind = halted.stop_kind.value if halted.stop_kind else "error"
        reason = redact(_one_line(halted.reason))
        condition = halted.stop_condition
    else:
        kind = None
        condition = None
        passed = sum(1 for s in report.steps if s.status is StepStatus.PASSED)
        reason = (
            f"every requested WP passed ({passed} of {len(report.requested)})"
            if verdict == StepStatus.PASSED.value
            else f"{passed} of {len(report.requested)} requested WPs passed; none stopped"
        )
        if report.dry_run:
            reason = f"dry run: {reason}; nothing was decided"
    rc = _fact_str(report, "WP02", "rc_short")
    version = _fact_str(report, "WP02", "rc_version")
    if rc is None and version is not None:
        rc = normalise_rc(version)
    if rc is None:
        tags = [t for t in (attempt_rc(a.name) for a in folder.attempts) if t is not None]
        rc = tags[-1][0] if tags else None
    return GateRunSummary(
        run_id=report.run_id or folder.name,
        path=folder.path,
        started_at=report.started_at,
        finished_at=report.finished_at,
        verdict=verdict,
        ending=folder.ending,
        stopped_at=halted.wp if halted else None,
        stop_kind=kind,
        stop_condition=condition,
        reason=reason,
        attempts=tuple(a.name for a in folder.attempts),
        rc=rc,
        rc_version=version,
        dry_run=report.dry_run,
        notes=folder.notes,
        whole_gate=verdict == StepStatus.PASSED.value
        and all((step := report.step(wp)) is not None and step.status is StepStatus.PASSED for wp in WP_IDS),
    )


def _cells(
    run_file: RunFileRead, folder: FolderRead, scenarios: tuple[int, ...]
) -> tuple[tuple[MatrixCell, ...], str | None]:
    run = run_file.run
    if run is None:
        return tuple(MatrixCell(sid, CellStatus.MISSING) for sid in scenarios), None
    by_id = {s.scenario_id: s for s in run.scenarios}
    cells: list[MatrixCell] = []
    for sid in sorted(set(scenarios) | set(by_id)):
        s = by_id.get(sid)
        if s is None:
            cells.append(MatrixCell(sid, CellStatus.MISSING))
            continue
        if s.status is ScenarioStatus.PASS:
            cells.append(MatrixCell(sid, CellStatus.PASS))
            continue
        match = triage_failure(
            s.failure_reason,
            scenario_id=sid,
            run_number=run_file.run_number,
            status=s.status.value,
            signatures=folder.signatures,
        )
        status = CellStatus(s.status.value)
        if status is CellStatus.SKIPPED:
            # A skip is never a pass, but it is not a failure signature either.
            cells.append(MatrixCell(sid, status, quote=_redacted(match.quote)))
            continue
        cells.append(
            MatrixCell(
                sid,
                status,
                signature=match.signature,
                new_signature=match.signature is None,
                blocker=match.blocker,
                quote=_redacted(match.quote),
            )
        )
    return tuple(cells), run.outcome.value


def _redacted(text: str | None) -> str | None:
    """Run files are kept byte for byte; what history quotes from them is redacted (it may be posted)."""
    return None if text is None else redact(text)


def _matrix(folder: FolderRead, run_id: str, root_rel: str) -> list[tuple[str, MatrixRow]]:
    rows: list[tuple[str, MatrixRow]] = []
    for attempt in folder.attempts:
        tag = attempt_rc(attempt.name)
        if tag is None:
            continue
        rc, wp = tag
        if not attempt.run_files:
            rows.append(
                (
                    rc,
                    MatrixRow(
                        attempt=attempt.name,
                        wp=wp,
                        run_number=None,
                        run_id=run_id,
                        path=f"{root_rel}/{attempt.name}",
                        outcome=None,
                        problem="no run file in the attempt folder",
                        cells=tuple(MatrixCell(sid, CellStatus.MISSING) for sid in folder.scenarios),
                    ),
                )
            )
            continue
        for rf in attempt.run_files:
            cells, outcome = _cells(rf, folder, folder.scenarios)
            rows.append(
                (
                    rc,
                    MatrixRow(
                        attempt=attempt.name,
                        wp=wp,
                        run_number=rf.run_number,
                        run_id=run_id,
                        path=f"{root_rel}/{rf.path}",
                        outcome=outcome,
                        problem=rf.problem,
                        cells=cells,
                    ),
                )
            )
    return rows


def _signatures(rows: Sequence[MatrixRow]) -> tuple[tuple[SignatureSummary, ...], tuple[UnknownSignature, ...]]:
    known: dict[str, tuple[int | None, list[int], list[str], int]] = {}
    unknown: dict[str, tuple[list[int], list[str], list[str]]] = {}
    for row in rows:
        for c in row.cells:
            if c.status not in {CellStatus.FAIL, CellStatus.ERROR}:
                continue
            if c.signature is not None:
                blocker, scen, runs, n = known.get(c.signature, (c.blocker, [], [], 0))
                if c.scenario_id not in scen:
                    scen.append(c.scenario_id)
                if row.run_id not in runs:
                    runs.append(row.run_id)
                known[c.signature] = (blocker, scen, runs, n + 1)
            else:
                quote = c.quote or "(no failure text)"
                scen, runs, seen = unknown.setdefault(quote, ([], [], []))
                if c.scenario_id not in scen:
                    scen.append(c.scenario_id)
                if row.run_id not in runs:
                    runs.append(row.run_id)
                seen.append(f"{row.path} S{c.scenario_id}")
    return (
        tuple(
            SignatureSummary(name, blocker, tuple(sorted(scen)), n, tuple(runs))
            for name, (blocker, scen, runs, n) in known.items()
        ),
        tuple(
            UnknownSignature(quote, tuple(sorted(scen)), tuple(runs), tuple(seen))
            for quote, (scen, runs, seen) in unknown.items()
        ),
    )


def _rule(folders: Sequence[FolderRead], runs: Sequence[GateRunSummary], override: float | None) -> tuple[float, str]:
    if override is not None:
        return override, "--config"
    by_id = {f.report.run_id or f.name: f for f in folders if f.report is not None}
    for run in sorted(runs, key=lambda r: r.started_at, reverse=True):
        recorded = by_id.get(run.run_id)
        if recorded is not None and recorded.max_preflight_age_hours is not None:
            return recorded.max_preflight_age_hours, f"run {run.run_id}"
    return DEFAULT_MAX_AGE_HOURS, "default"


def _preflight_at(folder: FolderRead) -> dt.datetime | None:
    report = folder.report
    step = report.step("WP03") if report is not None else None
    if step is None or step.status is not StepStatus.PASSED or step.dry_run:
        return None
    raw = step.facts.get("preflight_at")
    if isinstance(raw, str):
        try:
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return step.finished_at


def _freshness(
    newest: RCHistory, folders: Sequence[FolderRead], now: dt.datetime, rule: tuple[float, str]
) -> Freshness:
    max_age, source = rule
    by_id = {f.report.run_id or f.name: f for f in folders if f.report is not None}
    best: tuple[dt.datetime, str] | None = None
    for run in newest.runs:
        folder = by_id.get(run.run_id)
        at = _preflight_at(folder) if folder is not None else None
        if at is not None and (best is None or at > best[0]):
            best = (at, run.run_id)
    if best is None:
        return Freshness(
            rc=newest.rc,
            max_age_hours=max_age,
            rule_from=source,
            checked_at=now,
            preflight_at=None,
            preflight_run=None,
            age_hours=None,
            stale=True,
            reason=f"no passed preflight (WP03) recorded for {newest.rc}; its evidence cannot be fresh",
        )
    at, run_id = best
    age = (now - at).total_seconds() / 3600
    stale = age > max_age
    verdict = "older than" if stale else "within"
    return Freshness(
        rc=newest.rc,
        max_age_hours=max_age,
        rule_from=source,
        checked_at=now,
        preflight_at=at,
        preflight_run=run_id,
        age_hours=round(age, 2),
        stale=stale,
        reason=(
            f"{newest.rc}'s latest preflight ({at.isoformat()}, run {run_id}) is {age:.1f} h old: "
            f"{verdict} the {max_age:g} h rule"
        ),
    )


def summarise_history(  # noqa: PLR0913 - the reader's result plus each option of `phase4gate history`
    folders: Sequence[FolderRead],
    *,
    evidence_root: str,
    now: dt.datetime,
    since: dt.datetime | None = None,
    rc: str | None = None,
    max_age_hours: float | None = None,
) -> History:
    """Summarise every folder of an evidence root per RC, newest RC first.

    *since* keeps gate runs started at or after it; *rc* keeps one RC (``rc16``,
    ``3.2.0rc16`` or ``v3.2.0rc16``); *max_age_hours* overrides the preflight age rule
    (else the newest run's recorded rule, else 24 h).  Damaged and foreign folders are
    listed, never fatal.
    """
    wanted_rc = normalise_rc(rc) if rc else None
    others: list[FolderProblem] = []
    per_rc: dict[str, tuple[list[GateRunSummary], list[MatrixRow]]] = {}
    versions: dict[str, str] = {}
    without_rc: list[GateRunSummary] = []
    all_runs: list[GateRunSummary] = []
    for folder in folders:
        if folder.kind is not FolderKind.RUN or folder.report is None:
            others.append(
                FolderProblem(folder.name, folder.path, folder.kind, folder.problem or "not a gate run folder")
            )
            continue
        summary = _summarise_run(folder, folder.report)
        if since is not None and summary.started_at < since:
            continue
        rows = _matrix(folder, summary.run_id, folder.path)
        rcs_here = {summary.rc} | {r for r, _ in rows}
        rcs_here.discard(None)
        if wanted_rc is not None and wanted_rc not in rcs_here:
            continue
        all_runs.append(summary)
        if not rcs_here:
            without_rc.append(summary)
            continue
        for r in sorted(x for x in rcs_here if x is not None):
            if wanted_rc is not None and r != wanted_rc:
                continue
            runs, matrix = per_rc.setdefault(r, ([], []))
            runs.append(summary)
            matrix.extend(row for rr, row in rows if rr == r)
            if summary.rc == r and summary.rc_version:
                versions[r] = summary.rc_version
    histories: list[RCHistory] = []
    for r, (runs, matrix) in per_rc.items():
        runs.sort(key=lambda s: (s.started_at, s.run_id))
        order = {s.run_id: i for i, s in enumerate(runs)}
        matrix.sort(key=lambda m: (order.get(m.run_id, 0), m.wp, m.attempt, m.run_number or 0))
        known, unknown = _signatures(matrix)
        passed = [s for s in runs if s.whole_gate and not s.dry_run and s.rc == r]
        cleared = None
        if passed:
            last = passed[-1]
            cleared = Cleared(r, last.rc_version, last.run_id, last.path, last.finished_at)
        histories.append(
            RCHistory(
                rc=r,
                rc_version=versions.get(r),
                runs=tuple(runs),
                matrix=tuple(matrix),
                signatures=known,
                unknown_signatures=unknown,
                cleared=cleared,
            )
        )
    ordered = _sort_newest_first(histories)
    cleared_rc = next((h.cleared for h in ordered if h.cleared is not None), None)
    freshness = _freshness(ordered[0], folders, now, _rule(folders, all_runs, max_age_hours)) if ordered else None
    without_rc.sort(key=lambda s: (s.started_at, s.run_id), reverse=True)
    return History(
        evidence_root=evidence_root,
        generated_at=now,
        rcs=tuple(ordered),
        runs_without_rc=tuple(without_rc),
        cleared=cleared_rc,
        freshness=freshness,
        other_folders=tuple(others),
        since=since,
        rc_filter=wanted_rc,
        folders_read=len(folders),
    )


# --------------------------------------------------------------------------- Markdown


_ESCAPE_RE = re.compile(r"([\\|<>*_\[\]`#])")


def _md(text: str) -> str:
    """Escape *text* for a GFM table cell: one line, no HTML, no emphasis, pipes escaped."""
    return _ESCAPE_RE.sub(r"\\\1", _one_line(text))


def _code(text: str) -> str:
    """Return *text* as a code span fit for a table cell (pipes escaped; no backticks inside)."""
    line = _one_line(text)
    if "`" in line:
        return _md(line)
    return "`" + line.replace("|", "\\|") + "`"


def _trim(text: str, limit: int = _REASON_LIMIT) -> str:
    line = _one_line(text)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value is not None else "—"


def _cell(c: MatrixCell) -> str:
    if c.status is CellStatus.PASS:
        return "✅ pass"
    if c.status is CellStatus.SKIPPED:
        return "❌ skip"
    if c.status is CellStatus.MISSING:
        return "❌ missing"
    what = "new signature" if c.new_signature else str(c.signature)
    return f"❌ {c.status.value}: {_md(what)}"


def _runs_table(runs: Sequence[GateRunSummary]) -> list[str]:
    lines = [
        "| gate run | started | ended | verdict | stopped at | kind | reason | attempt folders |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda s: (s.started_at, s.run_id), reverse=True):
        mark = "✅" if r.verdict == StepStatus.PASSED.value else "❌"
        ending = "" if r.ending == "finished" else f" ({r.ending})"
        attempts = ", ".join(_code(a) for a in r.attempts) or "—"
        lines.append(
            f"| {_code(r.run_id)} | {_when(r.started_at)} | {_when(r.finished_at)} | {mark} {r.verdict}{ending} "
            f"| {r.stopped_at or '—'} | {r.stop_kind or '—'} | {_md(_trim(r.reason))} | {attempts} |"
        )
    noted = [r for r in runs if r.notes]
    if noted:
        lines.append("")
        lines += [f"- Reading {_code(r.run_id)}: {_md('; '.join(r.notes))}" for r in noted]
    return lines


def _matrix_table(rows: Sequence[MatrixRow]) -> list[str]:
    scenarios = sorted({c.scenario_id for row in rows for c in row.cells})
    head = " | ".join(f"S{s}" for s in scenarios)
    lines = [f"| attempt | run | gate run | {head} | outcome |", "|---|---|---|" + "---|" * len(scenarios) + "---|"]
    for row in rows:
        by_id = {c.scenario_id: c for c in row.cells}
        cells = " | ".join(_cell(by_id[s]) if s in by_id else "—" for s in scenarios)
        outcome = row.outcome or "unreadable"
        if row.problem:
            outcome += f": {_md(_trim(row.problem, 120))}"
        mark = "✅" if row.outcome == "pass" and not row.problem else "❌"
        number = str(row.run_number) if row.run_number is not None else "—"
        lines.append(f"| {_code(row.attempt)} | {number} | {_code(row.run_id)} | {cells} | {mark} {outcome} |")
    return lines


def _signature_lines(h: RCHistory) -> list[str]:
    lines: list[str] = []
    if h.signatures:
        lines += [
            "",
            "Failure signatures and the blockers they map to:",
            "",
            "| signature | blocker | scenarios | failed cells | gate runs |",
            "|---|---|---|---|---|",
        ]
        for s in h.signatures:
            blocker = f"#{s.blocker}" if s.blocker is not None else "none"
            scen = ", ".join(f"S{n}" for n in s.scenarios)
            runs = ", ".join(_code(r) for r in s.runs)
            lines.append(f"| {_md(s.name)} | {blocker} | {scen} | {s.cells} | {runs} |")
    if h.unknown_signatures:
        lines += [
            "",
            "New signatures (no configured signature matches; they re-open nothing — file a new issue):",
            "",
            "| failure | scenarios | gate runs | seen in |",
            "|---|---|---|---|",
        ]
        for u in h.unknown_signatures:
            scen = ", ".join(f"S{n}" for n in u.scenarios)
            runs = ", ".join(_code(r) for r in u.runs)
            seen = ", ".join(_code(s) for s in u.seen_in)
            lines.append(f"| {_code(u.quote)} | {scen} | {runs} | {seen} |")
    return lines


def _headline(history: History) -> list[str]:
    lines: list[str] = []
    if history.cleared is not None:
        c = history.cleared
        version = f" ({c.rc_version})" if c.rc_version else ""
        lines.append(
            f"- Cleared: ✅ {c.rc}{version} cleared the whole gate in run {_code(c.run_id)}; "
            f"evidence {_code(c.evidence_path)}"
        )
    else:
        lines.append("- Cleared: ❌ no RC has cleared the whole gate")
    f = history.freshness
    if f is not None:
        mark = "❌ stale" if f.stale else "✅ fresh"
        lines.append(f"- Newest RC evidence: {mark}: {_md(f.reason)} (rule from {_md(f.rule_from)})")
    return lines


def render_history_markdown(history: History, *, heading_level: int = 1, max_rcs: int | None = None) -> str:
    """Render *history* as GitHub Markdown: headings, lists and tables with ✅/❌ cells, no HTML.

    *max_rcs* shows only that many RCs (the newest), saying how many are left out.
    """
    h1 = "#" * heading_level
    h2 = "#" * (heading_level + 1)
    h3 = "#" * (heading_level + 2)
    runs = sum(len(h.runs) for h in history.rcs) + len(history.runs_without_rc)
    scope = []
    if history.rc_filter:
        scope.append(f"RC {history.rc_filter}")
    if history.since is not None:
        scope.append(f"runs since {_when(history.since)}")
    lines = [
        f"{h1} phase4gate history",
        "",
        f"Evidence root {_code(history.evidence_root)}: {history.folders_read} folder(s), {runs} gate run(s) shown"
        + (f" ({', '.join(scope)})" if scope else "")
        + f"; generated {_when(history.generated_at)}.",
        "",
        *_headline(history),
    ]
    shown = history.rcs if max_rcs is None else history.rcs[:max_rcs]
    for h in shown:
        version = f" ({h.rc_version})" if h.rc_version else ""
        state = "✅ cleared" if h.cleared is not None else "❌ not cleared"
        lines += ["", f"{h2} {h.rc}{version}: {state}", "", f"{h3} Gate runs", "", *_runs_table(h.runs)]
        lines += ["", f"{h3} Canary attempts", ""]
        if h.matrix:
            lines += _matrix_table(h.matrix)
        else:
            lines.append("No canary attempt for this RC.")
        lines += _signature_lines(h)
    if len(shown) < len(history.rcs):
        left = [h.rc for h in history.rcs[len(shown) :]]
        lines += ["", f"{len(left)} older RC(s) not shown here ({', '.join(left)}); `phase4gate history` shows them."]
    if history.runs_without_rc:
        lines += ["", f"{h2} Gate runs that resolved no RC", "", *_runs_table(history.runs_without_rc)]
    if history.other_folders:
        lines += ["", f"{h2} Other folders", "", "| folder | kind | problem |", "|---|---|---|"]
        lines += [f"| {_code(f.name)} | ❌ {f.kind.value} | {_md(_trim(f.problem))} |" for f in history.other_folders]
    if not history.rcs and not history.runs_without_rc:
        lines += ["", "No gate run found."]
    return "\n".join(lines) + "\n"


def history_gate_id(gate_id: str) -> str:
    """Return the gate id the history comment's marker carries (never the evidence comment's)."""
    return f"{gate_id}{HISTORY_GATE_SUFFIX}"


def history_comment_body(history: History, *, gate_id: str, issue: str) -> str:
    """Return the history as a tracker comment body ending in the gate's hidden marker.

    The marker names ``<gate id>-history`` and *issue*, and the sha256 of the summary
    above it, so the idempotent publisher finds this comment (and only it) again.  A
    history too long for one GitHub comment drops its oldest RCs, saying so (the newest
    RC is always shown; a body still too long is refused by the publisher).
    """
    keep = len(history.rcs)
    summary = render_history_markdown(history, heading_level=2)
    while len(summary) > _COMMENT_BUDGET and keep > 1:
        keep -= 1
        summary = render_history_markdown(history, heading_level=2, max_rcs=keep)
    digest = hashlib.sha256(summary.encode("utf-8")).hexdigest()
    return f"{summary}\n{render_marker(history_gate_id(gate_id), issue, digest)}\n"
