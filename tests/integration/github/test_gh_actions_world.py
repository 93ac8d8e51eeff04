"""The sandbox world with the GitHub Actions executor: the runner attached, the scenarios' behaviours.

One world runs a real canary and a real Teamspace run on the Actions runner against its own
index and SaaS; the scenario table carries the Actions scenarios as emulator behaviours.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3

from phase4gate.errors import UsageError
from phase4gate.sandbox.e2e import CANARY_WORKFLOW, TEAMSPACE_WORKFLOW
from phase4gate.sandbox.world import ACTIONS_SCENARIOS, SCENARIOS, World, scenario
from tests.conftest import HANG_GUARD_SECONDS

WAIT_SECONDS = 180.0

# The issue's table: each Actions scenario and where it ends (judged by the executor's tests).
EXPECTED = {
    "actions-rerun-attempt": ("WP05", 1),
    "actions-digest-mismatch": ("WP04", 1),
    "actions-wrong-sha": ("WP04", 1),
    "actions-cancelled": ("WP04", 3),
    "actions-queued-forever": ("WP04", 3),
    "actions-artifact-expired": ("WP04", 3),
    "actions-no-run-details": (None, 0),
    "actions-rate-limited": (None, 0),
    "actions-dispatch-422": ("WP04", 2),
}


def _dispatch_and_wait(world: World, workflow: str, correlation: str) -> dict[str, Any]:
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=30))
    headers = {"Authorization": f"Bearer {world.github.token}", "X-GitHub-Api-Version": "2026-03-10"}
    base = f"{world.github.api_url}/repos/{world.describe()['actions_repo']}/actions"
    body = {"ref": "main", "inputs": {"cli_version": "3.2.0rc16", "correlation_id": correlation}}
    r = http.request("POST", f"{base}/workflows/{workflow}/dispatches", body=json.dumps(body).encode(), headers=headers)
    assert r.status == 200, r.data
    run_id = json.loads(r.data)["workflow_run_id"]
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        run: dict[str, Any] = json.loads(http.request("GET", f"{base}/runs/{run_id}", headers=headers).data)
        if run["status"] == "completed":
            return run
        assert time.monotonic() < deadline, run["status"]
        time.sleep(0.1)


def test_actions_world_runs_the_canary_and_teamspace_on_the_runner(tmp_path: Path, seen_tokens: list[str]) -> None:
    with World(tmp_path / "w", executor="github-actions") as world:
        seen_tokens.extend(world.github.state.tokens)
        described = world.describe()
        assert described["executor"] == "github-actions"
        assert described["canary_workflow"] == CANARY_WORKFLOW
        assert described["teamspace_workflow"] == TEAMSPACE_WORKFLOW
        canary = _dispatch_and_wait(world, CANARY_WORKFLOW, "world/WP04/1")
        teamspace = _dispatch_and_wait(world, TEAMSPACE_WORKFLOW, "world/WP07/1")
        assert world.actions_runner is not None
        assert world.actions_runner.installs == 1
    assert canary["conclusion"] == "success"
    assert canary["head_sha"] == described["e2e_pinned_sha"]
    assert teamspace["conclusion"] == "success"


def test_stopping_the_world_ends_a_running_canary(tmp_path: Path, seen_tokens: list[str]) -> None:
    """A hung canary on the runner: World.stop() kills its whole process group and joins the workers."""
    from phase4gate.sandbox.e2e import canary_state

    world = World(tmp_path / "w", executor="github-actions").start()
    try:
        seen_tokens.extend(world.github.state.tokens)
        world.saas.extra["canary"] = canary_state(hang_seconds=600)
        http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=30))
        headers = {"Authorization": f"Bearer {world.github.token}"}
        url = f"{world.github.api_url}/repos/{world.describe()['actions_repo']}/actions/workflows/{CANARY_WORKFLOW}"
        body = {"ref": "main", "inputs": {"cli_version": "3.2.0rc16", "correlation_id": "stop/1"}}
        assert http.request("POST", f"{url}/dispatches", body=json.dumps(body).encode(), headers=headers).status == 204
        runner = world.actions_runner
        deadline = time.monotonic() + WAIT_SECONDS
        groups: list[int] = []
        while not groups:
            with runner._lock:
                groups = [p.pid for p in runner._procs if p.args[-1] == "--yes"]
            assert time.monotonic() < deadline, "the canary never started"
            time.sleep(0.05)
    finally:
        world.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(groups[0], 0)
    assert all(not t.is_alive() for t in runner._threads)
    run = world.github.actions.runs[-1]
    assert run.latest.conclusion == "cancelled"


def test_local_world_serves_actions_but_runs_nothing(tmp_path: Path) -> None:
    """The local executor's world answers the Actions API (workflows listed) with no runner attached."""
    with World(tmp_path / "w") as world:
        assert world.executor == "local"
        assert world.actions_runner is None
        assert world.describe()["canary_workflow"] == CANARY_WORKFLOW
        with world.github.lock:
            assert world.github.actions.sources  # the e2e repository's workflows are served


def test_unknown_executor_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown executor 'cloud'"):
        World(tmp_path / "w", executor="cloud")


def test_actions_scenarios_are_emulator_behaviours_with_the_issues_ends(tmp_path: Path) -> None:
    names = {s.name for s in ACTIONS_SCENARIOS}
    assert set(EXPECTED) <= names
    assert not names & {s.name for s in SCENARIOS}  # the local demo table is unchanged
    for name, (wp, exit_code) in EXPECTED.items():
        s = scenario(name)
        assert s.executor == "github-actions"
        assert (s.wp, s.exit_code) == (wp, exit_code), name
        assert s.kind == ("failed" if exit_code == 1 else None), name
    world = World(tmp_path / "w", "actions-wrong-sha")
    assert world.executor == "github-actions"  # the scenario's executor is the default
    world.commits["e2e-actions:previous"] = "f" * 40
    assert world.actions_behaviour().head_sha == "f" * 40
    rerun = World(tmp_path / "w2", "actions-rerun-attempt").actions_behaviour()
    assert rerun.rerun_first_attempt
    assert rerun.applies(f".github/workflows/{CANARY_WORKFLOW}", 3)
    assert not rerun.applies(f".github/workflows/{CANARY_WORKFLOW}", 1)
    assert not rerun.applies(f".github/workflows/{TEAMSPACE_WORKFLOW}", 3)
    assert not World(tmp_path / "w3", "actions-no-run-details").actions_behaviour().run_details
    assert World(tmp_path / "w4", "actions-artifact-expired").actions_behaviour().artifact_ttl_seconds == 0


def test_sandbox_command_names_the_canary_workflow(tmp_path: Path) -> None:
    """`phase4gate sandbox --executor github-actions` prints canary_workflow in its JSON line and stops on SIGTERM."""
    with subprocess.Popen(
        [sys.executable, "-m", "phase4gate", "sandbox", "--executor", "github-actions"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    ) as proc:
        try:
            assert proc.stdout is not None
            line = json.loads(proc.stdout.readline())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=HANG_GUARD_SECONDS)
    assert line["canary_workflow"] == CANARY_WORKFLOW
    assert line["executor"] == "github-actions"
    assert len(line["e2e_pinned_sha"]) == 40
    assert proc.returncode == 0
