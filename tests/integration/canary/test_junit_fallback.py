"""Script mode: a runner that writes no run file is judged from the JUnit report the gate asked pytest for."""

from __future__ import annotations

import shlex
import sys

from phase4gate.models import StepStatus, StopKind
from phase4gate.sandbox.e2e import SIGNATURE_TEXTS, canary_state

from .conftest import CanaryWorld

# A harness that runs the scenarios with pytest and writes no run file (nor a JUnit report of its own).
_PYTEST_ONLY = (
    "sh",
    "-c",
    (
        f"{shlex.quote(sys.executable)} -m pytest tests/identity_boundary -m sync_identity_boundary_deployed_dev "
        "-p no:cacheprovider -q"
    ),
)


def test_runner_writing_only_junit_is_judged_from_it(world: CanaryWorld) -> None:
    """No run file, but pytest wrote the JUnit report the gate asked for: the run file is built from it."""
    gate, report = world.gate("WP04", world.config(command=_PYTEST_ONLY))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert wp04.status is StepStatus.PASSED, wp04.reason
    attempt = gate.run_dir / "rc16-single-attempt1"
    text = (attempt / "runs" / "run-1.json").read_text()
    assert '"built_from": "junit"' in text
    assert '"cli_version": "spec-kitty-cli version 3.2.0rc16"' in text
    assert (attempt / "logs" / "run-1.junit.xml").is_file()
    assert not (world.checkout / "artifacts" / "sync_identity_boundary" / "latest.json").exists()


def test_failure_in_the_junit_report_is_triaged(world: CanaryWorld) -> None:
    """A scenario failing in the JUnit-only run: a failed stop naming the scenario and its signature."""
    world.saas.extra = {"canary": canary_state(fail={4: SIGNATURE_TEXTS["rollback-peek"]})}
    _, report = world.gate("WP04", world.config(command=_PYTEST_ONLY))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert "scenario 4 fail" in wp04.reason
    assert "rollback-peek" in wp04.reason


def test_no_run_file_and_no_junit_report_says_so(world: CanaryWorld) -> None:
    """A runner writing neither: a failed stop that says there was no run file and no JUnit report."""
    _, report = world.gate("WP04", world.config(command=("true",)))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "run 1: no run file and no JUnit report" in wp04.reason
    assert "latest.json" in wp04.reason
