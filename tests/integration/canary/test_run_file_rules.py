"""Run-file rules through the real engine and a real runner process: each problem names the file and ``$.path``."""

from __future__ import annotations

import pytest

from phase4gate.models import StepStatus, StopKind

from .conftest import CanaryWorld
from .runfile_writer import command, harness_text

KEPT = "rc16-single-attempt1/runs/run-1.json"


def _wp04(world: CanaryWorld, text: str, *args: object) -> tuple[StepStatus, StopKind | None, str, int]:
    template = world.tmp / "template.json"
    template.write_text(text, encoding="utf-8")
    _, report = world.gate("WP04", world.config(command=command(template, *args)))
    wp04 = report.step("WP04")
    assert wp04 is not None
    return wp04.status, wp04.stop_kind, wp04.reason, report.exit_code


def test_a_well_formed_run_file_from_this_run_passes(world: CanaryWorld) -> None:
    """The stand-in runner's file, written now with sane values, passes: the rules below are each one change."""
    status, _, reason, code = _wp04(world, harness_text())
    assert (status, code) == (StepStatus.PASSED, 0), reason


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (harness_text(outcome="PASS"), "$.outcome", "found 'PASS'"),
        (harness_text(statuses=("pass", "Pass", "pass", "pass")), "$.scenarios[1].status", "found 'Pass'"),
        (harness_text(duration="NaN"), "$.scenarios[0].duration_seconds", "finite, non-negative"),
        (harness_text(duration="-1.0"), "$.scenarios[0].duration_seconds", "found -1.0"),
        (harness_text(duration="Infinity"), "$.scenarios[0].duration_seconds", "found inf"),
        (harness_text(finished="2000-01-01T00:00:00+00:00"), "$.finished_at", "is before run 1 was started"),
        (harness_text(started="2000-01-01T00:00:00+00:00"), "$.started_at", "is before run 1 was started"),
        (harness_text(finished="2999-01-01T00:00:00+00:00"), "$.finished_at", "is after run 1 ended"),
        (harness_text(started="2026-05-21T10:00:00"), "$.started_at", "has no time zone"),
    ],
    ids=[
        "outcome-PASS",
        "status-Pass",
        "duration-NaN",
        "duration-negative",
        "duration-inf",
        "finished-2000",
        "started-2000",
        "finished-future",
        "naive-time",
    ],
)
def test_each_rule_is_a_failed_stop_naming_file_and_path(world: CanaryWorld, text: str, where: str, what: str) -> None:
    """A run file breaking one rule: a failed stop whose reason names the kept file, the $.path and the problem."""
    status, kind, reason, code = _wp04(world, text)
    assert (status, kind, code) == (StepStatus.STOPPED, StopKind.FAILED, 1), reason
    line = next((ln for ln in reason.splitlines() if ln.startswith(f"{KEPT}: {where}:")), None)
    assert line is not None, reason
    assert what in line


def test_runner_exit_contradicting_its_run_file_is_inconsistent_evidence(world: CanaryWorld) -> None:
    """The runner exits 1 with a run file saying pass: a failed stop, 'inconsistent evidence', never a pass."""
    status, kind, reason, code = _wp04(world, harness_text(), "--exit", 1)
    assert (status, kind, code) == (StepStatus.STOPPED, StopKind.FAILED, 1)
    assert f"{KEPT}: $.outcome: inconsistent evidence: the runner exited 1 but its run file says 'pass'" in reason


def test_runner_exit_2_with_a_passing_run_file_stays_preflight(world: CanaryWorld) -> None:
    """Exit 2 is the runner's preflight whatever it wrote: could not decide (3), the file never read."""
    status, _, reason, code = _wp04(world, harness_text(), "--exit", 2)
    assert (status, code) == (StepStatus.ERROR, 3)
    assert "preflight failed (exit 2)" in reason


def test_failing_run_file_from_a_runner_exiting_0_stays_a_failure(world: CanaryWorld) -> None:
    """The converse (exit 0, the file says fail) is judged from the file: a failed stop, the disagreement noted."""
    text = harness_text(outcome="fail", statuses=("pass", "pass", "pass", "fail"))
    status, kind, reason, _ = _wp04(world, text)
    assert (status, kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "scenario 4 fail" in reason
    assert "the runner exited 0 but its run file says 'fail'" in reason


def test_refused_run_file_is_kept_byte_for_byte(world: CanaryWorld) -> None:
    """A refused run file is still kept, as the runner wrote it, in the attempt folder."""
    _wp04(world, harness_text(outcome="PASS"))
    kept = next(world.evidence_root.glob(f"*/{KEPT}"))
    written = world.checkout / "artifacts" / "sync_identity_boundary" / "latest.json"
    assert kept.read_bytes() == written.read_bytes()
    assert '"outcome": "PASS"' in kept.read_text()
