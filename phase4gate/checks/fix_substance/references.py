"""Test references: which tests a commit added or changed, and which names a test's source mentions."""

from __future__ import annotations

import ast
import copy

from phase4gate.checks.fix_substance.model import FileChange
from phase4gate.checks.fix_substance.normalise import _Def, _is_docstring


def _dump_nodoc(stmt: ast.stmt) -> str:
    """Dump *stmt* without line numbers, and without its docstring when it is a definition."""
    if isinstance(stmt, _Def) and stmt.body and _is_docstring(stmt.body[0]):
        stmt = copy.copy(stmt)
        stmt.body = stmt.body[1:]
    return ast.dump(stmt)


def _test_functions(tree: ast.Module) -> dict[str, str]:
    """Map pytest node-id suffix (``Class::test``) -> dump without docstrings."""
    out: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name.startswith("test"):
            out[stmt.name] = _dump_nodoc(stmt)
        elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            for sub in stmt.body:
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef) and sub.name.startswith("test"):
                    out[f"{stmt.name}::{sub.name}"] = _dump_nodoc(sub)
    return out


def _helpers_dump(tree: ast.Module) -> str:
    keep = [
        s
        for s in tree.body
        if not (isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name.startswith("test"))
        and not (isinstance(s, ast.ClassDef) and s.name.startswith("Test"))
    ]
    return "\n".join(_dump_nodoc(s) for s in keep if not _is_docstring(s))


def changed_test_ids(change: FileChange) -> tuple[str, ...]:
    """Return the pytest node ids of tests new or changed in a test file.

    When fixtures or helpers of the module changed, every test in it counts as changed.
    """
    if change.after is None or not change.path.endswith(".py"):
        return ()
    try:
        after = ast.parse(change.after)
        before = ast.parse(change.before) if change.before is not None else None
    except (SyntaxError, ValueError):
        return ()
    a = _test_functions(after)
    if before is None or _helpers_dump(before) != _helpers_dump(after):
        names = list(a)
    else:
        b = _test_functions(before)
        names = [n for n, dump in a.items() if b.get(n) != dump]
    return tuple(f"{change.path}::{n}" for n in names)


def _referenced_names(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            out.update(a.name for a in node.names)
            if node.module:
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out
