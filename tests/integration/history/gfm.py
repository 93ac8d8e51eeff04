"""A small GitHub-flavoured Markdown table parser, to check rendered tables by structure, not by eye.

It follows the GFM spec's table rules that matter here: a table is a header row, a
delimiter row (cells of ``-`` with optional ``:``), then body rows until a line that is
not a row; cells are split on pipes not escaped with a backslash (also inside code
spans, as GitHub does); a row must have as many cells as the header.
"""

from __future__ import annotations

import re

from attrs import frozen

_DELIM_CELL = re.compile(r"^\s*:?-+:?\s*$")


@frozen
class Table:
    """One parsed table: header cells and body rows (cells unescaped, stripped)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    line: int  # 1-based line of the header

    def column(self, name: str) -> list[str]:
        """Return every body cell of the column *name*."""
        i = self.header.index(name)
        return [r[i] for r in self.rows]

    def dicts(self) -> list[dict[str, str]]:
        """Return the rows as header -> cell mappings."""
        return [dict(zip(self.header, r, strict=True)) for r in self.rows]


class TableError(ValueError):
    """The Markdown holds a malformed table."""


def split_row(line: str) -> tuple[str, ...]:
    """Split one table row into cells on unescaped pipes; drop the outer pipes."""
    text = line.strip()
    if not text.startswith("|"):
        msg = f"a table row must start with '|': {line!r}"
        raise TableError(msg)
    cells: list[str] = []
    cur: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i + 1] if text[i + 1] == "|" else ch + text[i + 1])
            i += 2
            continue
        if ch == "|":
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    if "".join(cur).strip():
        cells.append("".join(cur).strip())
    return tuple(cells)


def parse_tables(markdown: str) -> list[Table]:
    """Return every table in *markdown*.

    Raises:
        TableError: a header without a valid delimiter row, or a row with the wrong number of cells.
    """
    lines = markdown.splitlines()
    tables: list[Table] = []
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("|"):
            i += 1
            continue
        header = split_row(lines[i])
        if i + 1 >= len(lines):
            msg = f"line {i + 1}: a table header without a delimiter row"
            raise TableError(msg)
        delim = split_row(lines[i + 1])
        if len(delim) != len(header) or not all(_DELIM_CELL.match(c) for c in delim):
            msg = f"line {i + 2}: delimiter row {lines[i + 1]!r} does not match the header's {len(header)} cells"
            raise TableError(msg)
        rows: list[tuple[str, ...]] = []
        j = i + 2
        while j < len(lines) and lines[j].lstrip().startswith("|"):
            row = split_row(lines[j])
            if len(row) != len(header):
                msg = f"line {j + 1}: {len(row)} cells, the header has {len(header)}: {lines[j]!r}"
                raise TableError(msg)
            rows.append(row)
            j += 1
        tables.append(Table(header, tuple(rows), i + 1))
        i = j
    return tables


def tables_after(markdown: str, heading: str) -> list[Table]:
    """Return the tables between the heading line *heading* and the next heading of the same or higher level."""
    lines = markdown.splitlines()
    start = lines.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    end = len(lines)
    for k in range(start + 1, len(lines)):
        stripped = lines[k]
        if stripped.startswith("#"):
            lvl = len(stripped) - len(stripped.lstrip("#"))
            if lvl <= level:
                end = k
                break
    return parse_tables("\n".join(lines[start + 1 : end]))
