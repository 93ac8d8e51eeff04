"""Each Actions scenario knob ends where the issue says: failed stop, could not decide (3), config (2), or green."""

from __future__ import annotations

import json

from phase4gate.models import StepStatus, StopKind
from phase4gate.steps import wp04

from .conftest import ActionsHarness, SleepRecorder, canary_dispatches, with_sleep


def _closed(gate_dir: object, wp: str) -> list[str]:
    from pathlib import Path

    lines = (Path(str(gate_dir)) / "journal.jsonl").read_text().splitlines()
    return [
        str(e["actions"].get("why"))
        for e in map(json.loads, lines)
        if e.get("event") == "wp-action" and e.get("wp") == wp and (e.get("actions") or {}).get("state") == "closed"
    ]


def test_rerun_attempt_fails_wp05(harness: ActionsHarness) -> None:
    """WP05's run 2 re-run on Actions (run_attempt 2) is a failed stop; the gate never re-runs."""
    harness.behave(rerun_first_attempt=True, runs=(harness.next_run_number() + 2,))
    _gate, report = harness.gate("WP05")
    wp04, wp05 = report.step("WP04"), report.step("WP05")
    assert wp04 is not None and wp04.status is StepStatus.PASSED, wp04.reason if wp04 else None
    assert wp05 is not None
    assert (wp05.status, wp05.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp05.reason
    assert "run_attempt is 2, not 1" in wp05.reason
    assert wp05.facts["failed_run"] == 2
    with harness.world.github.lock:
        reruns = [r for r in harness.world.github.requests if r.path.endswith("/rerun")]
    assert reruns == []


def test_digest_mismatch_fails_wp04(harness: ActionsHarness) -> None:
    """An artifact whose digest is not its zip's sha256 is a failed stop: evidence altered in transit."""
    harness.behave(corrupt_digest=True)
    gate, report = harness.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert "evidence altered in transit" in wp04.reason
    meta = json.loads((gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.actions.json").read_text())
    assert meta["artifact"]["digest_check"] == "mismatch"
    # The zip is kept as downloaded, for whoever looks into it.
    assert (gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.artifact.zip").is_file()


def test_wrong_sha_fails_wp04(harness: ActionsHarness) -> None:
    """A run whose head_sha is not the pinned SHA is a failed stop."""
    pinned = harness.world.commits["e2e-actions:pinned"]
    harness.behave(head_sha=harness.world.commits["e2e-actions:previous"])
    _gate, report = harness.gate("WP04", harness.config(pinned_sha=pinned))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert f"is not the pinned_sha {pinned}" in wp04.reason


def test_pinned_sha_green(harness: ActionsHarness) -> None:
    """The pinned SHA equal to the ref's head passes (the check is not always failing)."""
    pinned = harness.world.commits["e2e-actions:pinned"]
    _gate, report = harness.gate("WP04", harness.config(pinned_sha=pinned))
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.PASSED, wp04.reason if wp04 else None


def test_cancelled_run_could_not_decide(harness: ActionsHarness) -> None:
    """A run cancelled on GitHub ends WP04 with exit 3; on resume the protocol starts in a new attempt folder."""
    harness.behave(cancel_runs=True)
    gate, report = harness.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.ERROR
    assert wp04.facts["exit_code"] == 3
    assert "concluded 'cancelled'" in wp04.reason
    assert int(report.exit_code) == 3
    assert _closed(gate.run_dir, "WP04")[0].startswith("undecided:")
    harness.behave()
    _gate2, again = harness.gate("WP04", resume=gate.run_id)
    redo = again.step("WP04")
    assert redo is not None and redo.status is StepStatus.PASSED, redo.reason if redo else None
    assert redo.facts["attempt_dir"] == "rc16-single-attempt2"
    last = canary_dispatches(harness)[-2:]
    assert [c.rsplit("-", 1)[0] for c in last] == [f"{gate.run_id}-WP04-1", f"{gate.run_id}-WP04-2"]
    assert len(set(last)) == 2


def test_queued_forever_could_not_decide(harness: ActionsHarness) -> None:
    """A run no runner takes, past the queue timeout, is cancelled and ends WP04 with exit 3."""
    harness.behave(queued_forever=True)
    gate, report = harness.gate("WP04", harness.config(queue_timeout_seconds=2.0))
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.ERROR
    assert wp04.facts["exit_code"] == 3
    assert "stayed queued for more than 2s" in wp04.reason
    run_id = json.loads(
        next(
            line
            for line in (gate.run_dir / "journal.jsonl").read_text().splitlines()
            if '"dispatched"' in line and '"actions"' in line
        )
    )["actions"]["run_id"]
    with harness.world.github.lock:
        cancels = [r for r in harness.world.github.requests if r.path.endswith(f"/actions/runs/{run_id}/cancel")]
    assert len(cancels) == 1


def test_artifact_expired_could_not_decide(harness: ActionsHarness) -> None:
    """An expired artifact (410) ends WP04 with exit 3, the run's metadata kept."""
    harness.behave(artifact_ttl_seconds=0.0)
    gate, report = harness.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.ERROR
    assert wp04.facts["exit_code"] == 3
    assert "expired" in wp04.reason
    assert (gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.actions.json").is_file()
    assert not (gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json").exists()


def test_no_run_details_green_by_correlation_id(harness: ActionsHarness) -> None:
    """A server refusing return_run_details (422) and answering 204: the run is found by its correlation id."""
    harness.behave(run_details=False)
    gate, report = harness.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None and wp04.status is StepStatus.PASSED, wp04.reason if wp04 else None
    assert canary_dispatches(harness)[-1].rsplit("-", 1)[0] == f"{gate.run_id}-WP04-1"
    with harness.world.github.lock:
        dispatch_posts = [r for r in harness.world.github.requests if r.path.endswith("/dispatches")]
        listed = [r for r in harness.world.github.requests if r.path.endswith("/runs") and "correlation" not in r.path]
    # The refused try (no run created), then the dispatch without the key; then the runs listed.
    assert len(dispatch_posts[-2:]) == 2
    assert listed


def test_rate_limited_green_after_waiting(harness: ActionsHarness) -> None:
    """Secondary (429, 403 + Retry-After) and primary (403, remaining 0) limits: waited out, then green."""
    harness.behave(rate_limited=True, rate_limit_retry_after=1, runs=(harness.next_run_number(),))
    sleep = SleepRecorder()
    _gate, report = harness.gate("WP04", steps={"WP04": with_sleep(wp04.run, sleep)})
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.PASSED, step.reason if step else None
    # The poll's own pauses are at most 0.5 s (FAST_POLL): every wait of 1 s or more is a rate limit's.
    waits = [d for d in sleep.delays if d >= 1.0]
    # Two Retry-After: 1 waits (429, then 403), one wait until x-ratelimit-reset (at least 1 s).
    assert waits[:2] == [1.0, 1.0]
    assert len(waits) == 3


def test_dispatch_422_is_a_config_error(harness: ActionsHarness) -> None:
    """Dispatch answered 422 (no workflow_dispatch trigger): exit 2 with GitHub's message; nothing runs."""
    harness.behave(dispatch_error="Workflow does not have 'workflow_dispatch' trigger")
    before = len(canary_dispatches(harness))
    gate, report = harness.gate("WP04")
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.ERROR
    assert step.facts["exit_code"] == 2
    assert "Workflow does not have 'workflow_dispatch' trigger" in step.reason
    assert int(report.exit_code) == 2
    assert len(canary_dispatches(harness)) == before
    # The refused slot is closed: a resume dispatches anew at once instead of looking for a run.
    assert _closed(gate.run_dir, "WP04")[0].startswith("refused:")


def test_unknown_workflow_is_a_config_error(harness: ActionsHarness) -> None:
    """A workflow the repository does not have: 404 is exit 2 naming canary.actions.workflow."""
    _gate, report = harness.gate("WP04", harness.config(workflow="no-such-workflow.yml"))
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.ERROR
    assert step.facts["exit_code"] == 2
    assert "canary.actions.workflow" in step.reason
    assert "404" in step.reason


def test_missing_token_is_a_config_error(harness: ActionsHarness) -> None:
    """No token for the e2e repository: exit 2 naming the variable, before anything is dispatched."""
    before = len(canary_dispatches(harness))
    env = {k: v for k, v in harness.environ().items() if k != "GITHUB_TOKEN"}
    _gate, report = harness.gate("WP04", environ=env)
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.ERROR
    assert step.facts["exit_code"] == 2
    assert "GITHUB_TOKEN is not set" in step.reason
    assert len(canary_dispatches(harness)) == before


def test_read_only_token_names_the_permission(harness: ActionsHarness) -> None:
    """A token that may not write: the dispatch's 403 says Actions: write is needed (exit 2); no token shown."""
    env = {**harness.environ(), "GITHUB_TOKEN": harness.world.github.read_only_token}
    _gate, report = harness.gate("WP04", environ=env)
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.ERROR
    assert step.facts["exit_code"] == 2
    assert "Actions: write" in step.reason
    assert harness.world.github.read_only_token not in step.reason


def test_api_version_2026_03_10_green(harness: ActionsHarness) -> None:
    """Under X-GitHub-Api-Version 2026-03-10 the dispatch answers the run's details too; every call sends it."""
    with harness.world.github.lock:
        start = len(harness.world.github.requests)
    _gate, report = harness.gate("WP04", harness.config(api_version="2026-03-10"))
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.PASSED, step.reason if step else None
    with harness.world.github.lock:
        made = [r for r in harness.world.github.requests[start:] if "/actions/" in r.path]
    assert made
    assert {r.headers.get("X-GitHub-Api-Version") for r in made} == {"2026-03-10"}
    # One dispatch, answered 200 with the run's details: that version knows no return_run_details key.
    posts = [r for r in made if r.method == "POST" and r.path.endswith("/dispatches")]
    assert [r.status for r in posts] == [200]
    assert "return_run_details" not in json.loads(posts[0].body or b"{}")


def test_conclusion_contradicting_the_run_file_fails_wp04(harness: ActionsHarness) -> None:
    """A run GitHub concludes 'failure' whose run file says pass is inconsistent evidence: a failed stop."""
    harness.behave(conclusion="failure")
    gate, report = harness.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert "inconsistent evidence" in wp04.reason
    # The run file itself said pass: it is kept, and the verdict is the contradiction, not the file.
    kept = json.loads((gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json").read_text())
    assert kept["outcome"] == "pass"
    assert wp04.facts["failed_run"] == 1


def test_a_second_run_with_the_gates_correlation_id_is_refused(harness: ActionsHarness) -> None:
    """204 dispatch path: somebody else dispatches with the gate's correlation id too; neither run is attributed.

    The review's impostor: the oldest run carrying the id used to be adopted, whoever dispatched
    it. Now two candidates are a failed stop naming both, and nothing is counted.
    """
    from phase4gate.sandbox._server import Fault
    from phase4gate.sandbox.e2e import CANARY_WORKFLOW
    from phase4gate.sandbox.world import E2E_REPO

    harness.behave(run_details=False)
    impostors: list[int] = []

    def race(request: object) -> None:
        body = json.loads(getattr(request, "body", b"{}") or b"{}")
        inputs = dict(body.get("inputs") or {})
        impostors.append(
            harness.actions.add_run(
                E2E_REPO, CANARY_WORKFLOW, inputs=inputs, event="workflow_dispatch", actor="mallory"
            )
        )

    harness.world.github.inject(
        f"/api/v3/repos/{E2E_REPO}/actions/workflows/{CANARY_WORKFLOW}/dispatches", Fault("observe", observe=race)
    )
    gate, report = harness.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert len(impostors) == 1
    assert f"{impostors[0]} (actor mallory)" in wp04.reason
    assert "neither run's evidence can be attributed" in wp04.reason
    assert not (gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json").exists()
    assert any(w.startswith("refused: 2 runs carry its correlation id") for w in _closed(gate.run_dir, "WP04"))


def test_signed_url_refused_keeps_the_runs_metadata_and_could_not_decide(harness: ActionsHarness) -> None:
    """The artifact's signed URL answers 403 (as Azure does for an expired one): exit 3, metadata and logs kept."""
    from phase4gate.sandbox._server import Fault

    xml = b'<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code></Error>'
    harness.actions.blob_server.inject("/_blobs/", Fault("status", 403, {"Content-Type": "application/xml"}, xml))
    gate, report = harness.gate("WP04")
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert wp04.status is StepStatus.ERROR, wp04.reason
    assert int(report.exit_code) == 3
    assert "could not be downloaded" in wp04.reason
    runs = gate.run_dir / "rc16-single-attempt1" / "runs"
    meta = json.loads((runs / "run-1.actions.json").read_text())
    assert meta["artifact"]["digest_check"] == "not downloaded"
    assert not (runs / "run-1.json").exists()
    assert any(w.startswith("undecided:") for w in _closed(gate.run_dir, "WP04"))
