"""Runner edges: setup once before the first run, no run file, a non-JSON run file, GitHub and SaaS faults."""

from __future__ import annotations

from pathlib import Path

from phase4gate.adapters.store import EvidenceStore
from phase4gate.canary_protocol import reopen_blockers
from phase4gate.checks.canary import SignatureMatch
from phase4gate.config import GateConfig
from phase4gate.gate import StepContext
from phase4gate.models import StepOutcome, StepStatus, StopKind
from phase4gate.progress import NullProgress
from phase4gate.sandbox._server import Fault, Request, Response
from phase4gate.sandbox.e2e import SIGNATURE_TEXTS, canary_state
from phase4gate.sandbox.saas import SaaSEmulator

from .conftest import CanaryWorld, make_world

_SINGLE_OK = {"WP04": lambda _ctx: StepOutcome.passed("single run passed")}


def test_setup_command_runs_once_before_the_first_run(world: CanaryWorld) -> None:
    """A configured setup command runs once, before run 1; nothing runs between runs; its log is kept."""
    config = world.config(setup_command=("sh", "-c", "echo stopped-daemon >> setup-ran.txt"))
    gate, report = world.gate("WP05", config, steps=_SINGLE_OK)
    wp05 = report.step("WP05")
    assert wp05 is not None
    assert wp05.status is StepStatus.PASSED, wp05.reason
    assert (world.checkout / "setup-ran.txt").read_text() == "stopped-daemon\n"
    assert (gate.run_dir / "rc16-attempt1" / "logs" / "setup.log").is_file()


def test_failing_setup_command_is_exit_3(world: CanaryWorld) -> None:
    """A setup command that fails: could not decide (3), no canary run started."""
    config = world.config(setup_command=("sh", "-c", "echo no daemon to stop; exit 4"))
    gate, report = world.gate("WP04", config)
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.ERROR
    assert "failed (exit 4" in wp04.reason
    assert not (gate.run_dir / "rc16-single-attempt1" / "runs").exists()
    assert "no daemon to stop" in (gate.run_dir / "rc16-single-attempt1" / "logs" / "setup.log").read_text()


def test_runner_writing_no_run_file_is_a_stop(world: CanaryWorld) -> None:
    """A runner that exits 0 and writes nothing: never a pass; the stop names latest.json."""
    _, report = world.gate("WP04", world.config(command=("true",)))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "latest.json" in wp04.reason
    assert "wrote no run file" in wp04.reason


def test_stale_run_file_from_an_earlier_run_is_not_reused(world: CanaryWorld) -> None:
    """latest.json left by an earlier run, unchanged by this one: not this run's result."""
    assert world.gate("WP04")[1].exit_code == 0
    _, report = world.gate("WP04", world.config(command=("true",)))
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.STOPPED
    assert "unchanged since before run 1" in wp04.reason


def test_non_json_run_file_is_kept_and_named(world: CanaryWorld) -> None:
    """A truncated latest.json: kept as evidence, the stop names it."""
    script = 'mkdir -p artifacts/sync_identity_boundary && printf \'{"outcome": "pa\' > artifacts/sync_identity_boundary/latest.json'
    gate, report = world.gate("WP04", world.config(command=("sh", "-c", script)))
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.STOPPED
    assert "rc16-single-attempt1/runs/run-1.json: $: not JSON" in wp04.reason
    assert (gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json").read_text() == '{"outcome": "pa'


def test_no_checkout_configured_is_a_config_error(world: CanaryWorld) -> None:
    """Without canary.e2e_checkout the step cannot decide."""
    _, report = world.gate("WP04", world.config(e2e_checkout=None))
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.ERROR
    assert "canary.e2e_checkout" in wp04.reason


def test_github_failure_keeps_the_canary_verdict(world: CanaryWorld) -> None:
    """GitHub answers 500 when the gate reads #1141: the stop stays 'failed' and says the re-open did not happen."""
    world.saas.extra = {"canary": canary_state(fail={4: SIGNATURE_TEXTS["rollback-peek"]})}
    world.github.inject("/api/v3/repos/Priivacy-ai/spec-kitty/issues/1141", *[Fault("status", status=500)] * 10)
    _, report = world.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "could not re-open on GitHub" in wp04.reason
    assert world.github.token not in wp04.reason
    assert world.issue_state(1141) == "closed"


class HealthDownForGate(SaaSEmulator):
    """Answers the gate's own ``/health/`` reads with 503 (the scenarios still see a healthy SaaS)."""

    def handle(self, request: Request) -> Response:
        if request.path == "/health/" and (request.header("User-Agent") or "").startswith("phase4gate"):
            return Response.json({"detail": "unavailable"}, status=503)
        return super().handle(request)


def test_unreadable_health_after_a_run_stops_waiting(tmp_path: Path) -> None:
    """The gate cannot read /health/ after a run: it cannot confirm the SaaS is unchanged (waiting)."""
    with make_world(tmp_path, HealthDownForGate()) as world:
        _, report = world.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING)
    assert "cannot confirm the SaaS is unchanged" in wp04.reason


def test_reopen_in_a_dry_run_only_describes(tmp_path: Path) -> None:
    """In a dry run the re-open is described, never sent."""
    notes: list[str] = []

    class Recorder(NullProgress):
        def update(self, wp: str, message: str) -> None:
            notes.append(f"{wp}: {message}")

    ctx = StepContext(
        wp="WP05",
        config=GateConfig(),
        run_id="r",
        store=EvidenceStore(tmp_path / "r"),
        evidence_root=tmp_path,
        results={},
        progress=Recorder(),
        dry_run=True,
    )
    failures = (SignatureMatch(3, 4, "fail", "rollback-peek", 1141, "peeked row"),)
    done = reopen_blockers(ctx, failures, rc_version="3.2.0rc16", evidence_path="rc16-attempt1/runs/run-3.json")
    assert done.error is None
    assert done.actions == (
        "dry run: would re-open Priivacy-ai/spec-kitty#1141 if closed, with a comment naming the evidence",
    )
    assert done.reopened == ()
    assert done.fact == ""
    assert notes == [f"WP05: {a}" for a in done.actions]


def test_run_file_found_in_runs_when_latest_is_missing(world: CanaryWorld) -> None:
    """A runner that leaves only runs/run-1.json (no latest.json): that file is the run's result."""
    script = (
        "scripts/run-sync-identity-boundary-canary.sh --single --yes && rm artifacts/sync_identity_boundary/latest.json"
    )
    gate, report = world.gate("WP04", world.config(command=("sh", "-c", script)))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert wp04.status is StepStatus.PASSED, wp04.reason
    kept = gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json"
    harness = world.checkout / "artifacts" / "sync_identity_boundary" / "runs" / "run-1.json"
    assert kept.read_bytes() == harness.read_bytes()
