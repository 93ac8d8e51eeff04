"""WP01 fix-substance audit: is a fix commit behavioural for its blocker, and proven by a test?

Pure: everything here takes data (``(path, before, after)`` triples, sources,
pytest outcomes) and returns frozen verdicts.  The plan's stop condition is
"#1141 diff is logging-only": a fix is judged on the files and symbols that
belong to its blocker (its *focus*), after removing what only observes —
logging calls, ``print``, docstrings, comments — from both sides of each Python
file and comparing the normalised trees.  A test proves a fix only if it passes
with the fix and fails without it on behaviour, not merely on a name the fix
added (``shared/REAL_WORLD.md``: #1182's ``AttributeError``/``KeyError`` tests).
"""

from __future__ import annotations

import ast
import builtins
import copy
import difflib
import enum
import re
import textwrap
import types
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Final

from attrs import evolve, field, frozen

__all__ = [
    "DEFAULT_LOGGING_NAMES",
    "MISSING_NAME_CLASSES",
    "AuditOptions",
    "ChangedSymbol",
    "Classification",
    "FileChange",
    "FileKind",
    "FileReport",
    "Focus",
    "InseparableChangeError",
    "ProofJudgement",
    "TestJudgement",
    "TestOutcome",
    "TestProof",
    "Verdict",
    "added_names",
    "audit_fix_substance",
    "changed_test_ids",
    "classify_file",
    "find_callers",
    "judge_proof",
    "missing_name",
    "module_name",
    "parse_closes",
    "reads_only_logs",
    "without_fix_source",
]

DEFAULT_LOGGING_NAMES: Final = ("logger", "logging", "log", "_log", "_logger", "LOGGER", "LOG")
# Failures that only show a name is missing: they prove the API grew, not that behaviour changed.
MISSING_NAME_CLASSES: Final = frozenset(
    {"ImportError", "ModuleNotFoundError", "NameError", "AttributeError", "KeyError"}
)
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
_DOC_SUFFIXES: Final = (".md", ".rst", ".txt", ".adoc")
_DOC_NAMES_RE = re.compile(r"^(CHANGELOG|CHANGES|HISTORY|NEWS|README|AUTHORS|CONTRIBUTING)([.-].*)?$", re.IGNORECASE)
_DOC_DIRS: Final = ("docs/", "doc/", "kitty-specs/", "specs/")
_CLOSES_RE = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\b:?\s+"
    r"((?:[\w.-]+/[\w.-]+)?#\d+(?:[\s,]+(?:and\s+)?(?:[\w.-]+/[\w.-]+)?#\d+)*)",
    re.IGNORECASE,
)
_ISSUE_RE = re.compile(r"#(\d+)")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class FileKind(enum.StrEnum):
    """What a changed file's change is."""

    BEHAVIOURAL = "behavioural"
    LOGGING_ONLY = "logging-only"
    DOCS_ONLY = "docs-only"
    TEST = "test"
    NOT_ANALYSED = "not-analysed"  # other languages and config: counted as behavioural
    UNPARSEABLE = "unparseable"


class Verdict(enum.StrEnum):
    """WP01's per-blocker verdicts; every one but ``substantive`` is a stop reason."""

    SUBSTANTIVE = "substantive"
    LOGGING_ONLY = "logging-only"
    DOCS_ONLY = "docs-only"
    FOCUS_UNTOUCHED = "focus-untouched"
    NO_TEST = "no-test"
    TEST_NOT_REFERENCING = "test-not-referencing"
    TEST_PASSES_WITHOUT_FIX = "test-passes-without-fix"
    TEST_FAILS_WITH_FIX = "test-fails-with-fix"
    PROOF_ONLY_MISSING_NAME = "proof-only-missing-name"
    PROOF_ONLY_LOGS = "proof-only-logs"
    UNPARSEABLE = "unparseable"


@frozen
class FileChange:
    """One changed file of a commit: both sides' text (``None`` where the side does not exist)."""

    path: str
    before: str | None
    after: str | None
    old_path: str | None = None  # set for renames

    @property
    def status(self) -> str:
        """``added``, ``deleted``, ``renamed`` or ``modified``."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "deleted"
        if self.old_path and self.old_path != self.path:
            return "renamed"
        return "modified"


@frozen
class AuditOptions:
    """Which names are loggers, and whether ``warnings.warn`` only observes."""

    logging_names: tuple[str, ...] = DEFAULT_LOGGING_NAMES
    warnings_are_logging: bool = False


@frozen
class Focus:
    """The files and symbols that belong to one blocker; empty means the whole commit."""

    files: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing is configured: the whole commit is judged."""
        return not self.files and not self.symbols


