"""The run journal: a hash-chained, append-only JSON Lines file, and what it projects.

Every event is one JSON object on one line.  Each carries ``prev``, the digest of the
previous line's bytes (``sha256:<hex>``, the first event chained to :data:`GENESIS`),
so an edited, inserted or removed line breaks the chain from that point on.  The
store (:meth:`phase4gate.adapters.store.EvidenceStore.append_event`) adds ``prev``
to whatever is appended, so every writer is chained without knowing it.

Appends are whole lines or nothing.  A line that does not end in a newline is a
*torn* tail (a writer killed mid-append, or a full disk before this module existed):
readers report it and set it aside, never fail on it; the next append moves it into
an evidence file and truncates the journal back to its last complete line.

The report (``report.json``/``report.md``) and the attestation are projections of a
prefix of the journal; the projection step seals the head it projected into
``MANIFEST.sha256`` (``#journal-head N sha256:<hex>``), and ``phase4gate verify``
checks both against that sealed prefix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from attrs import field, frozen

from phase4gate.errors import InputError
from phase4gate.models import WP_IDS, GateReport, StepResult

if TYPE_CHECKING:
    from phase4gate.config import GateConfig

__all__ = [
    "GENESIS",
    "JOURNAL_NAME",
    "KNOWN_EVENTS",
    "Journal",
    "JournalEvent",
    "RunState",
    "chain_problems",
    "config_from_journal",
    "line_digest",
    "parse_event",
    "parse_events",
    "parse_journal",
    "read_journal_file",
    "report_from_journal",
    "result_head",
    "run_state",
    "unsealed_results",
]

JOURNAL_NAME: Final = "journal.jsonl"
GENESIS: Final = "sha256:" + "0" * 64
# Events that only describe progress; the report folds wp-result, gate-start and gate-end.
KNOWN_EVENTS: Final = frozenset(
    {
        "gate-start",
        "gate-end",
        "wp-start",
        "wp-result",
        "wp-reused",
        "wp-action",
        "interrupted",
        "child",
        "children-ended",
        "child-process",
    }
)


def line_digest(line: str) -> str:
    """Return ``sha256:<hex>`` of one journal line's UTF-8 bytes (without its newline)."""
    return "sha256:" + hashlib.sha256(line.encode("utf-8")).hexdigest()


@frozen
class Journal:
    """A journal's complete lines, and the torn tail set aside (if any)."""

    source: str
    lines: tuple[str, ...]
    torn_bytes: int = 0

    @property
    def head(self) -> str:
        """The digest the next event chains to."""
        return line_digest(self.lines[-1]) if self.lines else GENESIS

    @property
    def torn_note(self) -> str | None:
        """A one-line note about the torn tail, or ``None``."""
        if not self.torn_bytes:
            return None
        return (
            f"{self.source}: line {len(self.lines) + 1}: torn last line ({self.torn_bytes} bytes without a newline: "
            "an append that did not complete) set aside"
        )


def parse_journal(data: bytes, *, source: str) -> Journal:
    """Split raw journal bytes into complete UTF-8 lines and a torn tail.

    Raises:
        InputError: a complete line is not UTF-8 (names the line and byte).
    """
    parts = data.split(b"\n")
    tail = parts.pop()  # b"" when the data ends with a newline
    lines: list[str] = []
    problems: list[str] = []
    for n, raw in enumerate(parts, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"line {n}: not UTF-8 (byte {exc.start + 1} of the line)")
            continue
        if text.strip():
            lines.append(text)
    if problems:
        raise InputError(source, problems, hint="the journal is damaged; `phase4gate verify` says how")
    return Journal(source, tuple(lines), len(tail))


def read_journal_file(path: Path) -> Journal:
    """Read *path* as a journal (empty when it does not exist).

    Raises:
        InputError: it is a directory, cannot be read, or holds a non-UTF-8 line.
    """
    if path.is_dir():
        raise InputError(str(path), ["is a directory, not a journal file"])
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Journal(str(path), ())
    except OSError as exc:
        raise InputError(str(path), [f"cannot be read: {exc.strerror}"]) from None
    return parse_journal(data, source=str(path))


