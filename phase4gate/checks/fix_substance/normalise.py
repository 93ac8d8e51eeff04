"""Normalisation: strip what only observes (logging, ``print``, docstrings) and fingerprint each symbol's code.

Also the small AST walkers the other modules share (definitions by qualified
name, a definition's line span, a function's own statements).
"""

from __future__ import annotations

import ast
import types
from collections.abc import Iterable
from typing import Final

from phase4gate.checks.fix_substance.model import AuditOptions

# Calls inside a logging call's arguments that cannot change state.
_PURE_CALLS: Final = frozenset(
    {
        "abs", "all", "any", "bool", "dict", "float", "format", "frozenset", "hex", "id", "int",
        "isinstance", "len", "list", "max", "min", "repr", "round", "set", "sorted", "str", "sum",
        "tuple", "type",
    }
)  # fmt: skip
# Method calls inside a logging call's arguments that only read (``event.get("type")``).
_PURE_METHODS: Final = frozenset(
    {"get", "keys", "values", "items", "format", "join", "lower", "upper", "strip", "isoformat", "count", "index"}
)


def _root_name(node: ast.expr) -> str | None:
    """Return the name a call chain hangs off for logger matching (``self._log.info`` -> ``_log``)."""
    while isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        inner = node.value
        while isinstance(inner, ast.Call):
            inner = inner.func
        if isinstance(inner, ast.Name):
            return inner.id
        if isinstance(inner, ast.Attribute):
            return inner.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


class _Observer:
    """Decides which statements only observe (logging, print, isEnabledFor-guarded)."""

    def __init__(self, options: AuditOptions) -> None:
        self.names = frozenset(options.logging_names)
        self.warnings = options.warnings_are_logging

    def _is_log_target(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return func.id == "print" or (self.warnings and func.id == "warn")
        if isinstance(func, ast.Attribute):
            if self.warnings and _root_name(func) == "warnings" and func.attr == "warn":
                return True
            # Any link of the receiver chain may be the logger: logger.x, self._log.x, logging.getLogger(n).x.
            node: ast.expr = func.value
            for _ in range(32):  # bounded: chains are short
                if isinstance(node, ast.Name):
                    return node.id in self.names
                if isinstance(node, ast.Attribute):
                    if node.attr in self.names:
                        return True
                    node = node.value
                elif isinstance(node, ast.Call):
                    node = node.func
                else:
                    return False
        return False

    @staticmethod
    def _pure(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant | ast.Name):
            return True  # the common case, without a walk
        for sub in ast.walk(node):
            if isinstance(sub, ast.NamedExpr | ast.Await | ast.Yield | ast.YieldFrom | ast.Lambda):
                return False
            if isinstance(sub, ast.Call) and not (
                (isinstance(sub.func, ast.Name) and sub.func.id in _PURE_CALLS)
                or (isinstance(sub.func, ast.Attribute) and sub.func.attr in _PURE_METHODS)
            ):
                return False
        return True

    def is_log_call(self, node: ast.expr) -> bool:
        """Return whether *node* is a logging call whose arguments change nothing."""
        if not isinstance(node, ast.Call) or not self._is_log_target(node.func):
            return False
        args = [*node.args, *(k.value for k in node.keywords)]
        # The call chain's own receiver (``logging.getLogger(x).info``) is allowed to call.
        return all(self._pure(a) for a in args)

    def is_guard(self, node: ast.stmt) -> bool:
        """``if logger.isEnabledFor(...):`` with no ``else``."""
        return (
            isinstance(node, ast.If)
            and not node.orelse
            and isinstance(node.test, ast.Call)
            and isinstance(node.test.func, ast.Attribute)
            and node.test.func.attr == "isEnabledFor"
            and _root_name(node.test.func) in self.names
        )

    def is_logger_setup(self, node: ast.stmt) -> bool:
        """Module-level ``import logging`` and ``logger = logging.getLogger(...)``."""
        if isinstance(node, ast.Import):
            return all(a.name == "logging" for a in node.names)
        if isinstance(node, ast.ImportFrom):
            return node.module == "logging"
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            return (
                all(isinstance(t, ast.Name) and t.id in self.names for t in targets)
                and isinstance(value, ast.Call)
                and (
                    (isinstance(value.func, ast.Attribute) and value.func.attr == "getLogger")
                    or (isinstance(value.func, ast.Name) and value.func.id == "getLogger")
                )
            )
        return False


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_BODIES: Final = ("body", "orelse", "finalbody")


_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)


def _strip(node: ast.AST, observer: _Observer, observed: list[ast.stmt], *, module: bool = False) -> None:
    """Remove docstrings and observing statements from every statement list under *node*, in place.

    Each removed observing statement is kept in *observed*, so two sides whose
    code is equal can still be told apart as logging-only (their observations
    differ) or docs-only.
    """
    for name in _BODIES:
        body = getattr(node, name, None)
        if not body or not isinstance(body[0], ast.stmt):
            continue
        doc = name == "body" and isinstance(node, ast.Module | _Def)
        kept: list[ast.stmt] = []
        for i, stmt in enumerate(body):
            if doc and i == 0 and _is_docstring(stmt):
                continue
            if isinstance(stmt, _COMPOUND):
                _strip(stmt, observer, observed)
                if observer.is_guard(stmt) and all(isinstance(s, ast.Pass) for s in getattr(stmt, "body", [])):
                    observed.append(stmt)
                    continue
            elif (isinstance(stmt, ast.Expr) and observer.is_log_call(stmt.value)) or (
                module and observer.is_logger_setup(stmt)
            ):
                observed.append(stmt)
                continue
            kept.append(stmt)
        if not kept:
            # Keep the block valid; the location is the first removed statement's.
            filler = ast.Pass()
            ast.copy_location(filler, body[0])
            kept.append(filler)
        setattr(node, name, kept)
    for sub in (*(getattr(node, "handlers", ()) or ()), *(getattr(node, "cases", ()) or ())):
        _strip(sub, observer, observed)