@frozen
class ChangedSymbol:
    """A function, method or class whose code changed, with its line range."""

    path: str
    qualname: str  # "OfflineQueue.queue_event"; "<module>" for module-level statements
    change: str  # "modified", "added", "deleted"
    start: int
    end: int
    behavioural: bool = True  # False: changed only by logging, docstrings or comments
    in_focus: bool = False

    @property
    def name(self) -> str:
        """The last component of the qualified name."""
        return self.qualname.rsplit(".", 1)[-1]

    def __str__(self) -> str:
        return f"{self.path}:{self.qualname} ({self.start}-{self.end})"


@frozen
class FileReport:
    """One file's classification."""

    path: str
    status: str
    kind: FileKind
    old_path: str | None = None
    in_focus: bool = False
    symbols: tuple[ChangedSymbol, ...] = ()
    error: str | None = None


@frozen
class Classification:
    """The audit of one commit for one blocker, before (or without) the proof."""

    verdict: Verdict
    reason: str
    files: tuple[FileReport, ...]
    changed_symbols: tuple[ChangedSymbol, ...]
    closes: tuple[int, ...] = ()
    focus: Focus = Focus()
    focus_callers: tuple[str, ...] = ()
    outside_focus: tuple[str, ...] = ()
    referencing_tests: tuple[str, ...] = ()  # "path: name" of tests naming a changed focus symbol
    test_ids: tuple[str, ...] = ()  # pytest node ids to run in the proof
    restore_paths: tuple[str, ...] = ()  # behavioural focus files to restore to the parent
    # "path:qualname" of the behavioural focus symbols the proof reverts (only these, when focus symbols narrow).
    restore_symbols: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def needs_proof(self) -> bool:
        """True when the verdict so far is ``substantive`` and a test must prove it."""
        return self.verdict is Verdict.SUBSTANTIVE


# --------------------------------------------------------------------------- normalisation


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


# --------------------------------------------------------------------------- per file


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


def classify_file(change: FileChange, options: AuditOptions = AuditOptions()) -> FileReport:
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


class InseparableChangeError(ValueError):
    """The focus's changes in a file cannot be reverted without also reverting the file's other changes."""


def without_fix_source(
    change: FileChange,
    options: AuditOptions = AuditOptions(),
    symbols: Collection[str] | None = None,
) -> str | None:
    """Return the file as the proof's "without the fix" tree holds it (``None``: the file did not exist).

    Each function whose code the fix changed goes back to the parent's version;
    functions changed only by logging or docstrings, and a new module-level
    logger, stay as at the fix, so a test asserting a new log line there does not
    flip.  Inside a reverted function the fix's added observing statements
    (logging calls the classifier strips) are kept too, where that is provably
    safe (:func:`_keep_added_observations`).  When the behavioural change is not
    inside functions (module-level statements, class bodies, added or deleted
    definitions) the whole parent file is used.

    *symbols* (qualified names) narrows the revert to those symbols' behavioural
    changes: every other behavioural change of the file stays as at the fix, so
    a test of another symbol (a squash's other fix) cannot flip.  ``None``
    reverts every behavioural change.

    Raises:
        InseparableChangeError: *symbols* leaves other changes that cannot be kept
            apart from the reverted ones (both are outside plain functions).
    """
    if change.before is None or change.after is None:
        return change.before
    report = classify_file(change, options)
    behavioural = [s for s in report.symbols if s.behavioural]
    wanted = set(symbols) if symbols is not None else {s.qualname for s in behavioural}
    revert = [s for s in behavioural if s.qualname in wanted]
    keep = [s for s in behavioural if s.qualname not in wanted]
    if report.kind is not FileKind.BEHAVIOURAL:
        return change.before
    if not revert:
        return change.after
    text = _revert_functions(change, options, revert)
    if not keep:
        return change.before if text is None else text
    if text is None:
        text = _keep_functions(change, keep)
    if text is None or not _reverts_exactly(change, text, {s.qualname for s in keep}, options):
        msg = (
            f"{change.path}: the fix's changes to {', '.join(s.qualname for s in revert)} cannot be reverted "
            f"apart from its other changes ({', '.join(s.qualname for s in keep)})"
        )
        raise InseparableChangeError(msg)
    return text


def _plain_functions(change: FileChange, syms: Sequence[ChangedSymbol]) -> list[tuple[str, ast.AST, ast.AST]] | None:
    """The outermost of *syms* as ``(qualname, after def, before def)``; ``None`` unless all are modified functions."""
    if any(s.change != "modified" or s.qualname == "<module>" for s in syms):
        return None
    before_defs = _def_nodes(ast.parse(change.before or ""))
    after_defs = _def_nodes(ast.parse(change.after or ""))
    names = {s.qualname for s in syms}
    out: list[tuple[str, ast.AST, ast.AST]] = []
    for q in sorted(q for q in names if not any(q.startswith(f"{o}.") for o in names)):
        a, b = after_defs.get(q, []), before_defs.get(q, [])
        if len(a) != 1 or len(b) != 1 or isinstance(a[0], ast.ClassDef) or isinstance(b[0], ast.ClassDef):
            return None
        out.append((q, a[0], b[0]))
    return out


