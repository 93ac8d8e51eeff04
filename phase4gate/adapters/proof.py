"""The fix audit's proof and the whole audit, by their old address: re-exports, nothing else.

The code lives along its seams (each module says what it does):

* :mod:`phase4gate.checks.proof`: pure: a pytest JUnit report folded into each
  test id's outcome (:func:`~phase4gate.checks.proof.outcomes_from_junit`,
  formerly ``parse_junit``), which ``addopts`` deselect, how ``uv.lock``
  installs the project;
* :mod:`phase4gate.adapters.proof_env`: the test environment (built once per
  lock hash, an overlay per worktree) and the pytest runs with and without the
  fix (:func:`~phase4gate.adapters.proof_env.run_proof`);
* :mod:`phase4gate.audit`: one commit audited for one blocker
  (:func:`~phase4gate.audit.audit_commit`, :class:`~phase4gate.audit.AuditResult`).

New code imports from those modules.
"""

from __future__ import annotations

from phase4gate.adapters.proof_env import (
    ProofRun,
    ProofSettings,
    TestEnv,
    TreeEnv,
    build_env,
    install_project,
    neutralised_addopts,
    project_install_mode,
    run_proof,
)
from phase4gate.audit import PARALLEL_MIN_FILES, AuditResult, audit_commit, classify_files, focus_exists
from phase4gate.checks.proof import DESELECTING_OPTIONS
from phase4gate.checks.proof import outcomes_from_junit as parse_junit

__all__ = [
    "DESELECTING_OPTIONS",
    "PARALLEL_MIN_FILES",
    "AuditResult",
    "ProofRun",
    "ProofSettings",
    "TestEnv",
    "TreeEnv",
    "audit_commit",
    "build_env",
    "classify_files",
    "focus_exists",
    "install_project",
    "neutralised_addopts",
    "parse_junit",
    "project_install_mode",
    "run_proof",
]
