"""The fixture end-to-end checkout: the canary runner, the four scenarios, the Teamspace MVP suite.

:func:`build_e2e_checkout` copies ``canary_suite/`` into a folder:

* ``scripts/run-sync-identity-boundary-canary.sh`` with the real options and exit
  codes (no flag = four-run protocol, ``--single``, ``--yes``; exit 2 when
  ``SPEC_KITTY_ENABLE_SAAS_SYNC``/``SPEC_KITTY_E2E_TRUSTED_RUNNER``/``SPEC_KITTY_SAAS_URL`` is
  missing or no TTY confirms), writing run files in the harness's spelling to
  ``artifacts/sync_identity_boundary/latest.json``, ``runs/run-N.json`` and ``<run_id>.json``;
* ``tests/identity_boundary/test_scenario_{1..4}_*.py`` (markers
  ``sync_identity_boundary_deployed_dev``, ``deployed_dev``, ``scenario_id(N)``; deselected by
  the checkout's ``pytest.ini`` addopts; SKIP without ``SPEC_KITTY_ENABLE_SAAS_SYNC=1``);
* the three Teamspace MVP files (marker ``deployed_dev``);
* the GitHub Actions workflows ``.github/workflows/identity-boundary-canary.yml`` and
  ``teamspace-mvp.yml`` (:data:`CANARY_WORKFLOW_TEXT`, :data:`TEAMSPACE_WORKFLOW_TEXT`), which
  the GitHub emulator reads (``run-name``, dispatch inputs, ``concurrency``) and the sandbox
  Actions runner executes.  :func:`build_e2e_repo` makes the checkout a git repository
  (two commits: ``previous`` and ``pinned``, the head of ``main``) for the Actions emulator.

The tests really call the SaaS at ``SPEC_KITTY_SAAS_URL`` (``/health/``,
``/health/ready/``) and ``spec-kitty --version`` first on PATH.  Pass or fail follows
the SaaS emulator's free-form state at ``GET /__sandbox/state`` (``SaaSEmulator.extra``);
the keys read there (build them with :func:`canary_state`/:func:`teamspace_state`)::

    {"canary": {
        "fail": {"4": "<failure text>"},    # scenario id -> failure text (every run)
        "flaky_fail_run": 3,               # fail one scenario in this run only (counted in
        "flaky_scenario": 2,               #   artifacts/sync_identity_boundary/.run-count)
        "flaky_text": "<failure text>",
        "hang_seconds": 600,               # every scenario sleeps first (a hung runner)
        "inconsistent": true},             # the harness writes outcome "pass" regardless
     "teamspace": {
        "fail": "HTTP 413 ...",            # failure text, printed to the log
        "fail_file": "sync",               # only the file whose key contains this (go_live/pulse/sync)
        "fail_run": 2}}                    # only this run (artifacts/teamspace/.run-count)

A Teamspace test also fails with ``HTTP 503 from /health/ready/`` when the SaaS is not ready.

Health reads, for a scenario that redeploys the SaaS mid-gate with
``SaaSEmulator.schedule_redeploy``: one script-mode canary run sends exactly five
``GET /health/`` (one per scenario, one by the run-file writer; four in pytest mode), and
the gate sends one before run 1 and one more after each run (User-Agent ``phase4gate/...``),
the reads that detect the redeploy.
"""

from __future__ import annotations

import shutil
import stat
import sys
from pathlib import Path
from typing import Any, Final

__all__ = [
    "CANARY_WORKFLOW",
    "CANARY_WORKFLOW_TEXT",
    "RUNNER_SCRIPT",
    "SCENARIO_FILES",
    "SIGNATURE_TEXTS",
    "SUITE_DIR",
    "TEAMSPACE_FILES",
    "TEAMSPACE_TEXTS",
    "TEAMSPACE_WORKFLOW",
    "TEAMSPACE_WORKFLOW_TEXT",
    "UNKNOWN_SIGNATURE_TEXT",
    "build_e2e_checkout",
    "build_e2e_repo",
    "canary_state",
    "teamspace_state",
]

SUITE_DIR: Final = Path(__file__).resolve().parent / "canary_suite"
RUNNER_SCRIPT: Final = "scripts/run-sync-identity-boundary-canary.sh"
SCENARIO_FILES: Final = (
    "tests/identity_boundary/test_scenario_1_fresh_authenticated_mission.py",
    "tests/identity_boundary/test_scenario_2_legacy_queue_migration.py",
    "tests/identity_boundary/test_scenario_3_owner_mismatch.py",
    "tests/identity_boundary/test_scenario_4_review_rejection_contract.py",
)
TEAMSPACE_FILES: Final = (
    "tests/test_go_live_pre_connector_saas_e2e.py",
    "tests/test_teamspace_pulse_deployed_dev_e2e.py",
    "tests/test_teamspace_sync_deployed_dev_e2e.py",
)

