"""The whole fix audit of one commit for one blocker: read the change, classify it, then prove it.

:func:`audit_commit` is what WP01 and ``phase4gate audit-fix`` call: it reads
the commit's changes (:mod:`phase4gate.adapters.git`), classifies every changed
file (:func:`classify_files`, on all cores for a large commit), decides with
:func:`phase4gate.checks.fix_substance.audit_fix_substance` whether the fix is
behavioural for its focus, and, when proof settings are given, runs the new
tests with and without the fix (:func:`phase4gate.adapters.proof_env.run_proof`)
and judges them (:func:`phase4gate.checks.fix_substance.judge_proof`).
:func:`audit_options` and :meth:`ProofSettings.from_config
<phase4gate.adapters.proof_env.ProofSettings.from_config>` build its inputs from
``[audit]``.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from attrs import frozen

from phase4gate.adapters import git
from phase4gate.adapters.proof_env import ProofRun, ProofSettings, run_proof
from phase4gate.checks.fix_substance import (
    AuditOptions,
    Classification,
    FileChange,
    FileReport,
    Focus,
    ProofJudgement,
    Verdict,
    added_names,
    audit_fix_substance,
    find_callers,
    judge_proof,
)
from phase4gate.checks.fix_substance.classify import classify_chunk
from phase4gate.errors import ProcessError

if TYPE_CHECKING:
    from phase4gate.config import GateConfig

__all__ = [
    "PARALLEL_MIN_FILES",
    "AuditResult",
    "audit_commit",
    "audit_options",
    "classify_files",
    "focus_exists",
]

PARALLEL_MIN_FILES: Final = 64
_CLASSIFY_TIMEOUT_SECONDS: Final = 600.0


def audit_options(config: GateConfig) -> AuditOptions:
    """Return the classification options ``[audit]`` asks for (which names log, whether warnings count as logging)."""
    audit = config.audit
    return AuditOptions(logging_names=audit.logging_names, warnings_are_logging=audit.warnings_are_logging)


@frozen
class AuditResult:
    """One commit audited for one blocker: classification, proof (if run) and the final verdict."""

    repo: Path
    commit: str
    parent: str | None
    classification: Classification
    verdict: Verdict
    reason: str
    proof: ProofRun | None = None
    judgement: ProofJudgement | None = None

    @property
    def substantive(self) -> bool:
        """True when the fix is behavioural for its focus (and proven, when the proof ran)."""
        return self.verdict is Verdict.SUBSTANTIVE

    def to_json_dict(self) -> dict[str, object]:
        """Return the ``--json`` object: verdict, files, changed symbols, closes, tests."""
        c = self.classification
        judged = {p.id: j.value for p, j in self.judgement.judgements} if self.judgement else {}
        out: dict[str, object] = {
            "commit": self.commit,
            "parent": self.parent,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "closes": list(c.closes),
            "focus": {"files": list(c.focus.files), "symbols": list(c.focus.symbols), "callers": list(c.focus_callers)},
            "files": [
                {
                    "path": f.path,
                    "old_path": f.old_path,
                    "status": f.status,
                    "kind": f.kind.value,
                    "in_focus": f.in_focus,
                    **({"error": f.error} if f.error else {}),
                }
                for f in c.files
            ],
            "changed_symbols": [
                {
                    "path": s.path,
                    "symbol": s.qualname,
                    "change": s.change,
                    "lines": [s.start, s.end],
                    "behavioural": s.behavioural,
                    "in_focus": s.in_focus,
                }
                for s in c.changed_symbols
            ],
            "outside_focus": list(c.outside_focus),
            "referencing_tests": list(c.referencing_tests),
            "notes": list(c.notes),
        }
        if self.proof is not None:
            out["tests"] = [
                {
                    "id": t.id,
                    "with_fix": t.with_fix.value,
                    "without_fix": t.without_fix.value,
                    "failure_class": t.failure_class,
                    "failure_message": t.failure_message,
                    "judgement": judged.get(t.id),
                }
                for t in self.proof.tests
            ]
            out["test_env"] = {
                "how": self.proof.env.how,
                "key": self.proof.env.key[:16],
                "reused": self.proof.env.reused,
            }
        return out


def classify_files(
    changes: Sequence[FileChange],
    options: AuditOptions = AuditOptions(),  # noqa: B008 - frozen value
    *,
    workers: int | None = None,
) -> list[FileReport]:
    """Classify every changed file, on all cores for a large commit (the main process works too).

    Small commits (fewer than ``PARALLEL_MIN_FILES`` files) or one core stay in
    this process.  Chunks are handed to spawned workers from the front while
    this process takes them from the back, cancelling what no worker started,
    so the worker's start-up time is never waited for.
    """
    cores = workers if workers is not None else (os.cpu_count() or 1)
    if cores < 2 or len(changes) < PARALLEL_MIN_FILES:
        return classify_chunk(list(changes), options)
    size = max(4, len(changes) // (16 * cores))
    chunks = [list(changes[i : i + size]) for i in range(0, len(changes), size)]
    results: list[list[FileReport] | None] = [None] * len(chunks)
    # spawn, not fork: the gate runs steps in threads, and forking a threaded process is unsafe.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=cores - 1, mp_context=context) as pool:
        futures = [pool.submit(classify_chunk, chunk, options) for chunk in chunks]
        for i in reversed(range(len(chunks))):
            if futures[i].cancel():
                results[i] = classify_chunk(chunks[i], options)
        for i, future in enumerate(futures):
            if results[i] is None:
                results[i] = future.result(timeout=_CLASSIFY_TIMEOUT_SECONDS)
    return [report for part in results if part is not None for report in part]


def focus_exists(repo: Path, sha: str, parent: str | None, focus: Focus) -> bool:
    """Return whether any focus file exists in *repo* at the fix or its parent (no files: True)."""
    if not focus.files:
        return True
    present = set(git.list_files(repo, sha)) | (set(git.list_files(repo, parent)) if parent else set())
    return any(f in present for f in focus.files)


def audit_commit(  # noqa: PLR0913 - the audit's inputs
    repo: Path,
    commit: str,
    *,
    parent: str | None = None,
    focus: Focus = Focus(),  # noqa: B008 - frozen value
    options: AuditOptions = AuditOptions(),  # noqa: B008 - frozen value
    proof: ProofSettings | None = None,
    work_dir: Path | None = None,
) -> AuditResult:
    """Audit *commit* in *repo* for one blocker's *focus*; prove it when *proof* settings are given.

    Raises:
        GitError: the repository or commit cannot be read.
        ProcessError: the proof's environment could not be built or pytest could not run.
    """
    info, base, changes = git.read_changes(repo, commit, parent=parent)
    applies = focus_exists(repo, info.sha, base, focus)
    callers: tuple[str, ...] = ()
    if applies and focus.symbols:
        py = [p for p in git.list_files(repo, info.sha) if p.endswith(".py")]
        callers = find_callers(git.read_sources(repo, info.sha, py), focus.symbols)
    c = audit_fix_substance(
        changes,
        message=info.message,
        focus=focus,
        callers=callers,
        options=options,
        focus_applies=applies,
        reports=classify_files(changes, options),
    )
    if not c.needs_proof or proof is None:
        return AuditResult(repo, info.sha, base, c, c.verdict, c.reason)
    if work_dir is None:
        msg = "the proof needs a work directory"
        raise ProcessError(msg)
    if not c.test_ids:
        return AuditResult(repo, info.sha, base, c, Verdict.NO_TEST, "no new or changed test function to run")
    run = run_proof(
        repo,
        info.sha,
        changes,
        c.restore_paths,
        c.test_ids,
        settings=proof,
        work_dir=work_dir,
        options=options,
        restore_symbols=c.restore_symbols or None,
    )
    judgement = judge_proof(run.tests, added_names(changes), run.sources)
    return AuditResult(repo, info.sha, base, c, judgement.verdict, judgement.reason, proof=run, judgement=judgement)
