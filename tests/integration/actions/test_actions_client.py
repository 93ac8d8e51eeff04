"""ActionsClient against the emulator: ETags (304 counted apart), redaction, the requests one canary run costs."""

from __future__ import annotations

import time

import pytest

from phase4gate.adapters.actions.client import ActionsClient
from phase4gate.adapters.actions.transport import Transport
from phase4gate.adapters.github_app import StaticToken
from phase4gate.errors import GitHubError
from phase4gate.models import StepStatus
from phase4gate.retry import RetryPolicy
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.e2e import CANARY_WORKFLOW
from phase4gate.sandbox.github_api import API_PREFIX

from .conftest import E2E_REPO, ActionsHarness


def _client(harness: ActionsHarness) -> ActionsClient:
    return ActionsClient(
        api_url=harness.world.github.api_url,
        repo=E2E_REPO,
        token=StaticToken("GITHUB_TOKEN", harness.environ()),
        api_version="2022-11-28",
        transport=Transport(RetryPolicy(max_retries=2, backoff_factor=0.0)),
    )


def test_dispatch_follow_with_etags(harness: ActionsHarness) -> None:
    """Dispatch answers the run's id; an unchanged run answers 304 (counted apart, not as a run read)."""
    client = _client(harness)
    answer = client.dispatch(
        CANARY_WORKFLOW, ref="main", inputs={"cli_version": "3.2.0rc16", "correlation_id": "c-WP04-1"}
    )
    assert answer.status == 200 and answer.run_id is not None
    deadline = time.monotonic() + 120
    run = client.get_run(answer.run_id)
    while run["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.2)
        run = client.get_run(answer.run_id)
    assert run["status"] == "completed"
    again = client.get_run(answer.run_id)
    assert again == run
    assert client.transport.counts["run_304"] >= 1
    found = client.find_runs(CANARY_WORKFLOW, correlation_id="c-WP04-1", since_epoch=time.time() - 600)
    assert [r["id"] for r in found] == [answer.run_id]
    assert client.find_runs(CANARY_WORKFLOW, correlation_id="c-WP04-11", since_epoch=time.time() - 600) == []


def test_an_error_echoing_the_token_is_redacted(harness: ActionsHarness) -> None:
    """A 500 whose body quotes the token: the GitHubError never carries it."""
    token = harness.world.github.token
    harness.world.github.inject(
        f"{API_PREFIX}/repos/{E2E_REPO}/actions/workflows/",
        Fault("status", 500, body=f'{{"message": "boom for token {token}"}}'.encode()),
        method="POST",
    )
    with pytest.raises(GitHubError) as info:
        _client(harness).dispatch(CANARY_WORKFLOW, ref="main", inputs={"cli_version": "1", "correlation_id": "x"})
    assert token not in str(info.value)
    assert "HTTP 500" in str(info.value)


def test_requests_one_canary_run_costs(harness: ActionsHarness) -> None:
    """A canary run costs one dispatch, run reads, jobs, one artifacts list, one download and one logs download."""
    with harness.world.github.lock:
        start = len(harness.world.github.requests)
        blobs_before = len(harness.actions.blob_fetches)
    _gate, report = harness.gate("WP04")
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.PASSED, step.reason if step else None
    with harness.world.github.lock:
        made = [r for r in harness.world.github.requests[start:] if "/actions/" in r.path or "/_blobs/" in r.path]
        # Signed URLs live on the blob server (another origin, as GitHub's blob host).
        blobs = harness.actions.blob_fetches[blobs_before:]
    kinds: dict[str, int] = {"blob": len(blobs)} if blobs else {}
    for r in made:
        tail = r.path.rsplit("/actions/", 1)[-1]
        kind = (
            "blob"
            if "/_blobs/" in r.path
            else "dispatch"
            if tail.endswith("/dispatches")
            else "jobs"
            if tail.endswith("/jobs")
            else "artifacts"
            if tail.endswith("/artifacts")
            else "download"
            if tail.endswith("/zip")
            else "logs"
            if tail.endswith("/logs")
            else "run_304"
            if r.status == 304
            else "run"
        )
        kinds[kind] = kinds.get(kind, 0) + 1
    print("requests per canary run:", kinds)
    assert (kinds["dispatch"], kinds["artifacts"], kinds["download"], kinds["logs"], kinds["blob"]) == (1, 1, 1, 1, 2)
    assert kinds["run"] >= 1 and kinds["jobs"] >= 1
    # Unchanged reads are conditional: most of the polling is free 304s.
    assert kinds.get("run_304", 0) + kinds.get("jobs_304", 0) >= 1