# Failure texts carrying each known signature (config.canary.signatures), by signature name.
SIGNATURE_TEXTS: Final = {
    "rollback-peek": ("AssertionError: peeked row is not the rollback we triggered: from='for_review' to='in_review'"),
    "event-loop-unavailable": (
        "sync now failed: sync.event_loop_unavailable: final sync did not complete. Errors: 2 (unknown: 2)"
    ),
    "forbidden-key": "Batch rejected: FORBIDDEN_KEY 'owner_email' in event payload",
}
# A signature nobody has mapped yet (it became a new issue in the real gate).
UNKNOWN_SIGNATURE_TEXT: Final = "RuntimeError: Batch sync failed (400): {'detail': 'invalid envelope'}"

# Teamspace log lines for each triage kind.
TEAMSPACE_TEXTS: Final = {
    "payload-too-large": "HTTP 413 Payload Too Large: batch of 611204 bytes exceeds the ingress cap",
    "unavailable": "HTTP 503 Service Unavailable from /health/ready/",
    "materialization-timeout": "AssertionError: teamspace event did not materialize within 60s",
    "drain-materialization-rejected": "DrainMaterializationRejected: row moved to terminal_failed",
    "other": "KeyError: 'pulse_id'",
}

_SKIP: Final = frozenset({"__pycache__"})

CANARY_WORKFLOW: Final = "identity-boundary-canary.yml"
TEAMSPACE_WORKFLOW: Final = "teamspace-mvp.yml"
# The sandbox's copy of examples/identity-boundary-canary.yml: the same dispatch inputs,
# run-name, concurrency group, job and artifact name (the runner executes the steps itself).
CANARY_WORKFLOW_TEXT: Final = """\
# The sync identity-boundary canary, dispatched by the phase4gate release gate.
name: identity-boundary-canary
run-name: "identity-boundary canary ${{ inputs.correlation_id }} (spec-kitty-cli ${{ inputs.cli_version }})"

on:
  workflow_dispatch:
    inputs:
      cli_version:
        description: "spec-kitty-cli version to install (the release candidate)"
        required: true
        type: string
      correlation_id:
        description: "the gate's id of this run: gate run id, WP and run number"
        required: true
        type: string

# Two canaries never share the SaaS.
concurrency:
  group: identity-boundary-canary-deployed-dev
  cancel-in-progress: false

permissions:
  contents: read

jobs:
  identity-boundary-canary:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    env:
      SPEC_KITTY_ENABLE_SAAS_SYNC: "1"
      SPEC_KITTY_E2E_TRUSTED_RUNNER: "1"
      CLI_SPEC: "spec-kitty-cli==${{ inputs.cli_version }}"
    steps:
      - name: Check out the e2e repository
        uses: actions/checkout@v4
        with:
          ref: ${{ github.sha }}
          persist-credentials: false
      - uses: astral-sh/setup-uv@v6
      - name: Install spec-kitty-cli
        run: uv tool install "$CLI_SPEC"
      - name: Run the identity-boundary canary
        run: ./scripts/run-sync-identity-boundary-canary.sh --single --yes
      - name: Upload the canary artifacts
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: sync-identity-boundary
          path: artifacts/sync_identity_boundary/
"""
TEAMSPACE_WORKFLOW_TEXT: Final = """\
# The Teamspace MVP suite, dispatched by the phase4gate release gate (runs may go in parallel).
name: teamspace-mvp
run-name: "teamspace-mvp ${{ inputs.correlation_id }} (spec-kitty-cli ${{ inputs.cli_version }})"

on:
  workflow_dispatch:
    inputs:
      cli_version:
        description: "spec-kitty-cli version to install (the release candidate)"
        required: true
        type: string
      correlation_id:
        description: "the gate's id of this run: gate run id, WP and run number"
        required: true
        type: string

concurrency:
  group: teamspace-mvp-${{ inputs.correlation_id }}
  cancel-in-progress: false

permissions:
  contents: read

jobs:
  teamspace-mvp:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    env:
      SPEC_KITTY_ENABLE_SAAS_SYNC: "1"
      CLI_SPEC: "spec-kitty-cli==${{ inputs.cli_version }}"
    steps:
      - name: Check out the e2e repository
        uses: actions/checkout@v4
        with:
          ref: ${{ github.sha }}
          persist-credentials: false
      - uses: astral-sh/setup-uv@v6
      - name: Install spec-kitty-cli
        run: uv tool install "$CLI_SPEC"
      - name: Run the Teamspace MVP files
        shell: bash
        run: |
          mkdir -p artifacts/teamspace
          python -m pytest -v tests/test_go_live_pre_connector_saas_e2e.py \\
            tests/test_teamspace_pulse_deployed_dev_e2e.py tests/test_teamspace_sync_deployed_dev_e2e.py \\
            -m deployed_dev --junitxml=artifacts/teamspace/junit.xml 2>&1 | tee artifacts/teamspace/teamspace-mvp.log
      - name: Upload the Teamspace artifacts
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: teamspace-mvp
          path: artifacts/teamspace/
"""


