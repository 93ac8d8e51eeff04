"""WP04/WP05 through the real engine, the fixture checkout, the SaaS and GitHub emulators."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess

from phase4gate.models import StepOutcome, StepStatus, StopKind
from phase4gate.progress import Progress
from phase4gate.sandbox.e2e import RUNNER_SCRIPT, SIGNATURE_TEXTS, UNKNOWN_SIGNATURE_TEXT, canary_state
from phase4gate.verify import verify_run
from tests.conftest import HANG_GUARD_SECONDS

from .conftest import CanaryWorld


def test_green_single_and_four_run(world: CanaryWorld) -> None:
    """A healthy SaaS: WP04 passes one run, WP05 passes 4/4 with 16 cells; every run file kept and sealed."""
    gate, report = world.gate("WP05")
    wp04, wp05 = report.step("WP04"), report.step("WP05")
    assert wp04 is not None and wp05 is not None
    assert (wp04.status, wp05.status) == (StepStatus.PASSED, StepStatus.PASSED), (wp04.reason, wp05.reason)
    assert wp04.facts["attempt_dir"] == "rc16-single-attempt1"
    assert wp04.facts["single_run_file"] == "rc16-single-attempt1/runs/run-1.json"
    assert wp05.facts["attempt_dir"] == "rc16-attempt1"
    assert (wp05.facts["runs_passed"], wp05.facts["cells_passed"]) == (4, 16)
    assert wp05.facts["run_files"] == ",".join(f"rc16-attempt1/runs/run-{k}.json" for k in range(1, 5))
    attempt = gate.run_dir / "rc16-attempt1"
    for k in range(1, 5):
        doc = json.loads((attempt / "runs" / f"run-{k}.json").read_text())
        assert doc["outcome"] == "pass"
        assert doc["cli_version"] == "spec-kitty-cli version 3.2.0rc16"
        assert (attempt / f"{doc['run_id']}.json").read_bytes() == (attempt / "runs" / f"run-{k}.json").read_bytes()
        assert (attempt / "logs" / f"run-{k}.log").is_file()
    assert (attempt / "latest.json").read_bytes() == (attempt / "runs" / "run-4.json").read_bytes()
    assert (attempt / "MANIFEST.sha256").is_file()
    assert oct((attempt / "runs" / "run-1.json").stat().st_mode & 0o777) == oct(0o444)
    findings = verify_run(gate.run_dir)
    assert findings.ok, findings.render()
    assert world.github.writes() == []
    assert {r.method for r in world.saas.requests} == {"GET"}


def test_failing_scenario_reopens_mapped_blocker_once(world: CanaryWorld) -> None:
    """S4's rollback-peek failure re-opens #1141 with one comment; a re-run finds it open and writes nothing."""
    world.saas.extra = {"canary": canary_state(fail={4: SIGNATURE_TEXTS["rollback-peek"]})}
    gate, report = world.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "scenario 4 fail" in wp04.reason
    assert "rollback-peek" in wp04.reason
    assert "re-opened Priivacy-ai/spec-kitty#1141" in wp04.reason
    assert wp04.facts["reopened"] == "1141"
    assert world.issue_state(1141) == "open"
    assert world.issue_state(1182) == "closed"
    with world.github.lock:
        comments = [c.body for c in world.github.state.issue("Priivacy-ai/spec-kitty", 1141).comments]
    assert len(comments) == 1
    assert "3.2.0rc16" in comments[0]
    assert "scenario 4" in comments[0]
    assert "rc16-single-attempt1/runs/run-1.json" in comments[0]
    writes_before = len(world.github.writes())
    assert writes_before == 2  # the re-open and the comment
    _, again = world.gate("WP04")
    wp04b = again.step("WP04")
    assert wp04b is not None and wp04b.status is StepStatus.STOPPED
    assert "already open; not re-opened" in wp04b.reason
    assert wp04b.facts["attempt_dir"] == "rc16-single-attempt2"
    assert len(world.github.writes()) == writes_before
    # The first attempt is untouched by the second.
    assert verify_run(gate.run_dir).ok


