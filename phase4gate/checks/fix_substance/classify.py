"""Classification of one changed file: behavioural, logging-only, docs-only, test, not analysed or unparseable."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Final

from phase4gate.checks.fix_substance.model import (
    AuditOptions,
    ChangedSymbol,
    FileChange,
    FileKind,
    FileReport,
)
from phase4gate.checks.fix_substance.normalise import _Observer, _side

_DOC_SUFFIXES: Final = (".md", ".rst", ".txt", ".adoc")
_DOC_NAMES_RE = re.compile(r"^(CHANGELOG|CHANGES|HISTORY|NEWS|README|AUTHORS|CONTRIBUTING)([.-].*)?$", re.IGNORECASE)
_DOC_DIRS: Final = ("docs/", "doc/", "kitty-specs/", "specs/")


def _is_test_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (
        path.startswith(("tests/", "test/"))
        or "/tests/" in path
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def _is_doc_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.lower().endswith(_DOC_SUFFIXES) or bool(_DOC_NAMES_RE.match(name)) or path.startswith(_DOC_DIRS)


def _parse(text: str | None, path: str, side: str) -> tuple[ast.Module | None, str | None]:
    if text is None:
        return None, None
    try:
        return ast.parse(text, filename=path), None
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        if line is None and "\0" in text:  # ast's null-byte ValueError carries no position: find it
            line = text.count("\n", 0, text.index("\0")) + 1
        where = f" line {line}" if line else ""
        return None, f"{path}: does not parse {side} the fix{where}: {getattr(exc, 'msg', exc)}"


def classify_file(change: FileChange, options: AuditOptions = AuditOptions()) -> FileReport:  # noqa: B008 - frozen value
    """Classify one changed file: behavioural, logging-only, docs-only, test or not-analysed.

    Both sides of a Python file are compiled with docstrings and observing
    statements removed; each function's, class's and the module's code (without
    line numbers) is compared.  A symbol whose code differs is a behavioural
    change; one whose source text differs but code does not changed only by
    logging, docstrings or comments.
    """
    path = change.path
    if not path.endswith((".py", ".pyi")):
        if _is_doc_path(path):
            return FileReport(path, change.status, FileKind.DOCS_ONLY, old_path=change.old_path)
        kind = FileKind.TEST if _is_test_path(path) else FileKind.NOT_ANALYSED
        return FileReport(path, change.status, kind, old_path=change.old_path)
    before, err_b = _parse(change.before, change.old_path or path, "before")
    after, err_a = _parse(change.after, path, "after")
    if err_b or err_a:
        return FileReport(path, change.status, FileKind.UNPARSEABLE, old_path=change.old_path, error=err_b or err_a)
    if _is_test_path(path):
        return FileReport(path, change.status, FileKind.TEST, old_path=change.old_path)
    observer = _Observer(options)
    try:
        b = _side(before or ast.Module(body=[], type_ignores=[]), change.before or "", path, observer)
        a = _side(after or ast.Module(body=[], type_ignores=[]), change.after or "", path, observer)
    except SyntaxError as exc:
        error = f"{path}: does not compile: {exc.msg} (line {exc.lineno})"
        return FileReport(path, change.status, FileKind.UNPARSEABLE, old_path=change.old_path, error=error)
    symbols: list[ChangedSymbol] = []
    names = sorted(set(b.ranges) | set(a.ranges), key=lambda q: ((a.ranges.get(q) or b.ranges[q])[0], q))
    for q in names:
        if q not in a.ranges:
            start, end = b.ranges[q]
            symbols.append(ChangedSymbol(path, q, "deleted", start, end, behavioural=True))
            continue
        start, end = a.ranges[q]
        if q not in b.ranges:
            symbols.append(ChangedSymbol(path, q, "added", start, end, behavioural=True))
            continue
        behavioural = a.keys.get(q) != b.keys.get(q)
        if behavioural and a.children.get(q) != b.children.get(q) and a.text(q) == b.text(q):
            # Only nested definitions were added or removed; they are reported themselves.
            continue
        if behavioural or a.text(q) != b.text(q):
            symbols.append(ChangedSymbol(path, q, "modified", start, end, behavioural=behavioural))
    if any(s.behavioural for s in symbols):
        kind = FileKind.BEHAVIOURAL
    elif a.observed() != b.observed():
        kind = FileKind.LOGGING_ONLY
    else:
        kind = FileKind.DOCS_ONLY
    return FileReport(path, change.status, kind, old_path=change.old_path, symbols=tuple(symbols))


def classify_chunk(changes: Sequence[FileChange], options: AuditOptions) -> list[FileReport]:
    """Classify *changes* in order: what one worker of :func:`phase4gate.audit.classify_files` runs.

    It lives here so a spawned worker imports only the fix-substance package, not the
    audit's adapters (proof environments, git, filelock: ~80 ms of its start-up).
    """
    return [classify_file(c, options) for c in changes]
