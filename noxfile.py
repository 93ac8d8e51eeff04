"""Sessions for phase4gate: tests, lint, typecheck, the gate and one session per WP.

Every gate session is one library call (through the CLI) with ``session.posargs``
passed on, e.g. ``nox -s canary_four_run -- --resume latest``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "typecheck"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = "3.11"


def _install(session: nox.Session, *groups: str) -> None:
    deps: list[str] = []
    for group in groups:
        deps.extend(nox.project.dependency_groups(PYPROJECT, group))
    # pip: with no index configured, WP02 asks pip (in a child process) for its default index.
    session.install("-e", ".", "pip", *deps)


def _phase4gate(session: nox.Session, *args: str) -> None:
    _install(session)
    session.run("phase4gate", *args, *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite with coverage of phase4gate/ (fails under 90%)."""
    _install(session, "test")
    if shutil.which("git") is None:
        session.error("git is required by the tests")
    # pytest-cov measures subprocesses too (coverage's patch = ["subprocess"]) and enforces
    # fail_under from pyproject.toml; children started in other folders write their data here.
    session.env["PHASE4GATE_COVERAGE_DIR"] = str(Path.cwd())
    session.run("pytest", "-m", "not network", "--cov=phase4gate", "--cov-report=term", "-q", *session.posargs)


@nox.session(python=PYTHON)
def network(session: nox.Session) -> None:
    """Tests that need the real package index (WP02 against the real spec-kitty-cli releases)."""
    _install(session, "test")
    session.run("pytest", "-m", "network", "-q", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    _install(session, "lint")
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over phase4gate, tests and this file."""
    _install(session, "typecheck")
    session.install("nox")
    session.run("mypy", *session.posargs)


@nox.session(python=PYTHON, default=False)
def gate(session: nox.Session) -> None:
    """Run the whole gate (phase4gate run); posargs go to the CLI."""
    _phase4gate(session, "run")


@nox.session(python=PYTHON, default=False)
def blockers(session: nox.Session) -> None:
    """WP01: blockers closed by substantive, test-backed fixes."""
    _phase4gate(session, "wp", "WP01")


@nox.session(python=PYTHON, default=False)
def rc(session: nox.Session) -> None:
    """WP02: resolve, install and verify the newest RC (pass --resume RUN)."""
    _phase4gate(session, "wp", "WP02")


@nox.session(python=PYTHON, default=False)
def preflight(session: nox.Session) -> None:
    """WP03: read-only SaaS preflight."""
    _phase4gate(session, "wp", "WP03")


@nox.session(python=PYTHON, default=False)
def canary_single(session: nox.Session) -> None:
    """WP04: one canary run (pass --resume RUN)."""
    _phase4gate(session, "wp", "WP04")


@nox.session(python=PYTHON, default=False)
def canary_four_run(session: nox.Session) -> None:
    """WP05: the four-run canary protocol, exactly what `phase4gate wp WP05` runs."""
    _phase4gate(session, "wp", "WP05")


@nox.session(python=PYTHON, default=False)
def evidence(session: nox.Session) -> None:
    """WP06: bundle evidence, comment on e2e#41, close it."""
    _phase4gate(session, "wp", "WP06")


@nox.session(python=PYTHON, default=False)
def teamspace(session: nox.Session) -> None:
    """WP07: the Teamspace MVP suite four times."""
    _phase4gate(session, "wp", "WP07")


@nox.session(python=PYTHON, default=False)
def comments(session: nox.Session) -> None:
    """WP08: comment on spec-kitty#1038 (never closed)."""
    _phase4gate(session, "wp", "WP08")


@nox.session(python=PYTHON, default=False)
def demo(session: nox.Session) -> None:
    """Run the whole gate on the embedded sandbox (pass --scenario NAME for a stop, or --scenario list)."""
    # The fixture canary suites run with this environment's pytest.
    _install(session, "test")
    session.run("phase4gate", "demo", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks, printed as ratios against baselines measured in the same run."""
    # The green gate's fixture canary suites run with this environment's pytest (as in `demo`).
    _install(session, "test")
    session.run("python", "-m", "phase4gate.bench", *session.posargs)