def test_unknown_signature_reopens_nothing(world: CanaryWorld) -> None:
    """An unmapped failure text is quoted as a new failure signature; GitHub sees no write."""
    world.saas.extra = {"canary": canary_state(fail={1: UNKNOWN_SIGNATURE_TEXT})}
    _, report = world.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.STOPPED
    assert "new failure signature" in wp04.reason
    assert "Batch sync failed (400)" in wp04.reason
    assert wp04.facts["reopened"] == ""
    assert world.github.writes() == []
    assert world.issue_state(1141) == "closed"


def test_flaky_run_three_stops_after_run_three(world: CanaryWorld) -> None:
    """A state failing one scenario in run 3 only: WP05 stops after run 3, runs 1-3 kept, no run 4."""
    steps = {"WP04": lambda _ctx: StepOutcome.passed("single run passed")}
    world.saas.extra = {"canary": canary_state(flaky_fail_run=3)}
    gate, report = world.gate("WP05", steps=steps)
    wp05 = report.step("WP05")
    assert wp05 is not None
    assert (wp05.status, wp05.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp05.reason
    assert wp05.facts["failed_run"] == 3
    assert wp05.facts["runs_passed"] == 2
    assert "protocol stopped after run 3 of 4" in wp05.reason
    assert "event-loop-unavailable" in wp05.reason
    runs = sorted(p.name for p in (gate.run_dir / "rc16-attempt1" / "runs").iterdir())
    assert runs == ["run-1.json", "run-2.json", "run-3.json"]
    outcomes = [json.loads((gate.run_dir / "rc16-attempt1" / "runs" / r).read_text())["outcome"] for r in runs]
    assert outcomes == ["pass", "pass", "fail"]
    assert world.issue_state(1182) == "open"
    assert verify_run(gate.run_dir).ok


def test_progress_names_run_scenario_and_elapsed(world: CanaryWorld) -> None:
    """Progress lines say which run of how many, which scenario, and the elapsed time."""
    stream = io.StringIO()
    world.gate("WP05", progress=Progress(stream, tty=False), steps={"WP04": lambda _ctx: StepOutcome.passed("ok")})
    lines = stream.getvalue().splitlines()
    for k in range(1, 5):
        assert any(re.search(rf"\[WP05 \d\d:\d\d\] run {k} of 4: scenario 4, \d\d:\d\d$", ln) for ln in lines), lines
        assert any(ln.endswith(f"run {k} of 4: pass (rc16-attempt1/runs/run-{k}.json)") for ln in lines)


def test_exit_code_disagreeing_with_the_run_file_is_inconsistent_evidence(world: CanaryWorld) -> None:
    """The runner exits 1 while its run file says pass: a failed stop (inconsistent evidence), never a pass."""
    command = ("sh", "-c", "scripts/run-sync-identity-boundary-canary.sh --single --yes; exit 1")
    gate, report = world.gate("WP04", world.config(command=command))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert "rc16-single-attempt1/runs/run-1.json: $.outcome: inconsistent evidence" in wp04.reason
    assert "the runner exited 1 but its run file says 'pass'" in wp04.reason
    assert report.exit_code == 1
    assert (gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json").is_file()


def test_runner_script_four_run_protocol_stops_at_first_failure(world: CanaryWorld) -> None:
    """The fixture runner without --single runs the four-run protocol and stops at the first failing run."""
    world.saas.extra = {"canary": canary_state(flaky_fail_run=2)}
    env = {
        "PATH": f"{world.cli_bin}:{os.environ['PATH']}",
        "SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
        "SPEC_KITTY_E2E_TRUSTED_RUNNER": "1",
        "SPEC_KITTY_SAAS_URL": world.saas.base_url,
    }
    proc = subprocess.run(
        [str(world.checkout / RUNNER_SCRIPT), "--yes"],
        cwd=world.checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    art = world.checkout / "artifacts" / "sync_identity_boundary"
    assert sorted(p.name for p in (art / "runs").iterdir()) == ["run-1.json", "run-2.json"]
    second = json.loads((art / "runs" / "run-2.json").read_text())
    assert second["outcome"] == "fail"
    assert len(second["run_id"]) == 26
    assert (art / f"{second['run_id']}.json").read_text() == (art / "latest.json").read_text()
    assert "== run 2 of 4 ==" in proc.stdout
    assert "== run 3 of 4 ==" not in proc.stdout
