"""Read every folder under an evidence root for ``phase4gate history`` (I/O only).

A folder is a gate run when it holds ``journal.jsonl``; the journal is folded with the
gate's own readers (:func:`~phase4gate.gate.report_from_journal`,
:func:`~phase4gate.gate.config_from_journal`), never ``report.json`` (a projection).
Readers of other versions' journals are tolerated: unknown keys are ignored, events of
an unknown type are skipped and noted, and a torn last line (a writer killed mid-append)
is dropped and noted.  A journal that still cannot be read (a bad line before the last,
no ``gate-start``, a result that does not structure) makes the folder *damaged*; a
folder without a journal is *foreign*.  Neither is fatal.

Canary run files are read from each attempt folder (``<rc>[-single]-attempt<N>/runs/run-K.json``)
and checked against the run folder's ``MANIFEST.sha256``: an altered file is still shown,
with the problem named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from attrs import frozen

from phase4gate.checks.history import AttemptRead, FolderKind, FolderRead, RunFileRead, attempt_rc
from phase4gate.errors import EvidenceError, InputError
from phase4gate.models import run_number_from_filename

__all__ = ["KNOWN_EVENTS", "PROGRESS_EVENTS", "read_folder", "read_history"]

# Event types the gate's journal readers understand; any other is skipped (a newer writer).
KNOWN_EVENTS: Final = frozenset({"gate-start", "wp-start", "wp-result", "wp-reused", "gate-end", "interrupted"})
# Progress-only events the gate also writes (a WP's actions as they happen, its child
# processes): not folded, not worth a note either.
PROGRESS_EVENTS: Final = frozenset({"wp-action", "child", "children-ended", "child-process"})
_JOURNAL: Final = "journal.jsonl"


def read_history(root: Path) -> tuple[FolderRead, ...]:
    """Read every folder directly under *root*, sorted by name (hidden entries and plain files skipped).

    Raises:
        EvidenceError: *root* is not a readable folder (exit 3).
    """
    try:
        entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        msg = f"cannot read the evidence root: {exc.strerror or exc}"
        raise EvidenceError(
            msg, path=str(root), hint="pass --evidence-root DIR naming a folder of run folders"
        ) from None
    return tuple(read_folder(p) for p in entries if p.is_dir())


_ENDINGS: Final = {"gate-start": "unfinished", "gate-end": "finished", "interrupted": "interrupted"}


@frozen
class _Journal:
    """A journal's lines as read: every event (a torn last line dropped), the known-type ones, notes."""

    events: list[str]
    known: list[str]
    notes: list[str]
    ending: str
    fatal: str | None = None


def _clean_journal(lines: list[str]) -> _Journal:
    """Split the journal into the lines to fold, notes, how the last invocation ended, or a fatal problem.

    The ending is that of the last invocation: ``finished`` (gate-end), ``interrupted``
    (Ctrl-C, journalled), or ``unfinished`` (killed, or still running).
    """
    events: list[str] = []
    keep: list[str] = []
    notes: list[str] = []
    ending = "unfinished"
    skipped: dict[str, int] = {}
    numbered = [(n, ln) for n, ln in enumerate(lines, 1) if ln.strip()]
    for i, (n, line) in enumerate(numbered):
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            if i == len(numbered) - 1:
                notes.append(f"line {n}: torn last line dropped (a writer stopped mid-append)")
                continue
            return _Journal([], [], notes, ending, f"{_JOURNAL} line {n}: not JSON ({exc.msg})")
        kind = event.get("event") if isinstance(event, dict) else None
        if not isinstance(kind, str):
            return _Journal([], [], notes, ending, f"{_JOURNAL} line {n}: not a journal event")
        events.append(line)
        if kind not in KNOWN_EVENTS:
            if kind not in PROGRESS_EVENTS:
                skipped[kind] = skipped.get(kind, 0) + 1
            continue
        ending = _ENDINGS.get(kind, ending)
        keep.append(line)
    notes.extend(f"{count} event(s) of unknown type {kind!r} ignored" for kind, count in sorted(skipped.items()))
    return _Journal(events, keep, notes, ending)