def _copy_tree(src: Path, dst: Path, python: str) -> None:
    for item in sorted(src.iterdir()):
        if item.name in _SKIP or item.suffix == ".pyc" or (src == SUITE_DIR and item.name == "__init__.py"):
            continue
        target = dst / item.name
        if item.is_dir():
            target.mkdir(exist_ok=True)
            _copy_tree(item, target, python)
        elif item.suffix == ".sh":
            target.write_text(item.read_text(encoding="utf-8").replace("@PYTHON@", python), encoding="utf-8")
            target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        else:
            shutil.copyfile(item, target)


def build_e2e_checkout(path: Path, *, python: str | None = None) -> Path:
    """Create the fixture e2e checkout at *path* and return it.

    *python* is the interpreter (with pytest) the runner script uses; default: this one.
    """
    path.mkdir(parents=True, exist_ok=True)
    _copy_tree(SUITE_DIR, path, python or sys.executable)
    workflows = path / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    (workflows / CANARY_WORKFLOW).write_text(CANARY_WORKFLOW_TEXT, encoding="utf-8")
    (workflows / TEAMSPACE_WORKFLOW).write_text(TEAMSPACE_WORKFLOW_TEXT, encoding="utf-8")
    (path / "artifacts" / "sync_identity_boundary").mkdir(parents=True, exist_ok=True)
    return path


def build_e2e_repo(path: Path, *, python: str | None = None) -> dict[str, str]:
    """Create the fixture e2e checkout at *path* as a git repository; return its commits.

    ``previous``: the suite as first committed; ``pinned``: the head of ``main`` (a second
    commit), the SHA a gate pins.  A run reporting ``previous`` ran on the wrong commit.
    """
    from phase4gate.sandbox.repos import git  # noqa: PLC0415

    build_e2e_checkout(path, python=python)
    (path / ".gitignore").write_text("artifacts/\n__pycache__/\n", encoding="utf-8")
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "Identity-boundary canary suite", date="2026-05-11T09:00:00+00:00")
    previous = git(path, "rev-parse", "HEAD")
    (path / "README.md").write_text("Spec Kitty end-to-end tests (sandbox fixture).\n", encoding="utf-8")
    git(path, "add", "README.md")
    git(path, "commit", "--quiet", "-m", "Pin the canary harness for rc16", date="2026-05-12T09:00:00+00:00")
    return {"previous": previous, "pinned": git(path, "rev-parse", "HEAD")}


def canary_state(  # noqa: PLR0913 - each knob is one documented state key
    *,
    fail: dict[int, str] | None = None,
    flaky_fail_run: int | None = None,
    flaky_scenario: int = 2,
    flaky_text: str | None = None,
    hang_seconds: float = 0.0,
    inconsistent: bool = False,
) -> dict[str, Any]:
    """Return the ``canary`` part of the SaaS emulator's state."""
    state: dict[str, Any] = {"fail": {str(k): v for k, v in (fail or {}).items()}}
    if flaky_fail_run is not None:
        state["flaky_fail_run"] = flaky_fail_run
        state["flaky_scenario"] = flaky_scenario
        state["flaky_text"] = flaky_text or SIGNATURE_TEXTS["event-loop-unavailable"]
    if hang_seconds:
        state["hang_seconds"] = hang_seconds
    if inconsistent:
        state["inconsistent"] = True
    return state


def teamspace_state(
    fail: str | None = None, *, fail_file: str | None = None, fail_run: int | None = None
) -> dict[str, Any]:
    """Return the ``teamspace`` part of the SaaS emulator's state."""
    state: dict[str, Any] = {}
    if fail is not None:
        state["fail"] = fail
    if fail_file is not None:
        state["fail_file"] = fail_file
    if fail_run is not None:
        state["fail_run"] = fail_run
    return state
