"""Proof judgement: does a test pass with the fix and fail without it on behaviour (:func:`judge_proof`)?

A failure that only shows a name the fix added is missing (``shared/REAL_WORLD.md``:
#1182's ``AttributeError``/``KeyError`` tests), or that sits in a statement reading
only captured logs, never proves a fix.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from attrs import field, frozen

from phase4gate.checks.fix_substance.classify import _is_test_path
from phase4gate.checks.fix_substance.focus import module_name
from phase4gate.checks.fix_substance.model import FileChange, Verdict
from phase4gate.checks.fix_substance.normalise import _COMPOUND, _Def, _own_statements

# Failures that only show a name is missing: they prove the API grew, not that behaviour changed.
MISSING_NAME_CLASSES: Final = frozenset(
    {"ImportError", "ModuleNotFoundError", "NameError", "AttributeError", "KeyError"}
)


_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
