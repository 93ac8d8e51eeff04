"""Reliability on Actions: SIGKILL between dispatch and journal write, SIGINT mid-run, 5xx while polling.

The gate runs in a process of its own (``tests.integration.canary.gate_child``) where a
signal is sent to it; every wait is bounded.
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

from phase4gate.models import StepStatus
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.e2e import canary_state
from phase4gate.sandbox.github_api import API_PREFIX
from phase4gate.steps import wp04
from tests.conftest import HANG_GUARD_SECONDS
from tests.integration.canary.gate_child import write_spec

from .conftest import E2E_REPO, ActionsHarness, SleepRecorder, canary_dispatches, with_sleep

REPO_ROOT = Path(__file__).resolve().parents[3]


def _child(harness: ActionsHarness, tmp_path: Path, until: str) -> subprocess.Popen[str]:
    spec = write_spec(
        tmp_path / "spec.json",
        harness.config(),
        evidence_root=str(harness.evidence_root),
        environ=harness.environ(),
        facts=harness.facts(),
        until=until,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.canary.gate_child", str(spec)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_journal(root: Path, needle: str, proc: subprocess.Popen[str]) -> tuple[Path, list[dict[str, Any]]]:
    """Wait (bounded) until a journal under *root* has an Actions slot event in state *needle*."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < deadline:
        for journal in root.glob("*/journal.jsonl"):
            events = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
            if any((e.get("actions") or {}).get("state") == needle for e in events):
                return journal.parent, events
        if proc.poll() is not None:
            msg = f"the gate ended ({proc.returncode}) before {needle!r}: {proc.communicate()[1][-2000:]}"
            raise AssertionError(msg)
        time.sleep(0.05)
    proc.kill()
    msg = f"no {needle!r} in the journal within {HANG_GUARD_SECONDS}s"
    raise AssertionError(msg)


def test_sigkill_after_dispatch_before_journal_then_resume_dispatches_once(
    harness: ActionsHarness, tmp_path: Path
) -> None:
    """Killed after the dispatch landed and before its run id was journalled: resume finds it, never re-dispatches."""
    # The dispatch is held 4 s at the emulator, then lands (the run is created): the gate dies in between.
    harness.world.github.inject(
        f"{API_PREFIX}/repos/{E2E_REPO}/actions/workflows/", Fault("delay", seconds=4.0), method="POST"
    )
    before = len(canary_dispatches(harness))
    proc = _child(harness, tmp_path, "WP04")
    run_dir, events = _wait_for_journal(harness.evidence_root, "dispatching", proc)
    time.sleep(1.0)  # the POST is at the emulator, inside its 4 s delay
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=HANG_GUARD_SECONDS)
    slot = next(e["actions"] for e in events if (e.get("actions") or {}).get("state") == "dispatching")
    correlation = str(slot["slot"])
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while correlation not in canary_dispatches(harness) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert canary_dispatches(harness)[before:] == [correlation], "the dispatch landed once"
    journal = (run_dir / "journal.jsonl").read_text()
    assert '"state": "dispatched"' not in journal, "killed before the run id was journalled"
    _gate, report = harness.gate("WP04", resume=run_dir.name)
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.PASSED, step.reason if step else None
    assert canary_dispatches(harness)[before:] == [correlation], "exactly one dispatch for the slot"
    after = (run_dir / "journal.jsonl").read_text()
    assert '"found_by": "correlation id"' in after
    assert step.facts["attempt_dir"] == "rc16-single-attempt2"