def _revert_functions(change: FileChange, options: AuditOptions, revert: Sequence[ChangedSymbol]) -> str | None:
    """The file at the fix with the functions *revert* back at the parent (added logging kept); ``None``: not plain."""
    plain = _plain_functions(change, revert)
    if plain is None:
        return None
    before_lines = (change.before or "").splitlines(keepends=True)
    after_lines = (change.after or "").splitlines(keepends=True)
    edits: list[tuple[int, int, list[str]]] = []
    for _q, a, b in plain:
        (a0, a1), (b0, b1) = _span(a), _span(b)  # type: ignore[arg-type]
        edits.append((a0, a1, before_lines[b0 - 1 : b1]))
    text = _splice(after_lines, edits)
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):  # pragma: no cover - a splice of whole definitions parses
        return None
    observer = _Observer(options)
    module = _module_names(ast.parse(change.after or ""))
    for n, (q, a, b) in enumerate(plain):
        kept = _keep_added_observations(a, b, after_lines, before_lines, observer, module)  # type: ignore[arg-type]
        if kept is None:
            continue
        trial = list(edits)
        trial[n] = (trial[n][0], trial[n][1], kept)
        candidate = _splice(after_lines, trial)
        if _reverts_behaviour(change, candidate, q, options):
            edits, text = trial, candidate
    return text


def _keep_functions(change: FileChange, keep: Sequence[ChangedSymbol]) -> str | None:
    """The parent's file with the functions *keep* as at the fix; ``None`` unless they are plain modified functions."""
    plain = _plain_functions(change, keep)
    if plain is None:
        return None
    before_lines = (change.before or "").splitlines(keepends=True)
    after_lines = (change.after or "").splitlines(keepends=True)
    edits = []
    for _q, a, b in plain:
        (a0, a1), (b0, b1) = _span(a), _span(b)  # type: ignore[arg-type]
        edits.append((b0, b1, after_lines[a0 - 1 : a1]))
    return _splice(before_lines, edits)


