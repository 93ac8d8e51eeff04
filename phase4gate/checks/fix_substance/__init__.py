"""WP01 fix-substance audit: is a fix commit behavioural for its blocker, and proven by a test?

Pure: everything here takes data (``(path, before, after)`` triples, sources,
pytest outcomes) and returns frozen verdicts.  The plan's stop condition is
"#1141 diff is logging-only": a fix is judged on the files and symbols that
belong to its blocker (its *focus*), after removing what only observes —
logging calls, ``print``, docstrings, comments — from both sides of each Python
file and comparing the normalised trees.  A test proves a fix only if it passes
with the fix and fails without it on behaviour, not merely on a name the fix
added (``shared/REAL_WORLD.md``: #1182's ``AttributeError``/``KeyError`` tests).

The package's modules, in the order the audit uses them:

- ``model``: the values (:class:`FileChange`, :class:`Focus`, :class:`FileReport`,
  :class:`Classification`, the :class:`Verdict` and :class:`FileKind` enums);
- ``normalise``: what only observes is stripped and each symbol's code fingerprinted;
- ``classify``: one file's kind (:func:`classify_file`);
- ``without_fix``: the proof's "without the fix" source (:func:`without_fix_source`);
- ``focus``: modules, callers and focus membership (:func:`find_callers`, :func:`parse_closes`);
- ``references``: changed tests and the names they mention (:func:`changed_test_ids`);
- ``verdict``: the pre-proof verdict (:func:`audit_fix_substance`);
- ``judgement``: the proof's verdict (:func:`judge_proof`, :func:`added_names`, :func:`reads_only_logs`).

Every public name is importable from this package, as before the split.
"""

from __future__ import annotations

from phase4gate.checks.fix_substance.classify import classify_file
from phase4gate.checks.fix_substance.focus import find_callers, module_name, parse_closes
from phase4gate.checks.fix_substance.judgement import (
    MISSING_NAME_CLASSES,
    ProofJudgement,
    TestJudgement,
    TestOutcome,
    TestProof,
    added_names,
    judge_proof,
    missing_name,
    reads_only_logs,
)
from phase4gate.checks.fix_substance.model import (
    DEFAULT_LOGGING_NAMES,
    AuditOptions,
    ChangedSymbol,
    Classification,
    FileChange,
    FileKind,
    FileReport,
    Focus,
    Verdict,
)
from phase4gate.checks.fix_substance.references import changed_test_ids
from phase4gate.checks.fix_substance.verdict import audit_fix_substance
from phase4gate.checks.fix_substance.without_fix import InseparableChangeError, without_fix_source

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
