"""Bounded text: reasons, log lines and JSON values capped, with the full text kept elsewhere.

Pure: :func:`cap` shortens one text and says how much was left out and where
the full text is; :func:`cap_lines` and :func:`cap_json` do the same for a
listing and a JSON object; :func:`cap_outcome` caps a step's reason, handing
the full text to a writer the caller injects (the gate's write-once store), so
nothing is lost, only moved into an evidence file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from attrs import evolve

from phase4gate.errors import Phase4GateError
from phase4gate.models import EvidenceRef, StepOutcome

__all__ = [
    "LINE_LIMIT",
    "LIST_LIMIT",
    "REASON_LIMIT",
    "cap",
    "cap_json",
    "cap_lines",
    "cap_outcome",
    "needs_cap",
]

REASON_LIMIT: Final = 4000  # characters of a step's reason in the journal, report and JSON
LINE_LIMIT: Final = 2000  # characters of one printed line or one JSON string value
LIST_LIMIT: Final = 100  # entries of one printed or JSON list


def _suffix(more: int, full_text: str | None, unit: str = "characters") -> str:
    where = f" (full text: {full_text})" if full_text else ""
    return f"… {more} more {unit}{where}"


def cap(text: str, limit: int, *, full_text: str | None = None) -> str:
    """Return *text*, or its start and "… N more characters (full text: *full_text*)", at most *limit* long.

    The marker is always whole, so a *limit* shorter than the marker gives the marker alone.
    """
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(_suffix(len(text), full_text)))
    return text[:keep] + _suffix(len(text) - keep, full_text)


def cap_lines(
    lines: Sequence[str], *, limit: int = LIST_LIMIT, line_limit: int = LINE_LIMIT, what: str, full_text: str | None
) -> list[str]:
    """Return at most *limit* of *lines* (each capped), then "… N more *what*" when some were left out."""
    out = [cap(line, line_limit, full_text=full_text) for line in lines[:limit]]
    if len(lines) > limit:
        indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
        out.append(indent + _suffix(len(lines) - limit, full_text, what))
    return out


def needs_cap(obj: object, *, text_limit: int = LINE_LIMIT, list_limit: int = LIST_LIMIT) -> bool:
    """Return whether :func:`cap_json` would change *obj*."""
    if isinstance(obj, str):
        return len(obj) > text_limit
    if isinstance(obj, Mapping):
        return any(needs_cap(v, text_limit=text_limit, list_limit=list_limit) for v in obj.values())
    if isinstance(obj, list | tuple):
        return len(obj) > list_limit or any(needs_cap(v, text_limit=text_limit, list_limit=list_limit) for v in obj)
    return False


def cap_json(
    obj: object, *, text_limit: int = LINE_LIMIT, list_limit: int = LIST_LIMIT, full_text: str | None = None
) -> object:
    """Return *obj* with every string capped and every list cut to *list_limit* entries.

    A cut list of an object ``{"files": [...]}`` is recorded beside it as
    ``"truncated": {"files": N}`` (N entries left out), so the entries keep their
    shape; a cut list inside a list loses its tail silently only in that count.
    """
    if isinstance(obj, str):
        return cap(obj, text_limit, full_text=full_text)
    if isinstance(obj, Mapping):
        out: dict[str, object] = {}
        cut: dict[str, int] = {}
        for k, v in obj.items():
            if isinstance(v, list | tuple) and len(v) > list_limit:
                cut[str(k)] = len(v) - list_limit
                v = list(v)[:list_limit]  # noqa: PLW2901 - the value, shortened
            out[str(k)] = cap_json(v, text_limit=text_limit, list_limit=list_limit, full_text=full_text)
        if cut:
            out["truncated"] = {**cut, **({"full_text": full_text} if full_text else {})}
        return out
    if isinstance(obj, list | tuple):
        return [cap_json(v, text_limit=text_limit, list_limit=list_limit, full_text=full_text) for v in obj]
    return obj


def cap_outcome(outcome: StepOutcome, write: Callable[[str], EvidenceRef], *, limit: int = REASON_LIMIT) -> StepOutcome:
    """Return *outcome* with its reason capped at *limit*; the full reason goes to ``write`` and into its evidence.

    A reason within the limit is returned untouched and nothing is written.  If
    the full text cannot be written the reason is still capped, and says so.
    """
    if len(outcome.reason) <= limit:
        return outcome
    try:
        ref = write(outcome.reason)
    except Phase4GateError as exc:
        return evolve(outcome, reason=cap(outcome.reason, limit, full_text=f"not kept: {cap(str(exc), 300)}"))
    return evolve(outcome, reason=cap(outcome.reason, limit, full_text=ref.path), evidence=(*outcome.evidence, ref))