def _reverts_exactly(change: FileChange, text: str, keep: set[str], options: AuditOptions) -> bool:
    """True when *text*'s behaviour differs from the parent's in exactly *keep* (and what is nested in them)."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    report = classify_file(FileChange(change.path, change.before, text), options)
    if report.kind is FileKind.UNPARSEABLE:
        return False
    left = {s.qualname for s in report.symbols if s.behavioural}
    nested = {q for q in left if any(q.startswith(f"{k}.") for k in keep)}
    return left - nested == keep


def _splice(lines: list[str], edits: Sequence[tuple[int, int, list[str]]]) -> str:
    out = list(lines)
    for a0, a1, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        out[a0 - 1 : a1] = replacement
    return "".join(out)


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


def _bound_names(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[str]:
    """Names *fn* binds locally: its parameters and every name stored in its own statements."""
    out: set[str] = set()
    if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        args = fn.args
        out.update(a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs))
        out.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    for stmt in _own_statements(fn):
        if isinstance(stmt, _Def):
            out.add(stmt.name)
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                out.add(node.id)
            elif isinstance(node, ast.alias):
                out.add((node.asname or node.name).split(".", 1)[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                out.add(node.name)
    return out


def _module_names(tree: ast.Module) -> set[str]:
    """Builtins and the names the module binds at its top level."""
    out = set(dir(builtins))
    for stmt in tree.body:
        if isinstance(stmt, _Def):
            out.add(stmt.name)
            continue
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            out.update((a.asname or a.name).split(".", 1)[0] for a in stmt.names)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            out.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return out


def _keep_added_observations(  # noqa: PLR0913, PLR0917 - private; one function's two sides
    after_fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
    before_fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
    after_lines: list[str],
    before_lines: list[str],
    observer: _Observer,
    module: set[str],
) -> list[str] | None:
    """Return *q*'s parent lines with the fix's added logging statements kept in place, or ``None``.

    ``None`` (the plain parent version is used) when the fix added no observing
    statement to *q*, or when one cannot be kept safely: it shares a line with
    other code, its lines also occur at the parent, or it reads a name the
    parent's function does not bind before it at the function's top level (a
    kept log line must never fail on its own: that would look like a proof).
    """
    before_count: dict[str, int] = {}
    for stmt in _own_statements(before_fn):
        if isinstance(stmt, ast.Expr) and observer.is_log_call(stmt.value):
            before_count[ast.dump(stmt)] = before_count.get(ast.dump(stmt), 0) + 1
    added: list[ast.Expr] = []
    for stmt in sorted(_own_statements(after_fn), key=lambda s: s.lineno):
        if isinstance(stmt, ast.Expr) and observer.is_log_call(stmt.value):
            d = ast.dump(stmt)
            if before_count.get(d, 0):
                before_count[d] -= 1
            else:
                added.append(stmt)
    if not added:
        return None
    (a0, a1), (b0, b1) = _span(after_fn), _span(before_fn)
    after_fn_lines, before_fn_lines = after_lines[a0 - 1 : a1], before_lines[b0 - 1 : b1]
    owner: dict[int, ast.Expr] = {}  # relative after line -> the added statement on it
    for stmt in added:
        first, last = stmt.lineno, stmt.end_lineno or stmt.lineno
        head, tail = after_lines[first - 1], after_lines[last - 1].rstrip("\r\n")
        if head[: stmt.col_offset].strip() or tail[stmt.end_col_offset or 0 :].strip():
            return None  # shares a line with other code
        for line in range(first, last + 1):
            owner[line - a0] = stmt
    out: list[str] = []
    placed: dict[int, int] = {}  # id(stmt) -> relative line of its first line in *out*
    matcher = difflib.SequenceMatcher(None, before_fn_lines, after_fn_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in {"equal", "delete"}:
            if tag == "equal" and any(j in owner for j in range(j1, j2)):
                return None  # the added statement's text also sits in the parent: no safe place
            out.extend(before_fn_lines[i1:i2])
            continue
        marked = [j for j in range(j1, j2) if j in owner]
        lead: list[int] = []
        for j in range(j1, j2):
            if j not in owner:
                break
            lead.append(j)
        for j in lead:
            placed.setdefault(id(owner[j]), len(out))
            out.append(after_fn_lines[j])
        out.extend(before_fn_lines[i1:i2])
        for j in marked[len(lead) :]:
            placed.setdefault(id(owner[j]), len(out))
            out.append(after_fn_lines[j])
    if len(placed) != len(added):  # pragma: no cover - every owned line is in a changed chunk
        return None
    if not _reads_bound_names(added, placed, before_fn, after_fn, out, module):
        return None
    return out


def _reverts_behaviour(change: FileChange, candidate: str, q: str, options: AuditOptions) -> bool:
    """True when *candidate*'s *q* (and everything in it) has the parent's code: it differs only by observing."""
    try:
        ast.parse(candidate)
    except (SyntaxError, ValueError):
        return False
    report = classify_file(FileChange(change.path, change.before, candidate), options)
    if report.kind is FileKind.UNPARSEABLE:
        return False
    return not any(s.behavioural and (s.qualname == q or s.qualname.startswith(f"{q}.")) for s in report.symbols)


def _reads_bound_names(  # noqa: PLR0913, PLR0917 - private; the kept statements and their context
    added: Sequence[ast.Expr],
    placed: Mapping[int, int],
    before_fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
    after_fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
    lines: list[str],
    module: set[str],
) -> bool:
    """True when every name each kept statement reads is bound where it now stands, without the fix.

    A name local to the parent's function must be a parameter or assigned by a
    top-level statement of its body that ends before the kept statement; a name
    only the fix's function binds is refused; any other name must be a builtin
    or a module-level name of the file at the fix.
    """
    if not isinstance(before_fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    try:
        candidate = ast.parse(textwrap.dedent("".join(lines)))
    except (SyntaxError, ValueError):
        return False
    fn = candidate.body[0] if candidate.body else None
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    args = fn.args
    params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    params.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    local_before = _bound_names(before_fn)
    local_after = _bound_names(after_fn)
    for stmt in added:
        at = placed[id(stmt)] + 1  # 1-based line of the kept statement in *fn*'s text
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
                continue
            n = node.id
            if n in params:
                continue
            if n in local_before:
                if not any(
                    (s.end_lineno or s.lineno) < at
                    and isinstance(s, ast.Assign | ast.AnnAssign)
                    and any(
                        isinstance(t, ast.Name) and t.id == n
                        for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
                    )
                    for s in fn.body
                ):
                    return False
            elif n in local_after or n not in module:
                return False
    return True


# --------------------------------------------------------------------------- focus and callers


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


# --------------------------------------------------------------------------- tests


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


# --------------------------------------------------------------------------- the audit


def _with_focus(sym: ChangedSymbol, in_focus: bool) -> ChangedSymbol:
    if sym.in_focus is in_focus:
        return sym
    return ChangedSymbol(sym.path, sym.qualname, sym.change, sym.start, sym.end, sym.behavioural, in_focus)


def audit_fix_substance(  # noqa: PLR0913 - the audit's inputs
    changes: Sequence[FileChange],
    *,
    message: str = "",
    focus: Focus = Focus(),
    callers: Sequence[str] = (),
    options: AuditOptions = AuditOptions(),
    focus_applies: bool = True,
    reports: Sequence[FileReport] | None = None,
) -> Classification:
    """Classify a commit for one blocker and decide the verdict before the proof.

    ``callers`` (from :func:`find_callers`) widens the focus to the direct
    callers of its symbols.  ``focus_applies=False`` (a sibling repository where
    none of the focus exists) judges the whole commit and says so.
    ``reports`` are :func:`classify_file`'s results for *changes*, when the
    caller computed them already (e.g. on several cores).

    Raises:
        ValueError: *reports* does not match *changes*.
    """
    closes = parse_closes(message)
    notes: list[str] = []
    use_focus = focus if focus_applies else Focus()
    if not focus_applies and not focus.empty:
        notes.append("the configured focus does not exist in this repository; the whole commit is judged")
    caller_set = frozenset(callers)
    focus_files = set(use_focus.files)
    classified = list(reports) if reports is not None else [classify_file(ch, options) for ch in changes]
    if len(classified) != len(changes):
        msg = f"{len(classified)} file reports for {len(changes)} changed files"
        raise ValueError(msg)
    reports_out: list[FileReport] = []
    # Focus symbols narrow a focus file: only they, their callers and the file's module-level and
    # class-body code count; its other functions belong to another issue (a squash's other fix).
    narrow = bool(use_focus.symbols)
    outside_symbols: list[str] = []
    focus_only_observes: dict[str, bool] = {}
    for ch, rep in zip(changes, classified, strict=True):
        in_file = use_focus.empty or ch.path in focus_files or (ch.old_path or "") in focus_files
        whole_file = in_file and (not narrow or not rep.symbols)
        top = _non_function_symbols(ch) if in_file and narrow else frozenset()
        syms = tuple(
            _with_focus(s, whole_file or s.qualname in top or _symbol_in_focus(s, use_focus, caller_set))
            for s in rep.symbols
        )
        file_in = whole_file or any(s.in_focus for s in syms)
        if file_in and not whole_file and rep.kind is FileKind.BEHAVIOURAL:
            outside_symbols.extend(f"{s.path}:{s.qualname}" for s in syms if s.behavioural and not s.in_focus)
            focus_only_observes[rep.path] = _observations_differ(ch, [s.qualname for s in syms if s.in_focus], options)
        reports_out.append(evolve(rep, in_focus=file_in, symbols=syms))
    reports = reports_out
    if len(closes) > 1 and use_focus.empty:
        notes.append(f"the message closes {', '.join(f'#{n}' for n in closes)}: this verdict covers the whole commit")
    all_symbols = tuple(s for r in reports for s in r.symbols)
    base = {
        "files": tuple(reports),
        "changed_symbols": all_symbols,
        "closes": closes,
        "focus": use_focus,
        "focus_callers": tuple(callers),
    }
    bad = [r for r in reports if r.kind is FileKind.UNPARSEABLE]
    if bad:
        reason = "; ".join(r.error or r.path for r in bad)
        return Classification(Verdict.UNPARSEABLE, reason, notes=tuple(notes), **base)  # type: ignore[arg-type]

    def counts(r: FileReport) -> bool:
        return use_focus.empty or r.in_focus

    behavioural_kinds = {FileKind.BEHAVIOURAL, FileKind.NOT_ANALYSED}
    scope = [r for r in reports if r.kind is not FileKind.TEST and counts(r)]
    outside = tuple(r.path for r in reports if r.kind in behavioural_kinds and not counts(r)) + tuple(outside_symbols)
    behavioural: list[FileReport] = []
    # A behavioural focus file whose focus part changed only by logging or docs counts as that.
    focus_kinds: dict[str, FileKind] = {}
    for r in scope:
        if r.kind is FileKind.NOT_ANALYSED:
            behavioural.append(r)
        elif r.kind is FileKind.BEHAVIOURAL:
            in_syms = [s for s in r.symbols if s.behavioural and (use_focus.empty or s.in_focus)]
            whole_focus_file = (
                r.path in focus_files or (r.old_path or "") in focus_files
            ) and r.path not in focus_only_observes
            if in_syms or whole_focus_file or use_focus.empty:
                behavioural.append(r)
            else:
                observes = focus_only_observes.get(r.path, False)
                focus_kinds[r.path] = FileKind.LOGGING_ONLY if observes else FileKind.DOCS_ONLY
    base["outside_focus"] = outside
    where = "the whole commit" if use_focus.empty else "the focus"
    if not behavioural:
        scope = [evolve(r, kind=focus_kinds.get(r.path, r.kind)) for r in scope]
        scope = [r for r in scope if r.kind is not FileKind.BEHAVIOURAL]
        kinds = {r.kind for r in scope}
        if FileKind.LOGGING_ONLY in kinds:
            verdict, reason = (
                Verdict.LOGGING_ONLY,
                f"{where} changed only by logging: "
                + ", ".join(r.path for r in scope if r.kind is FileKind.LOGGING_ONLY),
            )
        elif FileKind.DOCS_ONLY in kinds:
            verdict, reason = Verdict.DOCS_ONLY, f"{where} changed only in docs: " + ", ".join(r.path for r in scope)
        else:
            verdict, reason = Verdict.FOCUS_UNTOUCHED, f"no source change in {where}"
        if outside:
            reason += f"; behavioural changes outside the focus: {', '.join(outside)}"
        return Classification(verdict, reason, notes=tuple(notes), **base)  # type: ignore[arg-type]
    # Only the focus's own changes: a squash's other behavioural change in a focus file is not this blocker's.
    changed = [s for r in behavioural for s in r.symbols if s.behavioural and s.in_focus]
    names = {s.name for s in changed if s.qualname != "<module>"}
    # A module-level, added, moved or unanalysed change is referenced by importing its module.
    whole = [
        r
        for r in behavioural
        if any(s.qualname == "<module>" and s.behavioural for s in r.symbols)
        or r.kind is FileKind.NOT_ANALYSED
        or r.status in {"added", "renamed"}
    ]
    names |= {module_name(r.path).rsplit(".", 1)[-1] for r in whole} | {module_name(r.path) for r in whole}
    restore = tuple(r.path for r in behavioural if r.kind is FileKind.BEHAVIOURAL)
    tests = [
        (ch, r) for ch, r in zip(changes, reports, strict=True) if r.kind is FileKind.TEST and ch.after is not None
    ]
    base["restore_paths"] = restore
    base["restore_symbols"] = tuple(f"{s.path}:{s.qualname}" for s in changed)
    described = ", ".join(sorted({f"{s.path}:{s.qualname}" for s in changed})) or ", ".join(r.path for r in behavioural)
    if not tests:
        return Classification(
            Verdict.NO_TEST,
            f"behavioural change in {described} but no test added or changed",
            notes=tuple(notes),
            **base,  # type: ignore[arg-type]
        )
    referencing: list[str] = []
    for ch, _r in tests:
        hit = sorted(names & _referenced_names(ch.after or ""))
        if hit:
            referencing.append(f"{ch.path}: {', '.join(hit)}")
    if not referencing:
        return Classification(
            Verdict.TEST_NOT_REFERENCING,
            f"tests changed ({', '.join(ch.path for ch, _ in tests)}) but none references {', '.join(sorted(names))}",
            notes=tuple(notes),
            **base,  # type: ignore[arg-type]
        )
    ids = tuple(i for ch, _ in tests for i in changed_test_ids(ch))
    return Classification(
        Verdict.SUBSTANTIVE,
        f"behavioural change in {described}; referenced by {'; '.join(referencing)}",
        referencing_tests=tuple(referencing),
        test_ids=ids,
        notes=tuple(notes),
        **base,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- the proof


class TestOutcome(enum.StrEnum):
    """One pytest test's outcome in one tree."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # setup/teardown or collection error
    SKIPPED = "skipped"
    MISSING = "missing"  # not in the report at all

    __test__ = False


