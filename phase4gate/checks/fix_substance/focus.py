"""A blocker's focus: module names, name-based callers, which symbols belong to it, and the issues a commit closes."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence

from phase4gate.checks.fix_substance.classify import _is_test_path
from phase4gate.checks.fix_substance.model import AuditOptions, ChangedSymbol, FileChange, Focus
from phase4gate.checks.fix_substance.normalise import _Def, _def_nodes, _Observer, _own_statements

_CLOSES_RE = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b:?\s+"
    r"((?:[\w.-]+/[\w.-]+)?#\d+(?:[\s,]+(?:and\s+)?(?:[\w.-]+/[\w.-]+)?#\d+)*)",
    re.IGNORECASE,
)
_ISSUE_RE = re.compile(r"#(\d+)")


def module_name(path: str) -> str:
    """Return the dotted module of a source path (``src/`` stripped, ``__init__`` dropped)."""
    p = path.removesuffix(".pyi").removesuffix(".py")
    p = p.removeprefix("src/")
    parts = [x for x in p.split("/") if x]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _called_names(node: ast.AST) -> set[str]:
    out: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            if isinstance(sub.func, ast.Name):
                out.add(sub.func.id)
            elif isinstance(sub.func, ast.Attribute):
                out.add(sub.func.attr)
    return out


def find_callers(sources: Mapping[str, str], symbols: Iterable[str]) -> tuple[str, ...]:
    """Return ``path:qualname`` of every function that calls one of *symbols* by name.

    The call graph is name-based (the last component of each symbol, as a plain
    call or a method call), so it over-approximates: good enough to widen a
    focus to "its callers", as the plan asks.  Unparseable sources are skipped.
    """
    wanted = {s.rsplit(".", 1)[-1] for s in symbols}
    found: set[str] = set()
    for path, text in sources.items():
        if _is_test_path(path):
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue

        def walk(body: list[ast.stmt], prefix: str, path: str = path) -> None:
            for stmt in body:
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                    q = f"{prefix}{stmt.name}"
                    own = set().union(*(_called_names(s) for s in stmt.body)) if stmt.body else set()
                    if own & wanted and stmt.name not in wanted:
                        found.add(f"{path}:{q}")
                    walk(stmt.body, f"{q}.")
                elif isinstance(stmt, ast.ClassDef):
                    walk(stmt.body, f"{prefix}{stmt.name}.")

        walk(tree.body, "")
    return tuple(sorted(found))


def _symbol_in_focus(sym: ChangedSymbol, focus: Focus, callers: frozenset[str]) -> bool:
    """A focus symbol matches its qualified name at any nesting (``queue_event`` or ``OfflineQueue.queue_event``).

    Functions nested inside a focus symbol belong to it; so do the direct callers in *callers*.
    """
    q = f".{sym.qualname}."
    if any(f".{s}." in q for s in focus.symbols):
        return True
    return f"{sym.path}:{sym.qualname}" in callers


def _non_function_symbols(change: FileChange) -> frozenset[str]:
    """``<module>`` and the qualified names of the classes of *change* (either side): code outside functions."""
    out = {"<module>"}
    for text in (change.before, change.after):
        if text is None:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        out.update(q for q, nodes in _def_nodes(tree).items() if any(isinstance(n, ast.ClassDef) for n in nodes))
    return frozenset(out)


def _observing_dumps(tree: ast.Module | None, qualnames: Sequence[str], observer: _Observer) -> list[str]:
    """The observing statements of *qualnames* (``<module>``: its top-level statements), position-free."""
    if tree is None:
        return []
    out: list[str] = []
    defs = _def_nodes(tree)
    for q in qualnames:
        if q == "<module>":
            stmts: Iterable[ast.stmt] = (s for s in tree.body if not isinstance(s, _Def))
        else:
            stmts = (s for node in defs.get(q, []) for s in _own_statements(node))
        out.extend(
            f"{q}:{ast.dump(stmt)}"
            for stmt in stmts
            if (isinstance(stmt, ast.Expr) and observer.is_log_call(stmt.value))
            or observer.is_guard(stmt)
            or (q == "<module>" and observer.is_logger_setup(stmt))
        )
    return sorted(out)


def _observations_differ(change: FileChange, qualnames: Sequence[str], options: AuditOptions) -> bool:
    """True when the fix changed the observing statements (logging) of *qualnames*, not only their docs."""
    observer = _Observer(options)
    trees: list[ast.Module | None] = []
    for text in (change.before, change.after):
        try:
            trees.append(ast.parse(text) if text is not None else None)
        except (SyntaxError, ValueError):
            trees.append(None)
    return _observing_dumps(trees[0], qualnames, observer) != _observing_dumps(trees[1], qualnames, observer)


def parse_closes(message: str) -> tuple[int, ...]:
    """Return the issue numbers a commit message says it closes (``Closes #1142, #1141``)."""
    out: list[int] = []
    for m in _CLOSES_RE.finditer(message):
        for n in _ISSUE_RE.findall(m.group(1)):
            if int(n) not in out:
                out.append(int(n))
    return tuple(out)
