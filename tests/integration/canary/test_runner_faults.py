"""Runner faults: SaaS redeploy between runs, preflight exit 2, a hung runner, an inconsistent run file, reruns."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from phase4gate.models import StepOutcome, StepStatus, StopKind
from phase4gate.sandbox._server import Request, Response
from phase4gate.sandbox.e2e import RUNNER_SCRIPT, canary_state
from phase4gate.sandbox.saas import SaaSEmulator
from phase4gate.verify import verify_run

from .conftest import CanaryWorld, make_world


class RedeployOnGateRead(SaaSEmulator):
    """Redeploys right before answering the gate's *n*-th ``/health/`` read (the gate's User-Agent)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.gate_reads = 0

    def handle(self, request: Request) -> Response:
        if request.path == "/health/" and (request.header("User-Agent") or "").startswith("phase4gate"):
            self.gate_reads += 1
            if self.gate_reads == self.n:
                self.redeploy()
        return super().handle(request)


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and int(proc.name) != os.getpid():
            pids.append(int(proc.name))
    return pids


def test_saas_redeploy_between_runs_stops_waiting(tmp_path: Path) -> None:
    """The SaaS redeploys between WP05's runs 2 and 3: stop (waiting) after run 2, runs 1-2 kept."""
    # The gate's reads: one before run 1, then one after each run; the third is the one after run 2.
    with make_world(tmp_path, RedeployOnGateRead(3)) as world:
        steps = {"WP04": lambda _ctx: StepOutcome.passed("single run passed")}
        gate, report = world.gate("WP05", steps=steps)
    wp05 = report.step("WP05")
    assert wp05 is not None
    assert (wp05.status, wp05.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING), wp05.reason
    assert "SaaS redeployed during the gate; re-run from WP03" in wp05.reason
    assert "git_sha" in wp05.reason
    assert "after run 2 of 4" in wp05.reason
    runs = sorted(p.name for p in (gate.run_dir / "rc16-attempt1" / "runs").iterdir())
    assert runs == ["run-1.json", "run-2.json"]
    assert report.exit_code == 1
    assert verify_run(gate.run_dir).ok


def test_runner_preflight_failure_is_exit_3(world: CanaryWorld, tmp_path: Path) -> None:
    """No ``spec-kitty`` on PATH: the runner's preflight exits 2, the gate reports 'could not decide' (3)."""
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    world.cli_bin = empty_bin
    env_path = ":".join(p for p in os.environ["PATH"].split(":") if not (Path(p) / "spec-kitty").exists())
    world_env = world.environ()
    world_env["PATH"] = env_path
    config = world.config()
    from phase4gate.gate import Gate

    gate = Gate(config, evidence_root=world.evidence_root, environ=world_env, steps=world.prior_steps())
    report = gate.run(until="WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert wp04.status is StepStatus.ERROR
    assert "preflight failed (exit 2)" in wp04.reason
    assert "rc16-single-attempt1/logs/run-1.log" in wp04.reason
    assert report.exit_code == 3
    log = (gate.run_dir / "rc16-single-attempt1" / "logs" / "run-1.log").read_text()
    assert "preflight: spec-kitty --version failed" in log
    assert (gate.run_dir / "rc16-single-attempt1" / "MANIFEST.sha256").is_file()


def test_runner_script_refuses_missing_environment(world: CanaryWorld) -> None:
    """The fixture runner exits 2 without SPEC_KITTY_ENABLE_SAAS_SYNC or SPEC_KITTY_E2E_TRUSTED_RUNNER."""
    base = {"PATH": f"{world.cli_bin}:{os.environ['PATH']}", "SPEC_KITTY_SAAS_URL": world.saas.base_url}
    for env, missing in (
        ({**base, "SPEC_KITTY_E2E_TRUSTED_RUNNER": "1"}, "SPEC_KITTY_ENABLE_SAAS_SYNC"),
        ({**base, "SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}, "SPEC_KITTY_E2E_TRUSTED_RUNNER"),
    ):
        proc = subprocess.run(
            [str(world.checkout / RUNNER_SCRIPT), "--single", "--yes"],
            cwd=world.checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2
        assert missing in proc.stderr
    assert not (world.checkout / "artifacts" / "sync_identity_boundary" / "latest.json").exists()


def test_hung_runner_is_killed_at_its_timeout(world: CanaryWorld) -> None:
    """Scenarios that hang: the run's process group is ended at the timeout, the step errors (3), the log is kept."""
    world.saas.extra = {"canary": canary_state(hang_seconds=600)}
    gate, report = world.gate("WP04", world.config(timeout_seconds=4.0))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert wp04.status is StepStatus.ERROR
    assert "did not finish within 4s" in wp04.reason
    assert report.exit_code == 3
    assert _processes_mentioning(str(world.checkout)) == []
    assert (gate.run_dir / "rc16-single-attempt1" / "logs" / "run-1.log").is_file()
    assert not (gate.run_dir / "rc16-single-attempt1" / "runs").exists()
    assert verify_run(gate.run_dir).ok


def test_inconsistent_run_file_is_a_stop_naming_file_and_field(world: CanaryWorld) -> None:
    """The harness writes outcome 'pass' with scenario 2 failed: a stop naming the file and $.outcome; file kept."""
    world.saas.extra = {"canary": canary_state(fail={2: "AssertionError: owner leaked"}, inconsistent=True)}
    gate, report = world.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "rc16-single-attempt1/runs/run-1.json: $.outcome: 'pass' but not every scenario passed (2=fail)" in (
        wp04.reason
    )
    kept = gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json"
    assert '"outcome": "pass"' in kept.read_text()
    assert world.github.writes() == []
    assert verify_run(gate.run_dir).ok


def test_rerun_options_are_refused(world: CanaryWorld) -> None:
    """A canary command asking for reruns is refused before anything runs."""
    config = world.config(command=("scripts/run-sync-identity-boundary-canary.sh", "--single", "--yes", "--reruns=2"))
    gate, report = world.gate("WP04", config)
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert wp04.status is StepStatus.ERROR
    assert "--reruns=2" in wp04.reason
    assert "a rerun is never a pass" in wp04.reason
    assert not (world.checkout / "artifacts" / "sync_identity_boundary" / "latest.json").exists()
    assert not any(gate.run_dir.glob("rc16-*"))