@frozen
class TestProof:
    """One test id's outcomes with and without the fix."""

    id: str
    with_fix: TestOutcome = field(converter=TestOutcome)
    without_fix: TestOutcome = field(converter=TestOutcome)
    failure_class: str | None = None  # without the fix
    failure_message: str | None = None
    # Where each failure without the fix was raised: (path relative to the tree, line), deepest tree frame.
    failure_locations: tuple[tuple[str, int], ...] = ()

    __test__ = False

    @property
    def collection_error(self) -> bool:
        """True when the failure without the fix is a collection (import) error of the test module."""
        msg = (self.failure_message or "").lower()
        return "collection" in msg or "while importing test module" in msg


class TestJudgement(enum.StrEnum):
    """What one test says about the fix."""

    PROVES = "proves"
    FAILS_WITH_FIX = "fails-with-fix"
    PASSES_WITHOUT_FIX = "passes-without-fix"
    MISSING_NAME = "missing-name"
    LOG_ONLY = "log-only"  # fails without the fix only in statements that read captured logs
    NOT_RUN_WITHOUT_FIX = "not-run-without-fix"  # skipped, collection error, or absent

    __test__ = False


@frozen
class ProofJudgement:
    """The proof's verdict and each test's judgement."""

    verdict: Verdict
    reason: str
    judgements: tuple[tuple[TestProof, TestJudgement], ...]