def _conclusion(harness: ActionsHarness, run_id: int) -> str | None:
    """Wait (bounded) for the run's latest attempt to conclude at the emulator; return its conclusion."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < deadline:
        with harness.world.github.lock:
            state = harness.actions.run_state(run_id)
            conclusion = state.attempts[-1].conclusion if state is not None else None
        if conclusion is not None:
            return str(conclusion)
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stop_mid_run_cancels_the_run(harness: ActionsHarness, tmp_path: Path, signum: signal.Signals) -> None:
    """Ctrl-C or SIGTERM while a run is in progress: the run is cancelled on GitHub, journalled, the gate stops."""
    harness.world.saas.extra["canary"] = canary_state(hang_seconds=120.0)
    proc = _child(harness, tmp_path, "WP04")
    run_dir, events = _wait_for_journal(harness.evidence_root, "dispatched", proc)
    run_id = next(e["actions"]["run_id"] for e in events if (e.get("actions") or {}).get("state") == "dispatched")
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < deadline:
        with harness.world.github.lock:
            state = harness.actions.run_state(int(run_id))
            status = state.attempts[-1].status if state is not None else None
        if status == "in_progress":
            break
        time.sleep(0.05)
    os.kill(proc.pid, signum)
    _out, err = proc.communicate(timeout=HANG_GUARD_SECONDS)
    # The gate stopped (the test child prints the StopRequested the CLI turns into exit 130).
    assert proc.returncode != 0
    assert f"stopped by {signum.name}" in err, err[-2000:]
    with harness.world.github.lock:
        cancels = [r for r in harness.world.github.requests if r.path.endswith(f"/actions/runs/{run_id}/cancel")]
    assert len(cancels) == 1
    closed = [
        e["actions"]
        for e in map(json.loads, (run_dir / "journal.jsonl").read_text().splitlines())
        if (e.get("actions") or {}).get("state") == "closed"
    ]
    assert len(closed) == 1
    assert str(closed[0]["why"]).startswith(f"cancelled: the gate was stopped ({signum.name})")
    assert '"event": "interrupted"' in (run_dir / "journal.jsonl").read_text()
    assert _conclusion(harness, int(run_id)) == "cancelled"


def test_5xx_while_polling_is_survived(harness: ActionsHarness) -> None:
    """Three 502s on the run reads are retried with backoff (injected sleep); the run is still collected."""
    harness.world.github.inject(
        f"{API_PREFIX}/repos/{E2E_REPO}/actions/runs/",
        Fault("status", 502),
        Fault("status", 502),
        Fault("status", 502),
        method="GET",
    )
    sleep = SleepRecorder()
    _gate, report = harness.gate("WP04", steps={"WP04": with_sleep(wp04.run, sleep)})
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.PASSED, step.reason if step else None
    with harness.world.github.lock:
        failed = [r for r in harness.world.github.requests if r.status == 502]
    assert len(failed) == 3
    assert [d for d in sleep.delays if d >= 1.0][:3] == [1.0, 2.0, 4.0]


def test_dispatch_answer_lost_is_found_not_redispatched(harness: ActionsHarness) -> None:
    """The dispatch landed but its answer was cut off: the run is found by correlation id, dispatched once."""
    harness.world.github.inject(f"{API_PREFIX}/repos/{E2E_REPO}/actions/workflows/", Fault("truncated"), method="POST")
    before = len(canary_dispatches(harness))
    gate, report = harness.gate("WP04")
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.PASSED, step.reason if step else None
    assert [c.rsplit("-", 1)[0] for c in canary_dispatches(harness)[before:]] == [f"{gate.run_id}-WP04-1"]
    assert '"found_by": "correlation id"' in (gate.run_dir / "journal.jsonl").read_text()


def test_dispatch_5xx_then_resume_dispatches_the_slot_once(harness: ActionsHarness) -> None:
    """A 502 to the dispatch (nothing landed): could not decide; the resume dispatches that slot, once."""
    harness.world.github.inject(
        f"{API_PREFIX}/repos/{E2E_REPO}/actions/workflows/", Fault("status", 502), method="POST"
    )
    before = len(canary_dispatches(harness))
    config = harness.config(queue_timeout_seconds=1.0)
    gate, report = harness.gate("WP04", config)
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.ERROR
    assert step.facts["exit_code"] == 3
    assert canary_dispatches(harness)[before:] == []
    _gate, again = harness.gate("WP04", config, resume=gate.run_id)
    redo = again.step("WP04")
    assert redo is not None and redo.status is StepStatus.PASSED, redo.reason if redo else None
    assert [c.rsplit("-", 1)[0] for c in canary_dispatches(harness)[before:]] == [f"{gate.run_id}-WP04-1"]


def test_stop_during_a_rate_limit_wait_cancels_at_once(harness: ActionsHarness, tmp_path: Path) -> None:
    """Ctrl-C while the transport waits out a long Retry-After: the wait ends, the running run is cancelled.

    Before, the transport slept the whole Retry-After (50 s) first; the canary (4 scenarios of
    5 s) had completed by then, so the cancel came too late (409) and the run was not cancelled.
    """
    harness.world.saas.extra["canary"] = canary_state(hang_seconds=5.0)
    limited = Fault("status", 429, {"Retry-After": "50"}, b'{"message": "You have exceeded a secondary rate limit."}')
    harness.world.github.inject(f"{API_PREFIX}/repos/{E2E_REPO}/actions/runs/", limited, limited, method="GET")
    proc = _child(harness, tmp_path, "WP04")
    run_dir, events = _wait_for_journal(harness.evidence_root, "dispatched", proc)
    run_id = next(e["actions"]["run_id"] for e in events if (e.get("actions") or {}).get("state") == "dispatched")
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < deadline:
        with harness.world.github.lock:
            answered = [r for r in harness.world.github.requests if r.path.endswith(f"/actions/runs/{run_id}")]
        if any(r.status == 429 for r in answered):
            break  # the gate is now waiting out the Retry-After
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=HANG_GUARD_SECONDS)
    assert "stopped by SIGINT" in err, err[-2000:]
    assert _conclusion(harness, int(run_id)) == "cancelled"
    closed = [
        e["actions"]
        for e in map(json.loads, (run_dir / "journal.jsonl").read_text().splitlines())
        if (e.get("actions") or {}).get("state") == "closed"
    ]
    assert [str(c["why"]).startswith("cancelled: the gate was stopped (SIGINT)") for c in closed] == [True]