def chain_problems(lines: Sequence[str], *, source: str = JOURNAL_NAME) -> list[str]:
    """Return every break in the hash chain of *lines* (empty when it holds).

    Only the first break is described in full; later lines chain to edited ones and
    would repeat it.
    """
    prev = GENESIS
    for n, line in enumerate(lines, 1):
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            return [f"{source}: line {n}: not JSON ({exc.msg}); the chain cannot be checked past it"]
        got = event.get("prev") if isinstance(event, dict) else None
        if got is None:
            return [f"{source}: line {n}: not hash-chained (no 'prev'): a line was inserted or the journal rewritten"]
        if got != prev:
            why = "a line before it was edited, inserted or removed"
            return [f"{source}: line {n}: hash chain broken (its 'prev' is not the digest of line {n - 1}): {why}"]
        prev = line_digest(line)
    return []


def result_head(lines: Sequence[str], wp: str) -> str | None:
    """Return the chain digest of *wp*'s last ``wp-result`` line (what a comment reporting it anchors)."""
    for n in range(len(lines), 0, -1):
        event = parse_event(lines[n - 1], n)
        if event is not None and event.kind == "wp-result" and event.wp == wp:
            return line_digest(event.line)
    return None


@frozen
class JournalEvent:
    """One journal line, parsed once: its kind, the WP it is about, the whole object and the line itself."""

    n: int  # 1-based line number
    kind: str  # "" when the object names no kind
    wp: str | None
    data: dict[str, Any] = field(eq=False, repr=False)
    line: str = field(eq=False, repr=False)


def parse_event(line: str, n: int) -> JournalEvent | None:
    """Return line *n* of a journal as a :class:`JournalEvent`, or ``None`` when it is not a JSON object."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    kind, wp = data.get("event"), data.get("wp")
    return JournalEvent(n, kind if isinstance(kind, str) else "", wp if isinstance(wp, str) else None, data, line)


def parse_events(lines: Iterable[str], *, source: str = JOURNAL_NAME) -> tuple[JournalEvent, ...]:
    """Parse every line of a journal once into typed events.

    Raises:
        InputError: a line is not JSON, or not a JSON object (names the line).
    """
    return tuple(_typed_events(lines, source))


def _typed_events(lines: Iterable[str], source: str) -> Iterator[JournalEvent]:
    # Lazy: a reader that stops at a problem reports the first line that has one.
    for n, line in enumerate(lines, 1):
        event = parse_event(line, n)
        if event is None:
            try:
                json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(source, [f"line {n}: not JSON ({exc.msg})"]) from None
            raise InputError(source, [f"line {n}: not a journal event (a JSON object)"])
        yield event


def _events(lines: Iterable[str], source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for event in _typed_events(lines, source):
        yield event.n, event.data


def config_from_journal(lines: Iterable[str], *, source: str = JOURNAL_NAME) -> GateConfig | None:
    """Return the configuration the run's latest invocation recorded, if any.

    Raises:
        InputError: a line is not JSON, or the recorded configuration does not structure.
    """
    from phase4gate import convert  # noqa: PLC0415
    from phase4gate.config import GateConfig  # noqa: PLC0415

    recorded = None
    for _, event in _events(lines, source):
        if event.get("event") == "gate-start":
            recorded = event.get("config", recorded)
    return None if recorded is None else convert.structure(recorded, GateConfig, source=f"{source}: config")


def report_from_journal(lines: Iterable[str], *, source: str = JOURNAL_NAME) -> GateReport:
    """Fold a journal into the report: the last result of each WP, in WP order.

    Raises:
        InputError: a line is not JSON or not a journal event.
    """
    from phase4gate import convert  # noqa: PLC0415 - cattrs stays out of start-up

    run_id = ""
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    dry_run = False
    requested: tuple[str, ...] = WP_IDS
    latest: dict[str, StepResult] = {}
    for n, event in _events(lines, source):
        kind = event.get("event")
        if kind == "gate-start":
            run_id = str(event.get("run_id", ""))
            started = started or convert.structure(event.get("time"), dt.datetime, source=f"{source}:{n}")
            dry_run = bool(event.get("dry_run", False))
            requested = tuple(event.get("requested", WP_IDS))
        elif kind == "wp-result":
            result = convert.structure(event.get("result"), StepResult, source=f"{source}:{n}")
            latest[result.wp] = result
        elif kind == "gate-end":
            finished = convert.structure(event.get("time"), dt.datetime, source=f"{source}:{n}")
        elif not isinstance(kind, str) or not kind:
            raise InputError(source, [f"line {n}: not a journal event (no 'event' kind)"])
        # Other kinds (KNOWN_EVENTS and any a newer gate adds) describe progress; the report ignores them.
    if started is None:
        raise InputError(source, ["no gate-start event"])
    steps = tuple(latest[wp] for wp in WP_IDS if wp in latest)
    end = finished or max((s.finished_at for s in steps), default=started)
    return GateReport(
        run_id=run_id,
        started_at=started,
        finished_at=max(end, started),
        steps=steps,
        dry_run=dry_run,
        requested=requested,
    )


@frozen
class RunState:
    """How the run's latest invocation ended, as the journal tells it."""

    interrupted: bool
    # "SIGINT"/"SIGTERM" from an ``interrupted`` event; "killed" when the journal just stops.
    how: str | None
    in_progress: tuple[str, ...]
    # WP -> what it had already done ("posted comment <url>", "canary run 2 dispatched").
    actions: dict[str, tuple[str, ...]]
    exit_code: int | None

    def render(self) -> str:
        """Return the lines ``status`` prints about an interrupted invocation (empty when it finished)."""
        if not self.interrupted:
            return ""
        how = f"by {self.how}" if self.how and self.how != "killed" else "(killed: the journal just stops)"
        code = f"; `run` exited {self.exit_code}" if self.exit_code is not None else "; `run`'s exit code is unknown"
        lines = [f"Interrupted {how}{code}."]
        for wp in self.in_progress:
            done = self.actions.get(wp, ())
            lines.append(f"{wp} was in progress" + (": it had already " + "; ".join(done) if done else ""))
        return "\n".join(lines) + "\n"