_NAME_PATTERNS: Final = (
    re.compile(r"has no attribute '([^']+)'"),
    re.compile(r"cannot import name '([^']+)'"),
    re.compile(r"No module named '([^']+)'"),
    re.compile(r"name '([^']+)' is not defined"),
    re.compile(r"^KeyError: ['\"]([^'\"]+)['\"]"),
)


def missing_name(failure_class: str | None, message: str | None) -> str | None:
    """Return the name a missing-name failure complains about, if it is one."""
    if failure_class not in MISSING_NAME_CLASSES or not message:
        return None
    for pattern in _NAME_PATTERNS:
        m = pattern.search(message.strip()) or pattern.search(message.strip().removeprefix(f"{failure_class}: "))
        if m:
            return m.group(1)
    if failure_class == "KeyError":
        m = re.search(r"KeyError: (\S+)", message)
        return m.group(1).strip("'\"") if m else None
    return None


def added_names(changes: Sequence[FileChange]) -> frozenset[str]:
    """Return identifiers and words that appear in the fix's added lines and nowhere before it.

    Only non-test files count: a name a test uses is not one the fix added.
    """
    added: set[str] = set()
    before: set[str] = set()
    for ch in changes:
        if _is_test_path(ch.path):
            continue
        old = (ch.before or "").splitlines()
        new = (ch.after or "").splitlines()
        before.update(_IDENT_RE.findall(ch.before or ""))
        for line in difflib.ndiff(old, new):
            if line.startswith("+ "):
                added.update(_IDENT_RE.findall(line[2:]))
        if ch.status in {"added", "renamed"} and ch.path.endswith(".py"):
            mod = module_name(ch.path)
            added.add(mod)
            added.update(mod.split("."))
    return frozenset(added - before)


