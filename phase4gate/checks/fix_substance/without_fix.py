"""The proof's "without the fix" source: behavioural functions back at the parent, added logging kept where safe."""

from __future__ import annotations

import ast
import builtins
import difflib
import textwrap
from collections.abc import Collection, Mapping, Sequence

from phase4gate.checks.fix_substance.classify import classify_file
from phase4gate.checks.fix_substance.model import AuditOptions, ChangedSymbol, FileChange, FileKind
from phase4gate.checks.fix_substance.normalise import _Def, _def_nodes, _Observer, _own_statements, _span


class InseparableChangeError(ValueError):
    """The focus's changes in a file cannot be reverted without also reverting the file's other changes."""


def without_fix_source(
    change: FileChange,
    options: AuditOptions = AuditOptions(),  # noqa: B008 - frozen value
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


_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _plain_functions(
    change: FileChange, syms: Sequence[ChangedSymbol]
) -> list[tuple[str, _Function, _Function]] | None:
    """The outermost of *syms* as ``(qualname, after def, before def)``; ``None`` unless all are modified functions."""
    if any(s.change != "modified" or s.qualname == "<module>" for s in syms):
        return None
    before_defs = _def_nodes(ast.parse(change.before or ""))
    after_defs = _def_nodes(ast.parse(change.after or ""))
    names = {s.qualname for s in syms}
    out: list[tuple[str, _Function, _Function]] = []
    for q in sorted(q for q in names if not any(q.startswith(f"{o}.") for o in names)):
        a, b = after_defs.get(q, []), before_defs.get(q, [])
        if len(a) != 1 or len(b) != 1:
            return None
        after_fn, before_fn = a[0], b[0]
        if isinstance(after_fn, ast.ClassDef) or isinstance(before_fn, ast.ClassDef):
            return None
        out.append((q, after_fn, before_fn))
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
        (a0, a1), (b0, b1) = _span(a), _span(b)
        edits.append((a0, a1, before_lines[b0 - 1 : b1]))
    text = _splice(after_lines, edits)
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):  # pragma: no cover - a splice of whole definitions parses
        return None
    observer = _Observer(options)
    module = _module_names(ast.parse(change.after or ""))
    for n, (q, a, b) in enumerate(plain):
        kept = _keep_added_observations(a, b, after_lines, before_lines, observer, module)
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
        (a0, a1), (b0, b1) = _span(a), _span(b)
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