def _code_key(code: types.CodeType) -> tuple[object, ...]:
    """Return *code*'s behaviour without line numbers; nested functions and classes are named, not inlined."""
    consts: list[object] = []
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            consts.append(("<def>", c.co_qualname) if not c.co_name.startswith("<") else _code_key(c))
        else:
            consts.append((type(c).__name__, c))
    return (
        code.co_code,
        tuple(consts),
        code.co_names,
        code.co_varnames,
        code.co_freevars,
        code.co_cellvars,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags,
        code.co_exceptiontable,
    )


def _qualname(code: types.CodeType) -> str:
    return "<module>" if code.co_name == "<module>" else code.co_qualname.replace(".<locals>", "")


class _Side:
    """One side of a Python file: per symbol its code key and line range; text and logging on demand."""

    def __init__(  # noqa: PLR0913, PLR0917 - private; the parts of one side
        self,
        keys: dict[str, tuple[object, ...]],
        ranges: dict[str, tuple[int, int]],
        holes: dict[str, list[tuple[int, int]]],
        lines: list[str],
        observed: list[ast.stmt],
        children: dict[str, set[str]],
    ) -> None:
        self.children = children
        self.keys = keys
        self.ranges = ranges
        self._holes = holes
        self._lines = lines
        self._observed = observed

    def text(self, q: str) -> str:
        """Return symbol *q*'s own source lines (nested definitions left out), comments included."""
        start, end = self.ranges[q]
        parts: list[str] = []
        pos = start
        for a, b in sorted(self._holes.get(q, [])):
            parts.extend(self._lines[pos - 1 : a - 1])
            pos = max(pos, b + 1)
        parts.extend(self._lines[pos - 1 : end])
        # Blank lines and trailing spaces are formatting, not text.
        return "\n".join(p.rstrip() for p in parts if p.strip())

    def observed(self) -> list[str]:
        """Return the removed observing statements, without line numbers."""
        return [ast.dump(s) for s in self._observed]


def _side(tree: ast.Module, text: str, path: str, observer: _Observer) -> _Side:
    """Fingerprint one side (mutates *tree*).

    Raises:
        SyntaxError: the tree does not compile (e.g. ``return`` outside a function).
    """
    lines = text.splitlines()
    ranges: dict[str, tuple[int, int]] = {"<module>": (1, max(len(lines), 1))}
    own: dict[str, list[tuple[int, int]]] = {"<module>": []}
    children: dict[str, set[str]] = {}

    def walk(node: ast.AST, prefix: str, owner: str) -> None:
        for name in _BODIES:
            for stmt in getattr(node, name, None) or ():
                if isinstance(stmt, _Def):
                    q = f"{prefix}{stmt.name}"
                    start = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
                    end = stmt.end_lineno or stmt.lineno
                    old = ranges.get(q)
                    ranges[q] = (min(start, old[0]), max(end, old[1])) if old else (start, end)
                    own[owner].append((start, end))
                    own.setdefault(q, [])
                    children.setdefault(owner, set()).add(q)
                    walk(stmt, f"{q}.", q)
                elif isinstance(stmt, _COMPOUND):
                    walk(stmt, prefix, owner)
        for sub in (*(getattr(node, "handlers", ()) or ()), *(getattr(node, "cases", ()) or ())):
            walk(sub, prefix, owner)

    walk(tree, "", "<module>")
    observed: list[ast.stmt] = []
    _strip(tree, observer, observed, module=True)
    code = compile(tree, path, "exec", dont_inherit=True)
    keys: dict[str, tuple[object, ...]] = {}
    stack = [code]
    while stack:
        c = stack.pop()
        if c.co_name.startswith("<") and c.co_name != "<module>":
            continue  # lambdas and comprehensions are part of their owner's key
        q = _qualname(c)
        key = _code_key(c)
        keys[q] = keys[q] + key if q in keys else key
        stack.extend(x for x in c.co_consts if isinstance(x, types.CodeType))
    return _Side(keys, ranges, own, lines, observed, children)


def _def_nodes(tree: ast.Module) -> dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]]:
    out: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]] = {}

    def walk(node: ast.AST, prefix: str) -> None:
        for name in _BODIES:
            for stmt in getattr(node, name, None) or ():
                if isinstance(stmt, _Def):
                    q = f"{prefix}{stmt.name}"
                    out.setdefault(q, []).append(stmt)
                    walk(stmt, f"{q}.")
                elif isinstance(stmt, _COMPOUND):
                    walk(stmt, prefix)

    walk(tree, "")
    return out


def _span(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> tuple[int, int]:
    return min([node.lineno, *(d.lineno for d in node.decorator_list)]), node.end_lineno or node.lineno


def _own_statements(fn: ast.AST) -> Iterable[ast.stmt]:
    """Every statement inside function *fn*, not descending into nested definitions."""
    stack: list[ast.AST] = [fn]
    while stack:
        node = stack.pop()
        for name in _BODIES:
            for stmt in getattr(node, name, None) or ():
                if not isinstance(stmt, ast.stmt):
                    continue
                yield stmt
                if isinstance(stmt, _COMPOUND) and not isinstance(stmt, _Def):
                    stack.append(stmt)
        stack.extend((*(getattr(node, "handlers", ()) or ()), *(getattr(node, "cases", ()) or ())))
