"""The SaaS is read for a redeploy before run 1 and after every run of WP04, WP05 and WP07."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from phase4gate.models import StepOutcome, StepStatus, StopKind
from phase4gate.sandbox._server import Request, Response
from phase4gate.sandbox.saas import SaaSEmulator

from .conftest import CanaryWorld, make_world

_UPSTREAM = {
    "WP04": lambda _ctx: StepOutcome.passed("single run passed"),
    "WP05": lambda _ctx: StepOutcome.passed("4/4"),
}


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


def _redeploying_wp03(world: CanaryWorld) -> dict[str, Any]:
    """WP03 as it passed, then the SaaS redeploys before the next WP starts."""
    facts = world.prior_facts()["WP03"]

    def wp03(_ctx: object) -> StepOutcome:
        world.saas.redeploy()
        return StepOutcome.passed("SaaS ready", facts=facts)

    return {"WP03": wp03}


def test_redeploy_between_wp03_and_wp04_stops_before_any_run(world: CanaryWorld) -> None:
    """Redeployed after WP03's preflight: WP04 stops waiting before run 1; nothing runs, nothing is reserved."""
    gate, report = world.gate("WP04", steps=_redeploying_wp03(world))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING), wp04.reason
    assert "seen before run 1 of 1" in wp04.reason
    assert "re-run from WP03" in wp04.reason
    assert "No canary run was started" in wp04.reason
    assert not (world.checkout / "artifacts" / "sync_identity_boundary" / "latest.json").exists()
    assert not any(gate.run_dir.glob("rc16-*"))
    assert report.exit_code == 1


def test_redeploy_before_wp05_run_1_stops_before_any_run(world: CanaryWorld) -> None:
    """WP05 reads the SaaS before its run 1 too: a redeploy since WP03 stops it waiting, no run started."""
    steps = {**_redeploying_wp03(world), "WP04": lambda _ctx: StepOutcome.passed("single run passed")}
    gate, report = world.gate("WP05", steps=steps)
    wp05 = report.step("WP05")
    assert wp05 is not None
    assert (wp05.status, wp05.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING), wp05.reason
    assert "seen before run 1 of 4" in wp05.reason
    assert not any(gate.run_dir.glob("rc16-attempt*"))


def test_redeploy_between_teamspace_runs_stops_wp07_waiting(tmp_path: Path) -> None:
    """Redeployed between Teamspace runs 2 and 3: WP07 stops waiting after run 2; run 3 never starts."""
    # The gate's reads in WP07: one before run 1, then one after each run; the third follows run 2.
    with make_world(tmp_path, RedeployOnGateRead(3)) as world:
        gate, report = world.gate("WP07", steps=_UPSTREAM)
    wp07 = report.step("WP07")
    assert wp07 is not None
    assert (wp07.status, wp07.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING), wp07.reason
    assert "SaaS redeployed since the preflight: git_sha" in wp07.reason
    assert "seen after Teamspace run 2 of 4" in wp07.reason
    assert wp07.facts["teamspace_runs_passed"] == 2
    assert sorted(p.name for p in (gate.run_dir / "wp07" / "1").glob("*.log")) == [
        "teamspace-run-1.log",
        "teamspace-run-2.log",
    ]
    assert not (world.tmp / "teamspace-canary-run-3.log").exists()
    assert report.exit_code == 1


def test_redeploy_before_teamspace_run_1_stops_wp07_waiting(world: CanaryWorld) -> None:
    """Redeployed since WP03 and before WP07: it stops waiting before its first Teamspace run."""
    _, report = world.gate("WP07", steps={**_UPSTREAM, **_redeploying_wp03(world)})
    wp07 = report.step("WP07")
    assert wp07 is not None
    assert (wp07.status, wp07.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING), wp07.reason
    assert "seen before Teamspace run 1 of 4" in wp07.reason
    assert "no Teamspace run was started" in wp07.reason
    assert not (world.tmp / "teamspace-canary-run-1.log").exists()