_LOG_FIXTURES: Final = frozenset({"caplog"})
_LOG_ASSERTS: Final = frozenset({"assertLogs", "assertNoLogs"})
# Names a log-reading statement may also use: they hold no behaviour of the code under test.
_NEUTRAL_NAMES: Final = frozenset({*dir(builtins), "logging"})


def _innermost(nodes: Iterable[ast.AST], line: int) -> ast.AST | None:
    best: ast.AST | None = None
    for node in nodes:
        start, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if start is None or end is None or not start <= line <= end:
            continue
        if best is None or start >= getattr(best, "lineno", 0):
            best = node
    return best


def _log_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names in *fn* that hold only captured logs: ``caplog`` and what is computed from it alone."""
    args = fn.args
    derived = {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)
        if a.arg in _LOG_FIXTURES or (a.annotation is not None and "LogCaptureFixture" in ast.unparse(a.annotation))
    }
    bindings: list[tuple[ast.AST, ast.expr]] = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign):
            bindings.extend((t, node.value) for t in node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            bindings.append((node.target, node.value))
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            bindings.append((node.target, node.iter))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            bindings.append((node.optional_vars, node.context_expr))
    for _ in range(len(bindings) + 1):  # bounded fixpoint
        grew = False
        for target, value in bindings:
            if _reads_only(value, derived):
                for n in ast.walk(target):
                    if isinstance(n, ast.Name) and n.id not in derived:
                        derived.add(n.id)
                        grew = True
        if not grew:
            break
    # A name bound from anything else as well is not only logs.
    tainted = {
        n.id
        for target, value in bindings
        if not _reads_only(value, derived)
        for n in ast.walk(target)
        if isinstance(n, ast.Name)
    }
    return derived - tainted


def _reads_only(node: ast.AST, derived: set[str]) -> bool:
    """True when *node* reads at least one of *derived* and nothing but those and neutral names."""
    loaded = [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    comp_targets = {
        n.id
        for c in ast.walk(node)
        if isinstance(c, ast.comprehension)
        for n in ast.walk(c.target)
        if isinstance(n, ast.Name)
    }
    inner = derived | {t for t in comp_targets if _comprehension_over_logs(node, t, derived)}
    return any(n in derived for n in loaded) and all(n in inner or n in _NEUTRAL_NAMES for n in loaded)


def _comprehension_over_logs(node: ast.AST, name: str, derived: set[str]) -> bool:
    for c in ast.walk(node):
        if isinstance(c, ast.comprehension) and any(
            isinstance(n, ast.Name) and n.id == name for n in ast.walk(c.target)
        ):
            return _reads_only(c.iter, derived)
    return False  # pragma: no cover - only called for comprehension targets


def reads_only_logs(source: str, line: int) -> bool:
    """Return whether the statement at *line* of test *source* reads only captured logs.

    True for an ``assert`` (or any statement) inside a function whose every
    name is ``caplog`` (a ``LogCaptureFixture``), a value computed only from
    it (``records = caplog.records``, ``r`` in ``for r in caplog.records``),
    a builtin or ``logging``; and for ``with self.assertLogs(...)``.  A failure
    there shows only that a log line is missing, never behaviour.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    fns = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    fn = _innermost(fns, line)
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    stmt = _innermost((s for s in _own_statements(fn) if not isinstance(s, _Def)), line)
    if stmt is None:
        return False
    if isinstance(stmt, ast.With | ast.AsyncWith):
        if stmt.body and line >= stmt.body[0].lineno:  # pragma: no cover - the innermost statement is in the body
            return False
        return bool(stmt.items) and all(
            isinstance(i.context_expr, ast.Call)
            and isinstance(i.context_expr.func, ast.Attribute)
            and i.context_expr.func.attr in _LOG_ASSERTS
            for i in stmt.items
        )
    if isinstance(stmt, _COMPOUND):
        return False  # a compound statement's header (if/for/while) failing: judged as behaviour
    return _reads_only(stmt, _log_names(fn))