def _read_run_file(run_dir: Path, rel: str, manifest: dict[str, str]) -> RunFileRead:
    from phase4gate.adapters.store import sha256_file  # noqa: PLC0415
    from phase4gate.convert import read_json  # noqa: PLC0415
    from phase4gate.models import parse_run_file  # noqa: PLC0415

    path = run_dir / rel
    number = run_number_from_filename(path.name) or 0
    problems: list[str] = []
    listed = manifest.get(rel)
    try:
        if listed is None:
            problems.append("not listed in the run's MANIFEST.sha256")
        elif sha256_file(path) != listed:
            problems.append("altered since written (sha256 differs from MANIFEST.sha256)")
    except OSError as exc:
        problems.append(f"cannot read: {exc.strerror or exc}")
    try:
        run = parse_run_file(read_json(path), source=rel, file_run_number=number or None)
    except InputError as exc:
        problems.append(str(exc))
        run = None
    return RunFileRead(rel, number, run, "; ".join(problems) or None)


def _attempts(run_dir: Path) -> tuple[AttemptRead, ...]:
    from phase4gate.adapters.store import read_manifest  # noqa: PLC0415

    manifest = read_manifest(run_dir)
    out: list[AttemptRead] = []
    for folder in sorted(p for p in run_dir.iterdir() if p.is_dir() and attempt_rc(p.name) is not None):
        files = [
            (run_number_from_filename(p.name), p)
            for p in (folder / "runs").glob("run-*.json")
            if run_number_from_filename(p.name) is not None
        ]
        files.sort(key=lambda t: t[0] or 0)
        out.append(
            AttemptRead(
                folder.name,
                tuple(_read_run_file(run_dir, f"{folder.name}/runs/{p.name}", manifest) for _, p in files),
            )
        )
    return tuple(out)


def read_folder(path: Path) -> FolderRead:
    """Read one folder: a gate run (journal folded, attempts and run files read), damaged or foreign."""
    from phase4gate.config import GateConfig  # noqa: PLC0415
    from phase4gate.gate import config_from_journal, report_from_journal  # noqa: PLC0415

    name, where = path.name, str(path)
    journal = path / _JOURNAL
    if not journal.is_file():
        return FolderRead(name, where, FolderKind.FOREIGN, problem=f"no {_JOURNAL}: not a gate run folder")
    try:
        text = journal.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return FolderRead(name, where, FolderKind.DAMAGED, problem=f"{_JOURNAL}: cannot read ({exc})")
    # Journal lines end in \n only: str.splitlines would also split on U+2028/U+2029/U+0085 inside a reason.
    read = _clean_journal(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"))
    notes, ending = read.notes, read.ending
    if read.fatal is not None:
        return FolderRead(name, where, FolderKind.DAMAGED, problem=read.fatal, notes=tuple(notes))
    # Every event first (a newer reader may need them all, e.g. to check a hash chain),
    # then only the event types this reader knows.
    lines = read.events
    try:
        report = report_from_journal(lines, source=_JOURNAL)
    except InputError as exc:
        if read.known == read.events:
            return FolderRead(name, where, FolderKind.DAMAGED, problem=str(exc), notes=tuple(notes))
        lines = read.known
        try:
            report = report_from_journal(lines, source=_JOURNAL)
        except InputError as again:
            return FolderRead(name, where, FolderKind.DAMAGED, problem=str(again), notes=tuple(notes))
    try:
        config = config_from_journal(lines, source=_JOURNAL) or GateConfig()
    except (InputError, ValueError) as exc:
        notes.append(f"recorded configuration unreadable, default signatures used: {exc}")
        config = GateConfig()
    try:
        attempts = _attempts(path)
    except OSError as exc:
        notes.append(f"attempt folders unreadable: {exc.strerror or exc}")
        attempts = ()
    return FolderRead(
        name,
        where,
        FolderKind.RUN,
        report=report,
        ending=ending,
        signatures=config.canary.signatures,
        scenarios=config.canary.scenarios,
        max_preflight_age_hours=config.saas.max_preflight_age_hours,
        attempts=attempts,
        notes=tuple(notes),
    )
