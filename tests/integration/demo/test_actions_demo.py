"""The whole gate with every canary and Teamspace run on the sandbox's GitHub Actions (issue 22).

Each Actions scenario runs WP01-WP08 through the real engine, the GitHub emulator's
Actions API and the sandbox runner pool (a dispatched run really checks out the e2e
fixture, installs the RC from the index emulator, runs the canary and uploads its
artifact), and must end where the scenario table says: green, a failed stop at the
named WP, or exit 3 / exit 2 at WP04.  Every run verifies, sends the SaaS only GETs and
leaves no token in the evidence.  The CLI is exercised too (`demo --executor`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from phase4gate.gate import Gate
from phase4gate.models import GateReport, StepStatus
from phase4gate.sandbox.world import ACTIONS_SCENARIOS, Scenario, World
from phase4gate.verify import verify_run
from tests.gate_helpers import token_hits

GATE_AGENT = "phase4gate/"
E2E_REPO = "Priivacy-ai/spec-kitty-end-to-end-testing"


def _dispatched(world: World, wp: str) -> list[str]:
    """Return the correlation ids of the accepted dispatches of *wp*'s runs, in order."""
    with world.github.lock:
        ids = [str((d.get("inputs") or {}).get("correlation_id", "")) for d in world.github.actions.dispatches]
    return [i for i in ids if f"-{wp}-" in i]


def _cited(report: GateReport, wp: str) -> tuple[list[str], list[str]]:
    step = report.step(wp)
    assert step is not None
    ids = [i for i in str(step.facts.get("executor_run_ids", "")).split(",") if i]
    urls = [u for u in str(step.facts.get("executor_run_urls", "")).split(",") if u]
    return ids, urls


def _assert_green(report: GateReport, gate: Gate, world_dispatches: dict[str, list[str]]) -> None:
    assert report.verdict is StepStatus.PASSED, [(s.wp, s.status, s.reason) for s in report.steps]
    assert [s.status for s in report.steps] == [StepStatus.PASSED] * 8
    # Five canary runs (1 single + 4) and four Teamspace runs, each dispatched once and cited by URL.
    for wp, runs in (("WP04", 1), ("WP05", 4), ("WP07", 4)):
        ids, urls = _cited(report, wp)
        assert len(ids) == runs, (wp, ids)
        assert len(urls) == runs, (wp, urls)
        assert all(
            u.startswith("http") and f"/{E2E_REPO}/actions/runs/{i}" in u for i, u in zip(ids, urls, strict=True)
        )
        assert len(world_dispatches[wp]) == runs, (wp, world_dispatches[wp])
        assert len(set(world_dispatches[wp])) == runs
    # The e2e#41 comment cites every WP05 run by its Actions URL in a run_id column.
    e2e_comment = next(p for p in gate.run_dir.rglob("*-comment.md") if "e2e" in p.name)
    body = e2e_comment.read_text(encoding="utf-8")
    assert "run_id" in body
    for i, u in zip(*_cited(report, "WP05"), strict=True):
        assert f"[{i}]({u})" in body
    # Each run's artifact zip is kept beside its run file, and the attestation names it.
    attempt = gate.run_dir / str(report.step("WP05").facts["attempt_dir"])  # type: ignore[union-attr]
    zips = sorted(p.name for p in (attempt / "runs").glob("run-*.artifact.zip"))
    assert zips == [f"run-{k}.artifact.zip" for k in range(1, 5)]


@pytest.mark.parametrize("scenario", ACTIONS_SCENARIOS, ids=[s.name for s in ACTIONS_SCENARIOS])
def test_actions_scenario_ends_where_it_should(scenario: Scenario, tmp_path: Path) -> None:
    """The gate on Actions ends green, on the scenario's stop, or with its exit code; evidence intact."""
    with World(tmp_path / "world", scenario.name) as world:
        assert world.executor == "github-actions"
        config = world.config(tmp_path / "evidence")
        assert config.canary.executor == "github-actions"
        gate = Gate(config, environ=world.environ(dict(os.environ)))
        report = gate.run()
        saas_methods = {
            r.method for r in world.saas.requests if (r.headers.get("User-Agent") or "").startswith(GATE_AGENT)
        }
        dispatches = {wp: _dispatched(world, wp) for wp in ("WP04", "WP05", "WP07")}
        tokens = [world.github.token, world.github.read_only_token]
        e41 = world.github.state.issue(E2E_REPO, 41)
        tracker = world.github.state.issue("Priivacy-ai/spec-kitty", 1038)
    if scenario.wp is None:
        _assert_green(report, gate, dispatches)
        assert e41.state == "closed"
    else:
        step = report.step(scenario.wp)
        assert step is not None
        if scenario.kind is not None:
            assert step.status is StepStatus.STOPPED, (step.status, step.reason)
            assert step.stop_kind is not None and step.stop_kind.value == scenario.kind, step.reason
        else:
            assert step.status is StepStatus.ERROR, (step.status, step.reason)
        assert int(report.exit_code) == (scenario.exit_code if scenario.exit_code is not None else 1), step.reason
        later = [s for s in report.steps if s.wp > scenario.wp]
        assert all(s.status is StepStatus.SKIPPED for s in later), [(s.wp, s.status) for s in later]
        assert e41.state == "open"
        # Never more than one dispatch per slot, and nothing dispatched after the stop.
        for wp, ids in dispatches.items():
            assert len(ids) == len(set(ids)), (wp, ids)
            if wp > scenario.wp:
                assert ids == [], (wp, ids)
    assert tracker.state == "open"
    assert saas_methods <= {"GET"}, saas_methods
    findings = verify_run(gate.run_dir)
    assert findings.ok, findings.render()
    assert token_hits(tmp_path / "evidence", tokens) == []


def test_demo_lists_the_actions_scenarios(tmp_path: Path) -> None:
    """`demo --scenario list --json` names every Actions scenario with its executor and expected exit."""
    out = subprocess.run(
        [sys.executable, "-m", "phase4gate", "demo", "--scenario", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    for s in ACTIONS_SCENARIOS:
        assert rows[s.name]["executor"] == "github-actions"
    assert rows["actions-cancelled"]["exit_code"] == 3
    assert rows["actions-dispatch-422"]["exit_code"] == 2
    assert rows["actions-rerun-attempt"]["exit_code"] == 1
    assert rows["green"]["executor"] == "local"
    assert rows["green"]["exit_code"] == 0


def test_demo_cli_executor_dispatch_422_is_exit_2(tmp_path: Path) -> None:
    """`demo --scenario actions-dispatch-422` through the CLI: exit 2, and the demo says it was as expected."""
    out = subprocess.run(
        [sys.executable, "-m", "phase4gate", "demo", "--scenario", "actions-dispatch-422", "--evidence-root", "ev"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=900,
    )
    assert out.returncode == 2, out.stderr[-3000:]
    assert "canary executor github-actions" in out.stderr
    assert "expects exit 2 at WP04 on Actions: as expected" in out.stderr
    assert "workflow_dispatch" in out.stdout + out.stderr


def test_demo_unknown_executor_is_usage(tmp_path: Path) -> None:
    """An executor the demo does not know is a usage error (exit 2) naming the choices."""
    out = subprocess.run(
        [sys.executable, "-m", "phase4gate", "demo", "--executor", "jenkins"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 2
    assert "github-actions" in out.stderr