def _judge_one(proof: TestProof, names: frozenset[str], sources: Mapping[str, str]) -> TestJudgement:
    if proof.with_fix is not TestOutcome.PASSED:
        return TestJudgement.FAILS_WITH_FIX
    if proof.without_fix is TestOutcome.PASSED:
        return TestJudgement.PASSES_WITHOUT_FIX
    name = missing_name(proof.failure_class, proof.failure_message)
    if name is not None and (name in names or name.rsplit(".", 1)[-1] in names):
        return TestJudgement.MISSING_NAME
    if proof.failure_locations and all(
        _is_test_path(path) and path in sources and reads_only_logs(sources[path], line)
        for path, line in proof.failure_locations
    ):
        return TestJudgement.LOG_ONLY
    if proof.without_fix is TestOutcome.FAILED:
        return TestJudgement.PROVES
    if proof.without_fix is TestOutcome.ERROR and proof.failure_class and not proof.collection_error:
        return TestJudgement.PROVES
    return TestJudgement.NOT_RUN_WITHOUT_FIX


def judge_proof(
    proofs: Sequence[TestProof], names: frozenset[str], sources: Mapping[str, str] | None = None
) -> ProofJudgement:
    """Judge the proof: substantive only if some test passes with the fix and fails without it on behaviour.

    *names* are those only the fix's added lines contain (:func:`added_names`);
    a failure that only shows one of them missing does not prove the fix.
    *sources* (path -> text of the files where failures were raised) lets a
    failure in a statement that reads only captured logs (:func:`reads_only_logs`)
    be told apart: it never proves, however the tree without the fix was built.
    An empty proof never passes.
    """
    judged = tuple((p, _judge_one(p, names, sources or {})) for p in proofs)
    kinds = [j for _, j in judged]
    by = {k: [p.id for p, j in judged if j is k] for k in TestJudgement}
    if not judged:
        return ProofJudgement(Verdict.NO_TEST, "no new or changed test to run", judged)
    if TestJudgement.PROVES in kinds:
        return ProofJudgement(
            Verdict.SUBSTANTIVE, f"fails without the fix, passes with it: {', '.join(by[TestJudgement.PROVES])}", judged
        )
    if TestJudgement.MISSING_NAME in kinds:
        detail = ", ".join(
            f"{p.id} ({p.failure_class}: {missing_name(p.failure_class, p.failure_message)})"
            for p, j in judged
            if j is TestJudgement.MISSING_NAME
        )
        return ProofJudgement(
            Verdict.PROOF_ONLY_MISSING_NAME,
            f"tests fail without the fix only on a name the fix added: {detail}",
            judged,
        )
    if TestJudgement.LOG_ONLY in kinds:
        detail = ", ".join(
            f"{p.id} ({', '.join(f'{path}:{line}' for path, line in p.failure_locations)})"
            for p, j in judged
            if j is TestJudgement.LOG_ONLY
        )
        return ProofJudgement(
            Verdict.PROOF_ONLY_LOGS,
            f"tests fail without the fix only where they read captured logs: {detail}",
            judged,
        )
    if all(k is TestJudgement.FAILS_WITH_FIX for k in kinds):
        return ProofJudgement(
            Verdict.TEST_FAILS_WITH_FIX,
            f"no test passes with the fix: {', '.join(by[TestJudgement.FAILS_WITH_FIX])}",
            judged,
        )
    quiet = by[TestJudgement.PASSES_WITHOUT_FIX] + by[TestJudgement.NOT_RUN_WITHOUT_FIX]
    return ProofJudgement(Verdict.TEST_PASSES_WITHOUT_FIX, f"no test fails without the fix: {', '.join(quiet)}", judged)