def run_state(lines: Sequence[str], *, source: str = JOURNAL_NAME) -> RunState:
    """Say whether the latest invocation in *lines* ended, and what was in progress if not.

    Raises:
        InputError: a line is not JSON.
    """
    events = list(_events(lines, source))
    last_start = max((i for i, (_, e) in enumerate(events) if e.get("event") == "gate-start"), default=None)
    if last_start is None:
        return RunState(interrupted=False, how=None, in_progress=(), actions={}, exit_code=None)
    tail = [e for _, e in events[last_start:]]
    ended = any(e.get("event") == "gate-end" for e in tail)
    stop = next((e for e in reversed(tail) if e.get("event") == "interrupted"), None)
    started: list[str] = []
    finished: set[str] = set()
    actions: dict[str, list[str]] = {}
    for e in tail:
        wp = str(e.get("wp", ""))
        kind = e.get("event")
        if kind == "wp-start":
            started.append(wp)
            finished.discard(wp)
            actions[wp] = []
        elif kind == "wp-result":
            finished.add(wp)
        elif kind == "wp-action":
            actions.setdefault(wp, []).append(str(e.get("action", "")))
    if ended and stop is None:
        return RunState(interrupted=False, how=None, in_progress=(), actions={}, exit_code=None)
    running = tuple(dict.fromkeys(wp for wp in started if wp not in finished))
    if stop is not None:
        named = stop.get("in_progress")
        if isinstance(named, list) and named:
            running = tuple(dict.fromkeys([*(str(w) for w in named), *running]))
        code = stop.get("exit_code")
        how = str(stop.get("signal") or "interrupt")
        exit_code = code if isinstance(code, int) and not isinstance(code, bool) else 130
    else:
        how, exit_code = "killed", None
    return RunState(
        interrupted=True,
        how=how,
        in_progress=running,
        actions={wp: tuple(a) for wp, a in actions.items() if a and wp in running},
        exit_code=exit_code,
    )


def unsealed_results(lines: Sequence[str], sealed_lines: int | None) -> int:
    """Return how many ``wp-result``/``gate-end`` events stand after the sealed prefix (all, with no seal).

    A finished or cleanly interrupted invocation seals what it wrote; results after the seal were
    left by a killed invocation or appended by hand, and nothing vouches for them.
    """
    start = sealed_lines or 0
    events = (parse_event(line, n) for n, line in enumerate(lines[start:], start + 1))
    return sum(1 for e in events if e is not None and e.kind in {"wp-result", "gate-end"})
