"""Typed readers and writers of the structured facts steps share (a list kept in one fact).

A fact is a ``str``/``int``/``float``/``bool``/``None`` in the journal
(:data:`phase4gate.models.FactValue`); a list of items is kept as one comma-separated
string.  Writer and reader of such a fact use the same :class:`ListFact` here, so no
step parses another step's text: ``REOPENED`` (written by
:attr:`phase4gate.canary_protocol.Reopened.fact`, read by WP01's resume rule),
``CLI_FIX_COMMITS`` (WP01 -> WP02). docs/ARCHITECTURE.md lists every fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from attrs import frozen

from phase4gate.models import FactValue

__all__ = ["CLI_FIX_COMMITS", "REOPENED", "IntListFact", "ListFact"]


@frozen
class ListFact:
    """A fact holding a list of strings without commas (shas, paths, run ids)."""

    key: str

    def encode(self, items: Iterable[str]) -> str:
        """Return the fact value of *items*.

        Raises:
            ValueError: an item is empty or holds a comma (it would not read back).
        """
        values = list(items)
        bad = [v for v in values if not v or "," in v]
        if bad:
            msg = f"fact {self.key!r}: items must be non-empty and without commas, got {bad!r}"
            raise ValueError(msg)
        return ",".join(values)

    def read(self, facts: Mapping[str, FactValue]) -> tuple[str, ...]:
        """Return the items recorded in *facts* (none when the fact is absent or empty)."""
        raw = facts.get(self.key)
        text = raw if isinstance(raw, str) else "" if raw is None else str(raw)
        return tuple(s.strip() for s in text.split(",") if s.strip())


@frozen
class IntListFact:
    """A fact holding a list of numbers (issue numbers)."""

    key: str

    def encode(self, numbers: Iterable[int]) -> str:
        """Return the fact value of *numbers*."""
        return ",".join(str(int(n)) for n in numbers)

    def read(self, facts: Mapping[str, FactValue]) -> tuple[int, ...]:
        """Return the numbers recorded in *facts*.

        Raises:
            ValueError: an item is not a number (the fact was not written by :meth:`encode`).
        """
        raw = facts.get(self.key)
        if raw is None or raw == "":
            return ()
        if isinstance(raw, int) and not isinstance(raw, bool):
            return (raw,)
        items = [s.strip() for s in str(raw).split(",") if s.strip()]
        if not all(s.isdigit() for s in items):
            msg = f"fact {self.key!r}: {raw!r} is not a comma-separated list of numbers"
            raise ValueError(msg)
        return tuple(int(s) for s in items)


# The blockers a canary failure re-opened (WP04/WP05): "1182" or "1141,1182".
REOPENED: Final = IntListFact("reopened")
# Shas of WP01's substantive fixes that live in the CLI repository (WP02 checks the RC contains them).
CLI_FIX_COMMITS: Final = ListFact("cli_fix_commits")
