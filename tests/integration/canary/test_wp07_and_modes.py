"""WP07's Teamspace runs, the pytest runner mode (run file built from JUnit), skips, dry runs."""

from __future__ import annotations

import sys
from pathlib import Path

import attrs

from phase4gate.models import StepOutcome, StepStatus, StopKind
from phase4gate.sandbox.e2e import TEAMSPACE_TEXTS, teamspace_state
from phase4gate.verify import verify_run

from .conftest import CanaryWorld

_UPSTREAM = {
    "WP04": lambda _ctx: StepOutcome.passed("single run passed"),
    "WP05": lambda _ctx: StepOutcome.passed("4/4"),
}


def test_teamspace_four_green_runs_keep_logs_and_junit(world: CanaryWorld) -> None:
    """Three Teamspace files four times: pass, four logs at the configured path copied into the evidence."""
    gate, report = world.gate("WP07", steps=_UPSTREAM)
    wp07 = report.step("WP07")
    assert wp07 is not None
    assert wp07.status is StepStatus.PASSED, wp07.reason
    assert wp07.facts["teamspace_runs_passed"] == 4
    logs = str(wp07.facts["teamspace_logs"]).split(",")
    assert logs == [f"wp07/1/teamspace-run-{n}.log" for n in range(1, 5)]
    for n in range(1, 5):
        plan_log = world.tmp / f"teamspace-canary-run-{n}.log"
        assert (gate.run_dir / f"wp07/1/teamspace-run-{n}.log").read_bytes() == plan_log.read_bytes()
        assert "3 passed" in plan_log.read_text()
        assert (gate.run_dir / f"wp07/1/teamspace-run-{n}.junit.xml").is_file()
    assert verify_run(gate.run_dir).ok


def test_teamspace_413_in_run_two_is_triaged(world: CanaryWorld) -> None:
    """A 413 in run 2's sync file: stop after run 2, triaged payload-too-large, the cap named and never raised."""
    world.saas.extra = {
        "teamspace": teamspace_state(TEAMSPACE_TEXTS["payload-too-large"], fail_file="sync", fail_run=2)
    }
    gate, report = world.gate("WP07", steps=_UPSTREAM)
    wp07 = report.step("WP07")
    assert wp07 is not None
    assert (wp07.status, wp07.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert wp07.reason.startswith("Teamspace run 2 of 4 failed: payload-too-large")
    assert "524288" in wp07.reason
    assert "never raise the cap" in wp07.reason
    assert wp07.facts["teamspace_failed_run"] == 2
    assert sorted(p.name for p in (gate.run_dir / "wp07" / "1").glob("*.log")) == [
        "teamspace-run-1.log",
        "teamspace-run-2.log",
    ]


def test_teamspace_not_ready_is_triaged_unavailable(world: CanaryWorld) -> None:
    """The SaaS readiness answers 503: the Teamspace run fails and is triaged 'unavailable'."""
    world.saas.set_state("not-ready")
    _, report = world.gate("WP07", steps=_UPSTREAM)
    wp07 = report.step("WP07")
    assert wp07 is not None and wp07.status is StepStatus.STOPPED
    assert wp07.facts["teamspace_triage"] == "unavailable"
    assert "Teamspace run 1 of 4 failed" in wp07.reason


def test_pytest_mode_builds_the_run_file_from_junit(world: CanaryWorld) -> None:
    """pytest mode: the marker re-selected past addopts, the run file built from JUnit with the CLI's version line."""
    config = world.config(mode="pytest", command=(sys.executable, "-m", "pytest"))
    gate, report = world.gate("WP04", config)
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert wp04.status is StepStatus.PASSED, wp04.reason
    run_file = gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json"
    text = run_file.read_text()
    assert '"built_from": "junit"' in text
    assert '"cli_version": "spec-kitty-cli version 3.2.0rc16"' in text
    assert (gate.run_dir / "rc16-single-attempt1" / "logs" / "run-1.junit.xml").is_file()
    log = (gate.run_dir / "rc16-single-attempt1" / "logs" / "run-1.log").read_text()
    assert "4 passed" in log


def test_skipped_scenarios_are_never_a_pass(world: CanaryWorld) -> None:
    """Without a SaaS URL the scenarios SKIP: the run stops, naming the skipped scenarios."""
    config = world.config(
        mode="pytest",
        command=(sys.executable, "-m", "pytest"),
        env={"SPEC_KITTY_SAAS_URL": ""},
    )
    _, report = world.gate("WP04", config)
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "scenario 1 skipped" in wp04.reason
    assert world.github.writes() == []


def test_dry_run_runs_nothing_and_writes_nothing(world: CanaryWorld) -> None:
    """--dry-run: WP04/WP05/WP07 describe what they would do; no attempt folder, no GitHub write."""
    gate, report = world.gate("WP07", dry_run=True)
    for wp in ("WP04", "WP05", "WP07"):
        step = report.step(wp)
        assert step is not None
        assert step.status is StepStatus.PASSED
        assert step.reason.startswith("dry run:")
    assert not any(gate.run_dir.glob("rc16-*"))
    assert not Path(world.tmp / "teamspace-canary-run-1.log").exists()
    assert world.github.writes() == []


def test_cli_version_other_than_installed_rc_stops_waiting(world: CanaryWorld) -> None:
    """The CLI on PATH reports rc15 while WP02 installed rc16: the RC changed during the gate (waiting)."""
    from .conftest import write_cli

    write_cli(world.cli_bin, "3.2.0rc15")
    _, report = world.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING)
    assert "3.2.0rc15 ran, but WP02 installed 3.2.0rc16" in wp04.reason
    assert "re-run from WP02" in wp04.reason


def test_teamspace_run_without_junit_is_exit_3(world: CanaryWorld) -> None:
    """A Teamspace command that writes no JUnit report: could not decide (3), its log kept."""
    config = attrs.evolve(world.config(), teamspace=attrs.evolve(world.config().teamspace, command=("true",)))
    _, report = world.gate("WP07", config, steps=_UPSTREAM)
    wp07 = report.step("WP07")
    assert wp07 is not None
    assert wp07.status is StepStatus.ERROR
    assert "Teamspace run 1 wrote no JUnit report (exit 0)" in wp07.reason
    assert report.exit_code == 3
