"""The GitHub Actions emulator and the sandbox runner, over real HTTP (urllib3).

A dispatched run really executes on the runner pool: the fixture e2e repository is cloned
at the run's commit, spec-kitty-cli is installed from the index emulator (once per version),
the runner script runs against the SaaS emulator, and the artifact, its digest, the jobs and
the logs are what that run produced.  Each ``ActionsBehaviour`` knob is exercised here.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from attrs import frozen

from phase4gate.sandbox.actions_runner import ActionsRunner
from phase4gate.sandbox.actions_shapes import display_title, read_workflow
from phase4gate.sandbox.e2e import (
    CANARY_WORKFLOW,
    CANARY_WORKFLOW_TEXT,
    TEAMSPACE_WORKFLOW,
    build_e2e_repo,
    canary_state,
)
from phase4gate.sandbox.github_actions import BLOB_PREFIX, MAX_INPUTS, ActionsBehaviour
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO, default_seed
from phase4gate.sandbox.index import IndexEmulator
from phase4gate.sandbox.saas import SaaSEmulator

RC = "3.2.0rc16"
REPO_ROOT = Path(__file__).resolve().parents[3]
WAIT_SECONDS = 180.0  # a bound on every wait for a run, never an asserted duration


@frozen
class Stack:
    github: GitHubEmulator
    saas: SaaSEmulator
    runner: ActionsRunner
    commits: dict[str, str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """GitHub (with Actions on the fixture e2e repository), the index, the SaaS, and a runner pool of 2."""
    root = tmp_path_factory.mktemp("actions")
    commits = build_e2e_repo(root / "e2e")
    no_dispatch = root / "push-only"
    _push_only_repo(no_dispatch)
    github = GitHubEmulator(default_seed()).start()
    index = IndexEmulator("rc15-rc16").start()
    saas = SaaSEmulator("healthy").start()
    saas.extra.update({"canary": canary_state(), "teamspace": {}})
    github.actions.add_source(E2E_REPO, str(root / "e2e"))
    github.actions.add_source(CLI_REPO, str(no_dispatch))
    runner = ActionsRunner(
        github.actions, work_root=root / "runner", index_url=index.simple_url, saas_url=saas.base_url
    ).start()
    try:
        yield Stack(github, saas, runner, commits)
    finally:
        runner.stop()
        for server in (saas, index, github):
            server.stop()


@pytest.fixture
def gh(stack: Stack, seen_tokens: list[str]) -> Iterator[Gh]:
    """A raw client of the emulator; each test starts from the default behaviour."""
    seen_tokens.extend(stack.github.state.tokens)
    stack.github.actions.set_behaviour(ActionsBehaviour())
    stack.github.clear_faults()
    stack.saas.extra["canary"] = canary_state()
    yield Gh(stack.github)
    stack.github.actions.set_behaviour(ActionsBehaviour())
    stack.github.clear_faults()


def _push_only_repo(path: Path) -> None:
    path.mkdir()
    workflow = "name: push-only\non:\n  push:\n    branches: [main]\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
    (path / ".github" / "workflows").mkdir(parents=True)
    (path / ".github" / "workflows" / "push-only.yml").write_text(workflow, encoding="utf-8")
    for argv in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=dev", "-c", "user.email=dev@example.invalid", "commit", "-q", "-m", "push only"],
    ):
        subprocess.run(["git", "-C", str(path), *argv], check=True, capture_output=True, timeout=60)


class Gh:
    """urllib3 against the emulator, as the executor talks to GitHub."""

    def __init__(self, em: GitHubEmulator, version: str = "2022-11-28") -> None:
        self.em = em
        self.http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=30))
        self.headers = {
            "Authorization": f"Bearer {em.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": version,
        }
        self.base = f"{em.api_url}/repos/{E2E_REPO}"

    def request(
        self, method: str, path: str, body: object | None = None, headers: dict[str, str] | None = None
    ) -> urllib3.BaseHTTPResponse:
        url = path if path.startswith("http") else self.base + path
        data = json.dumps(body).encode() if body is not None else None
        return self.http.request(method, url, body=data, headers={**self.headers, **(headers or {})}, redirect=False)

    def json(self, method: str, path: str, body: object | None = None, status: int = 200, **kw: Any) -> Any:
        r = self.request(method, path, body, **kw)
        assert r.status == status, f"{method} {path}: {r.status} {r.data[:300]!r}"
        return json.loads(r.data) if r.data else None

    def dispatch(
        self, correlation: str, *, workflow: str = CANARY_WORKFLOW, details: bool = True, **extra: Any
    ) -> urllib3.BaseHTTPResponse:
        body: dict[str, Any] = {"ref": "main", "inputs": {"cli_version": RC, "correlation_id": correlation}}
        if details:
            body["return_run_details"] = True
        body.update(extra)
        return self.request("POST", f"/actions/workflows/{workflow}/dispatches", body)

    def dispatched(self, correlation: str, **kw: Any) -> int:
        r = self.dispatch(correlation, **kw)
        assert r.status == 200, r.data
        return int(json.loads(r.data)["workflow_run_id"])

    def wait(self, run_id: int, until: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """Poll the run (bounded) until *until* holds (default: completed); return it."""
        test = until or (lambda run: run["status"] == "completed")
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            run: dict[str, Any] = self.json("GET", f"/actions/runs/{run_id}")
            if test(run):
                return run
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {WAIT_SECONDS}s"
            time.sleep(0.1)

    def fetch_signed(self, location: str, headers: dict[str, str] | None = None) -> urllib3.BaseHTTPResponse:
        """GET a signed URL with no Authorization header (what a client must do)."""
        return self.http.request("GET", location, headers=headers or {}, redirect=False)


def _zip_names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


# ---------------------------------------------------------------------- the whole flow


def test_dispatch_executes_the_canary_and_serves_its_evidence(gh: Gh, stack: Stack) -> None:
    """Dispatch -> queued/in_progress -> completed success -> artifact (302, no auth, digest) -> logs -> 409 cancel."""
    r = gh.dispatch("gate-1/WP04/1")
    assert r.status == 200
    details = json.loads(r.data)
    run_id = details["workflow_run_id"]
    assert details["run_url"] == f"{gh.base}/actions/runs/{run_id}"
    assert details["html_url"].endswith(f"/{E2E_REPO}/actions/runs/{run_id}")
    run = gh.wait(run_id)
    assert run["conclusion"] == "success"
    assert run["event"] == "workflow_dispatch"
    assert run["run_attempt"] == 1
    assert run["head_sha"] == stack.commits["pinned"]
    assert run["head_branch"] == "main"
    assert "gate-1/WP04/1" in run["display_title"]
    assert run["path"] == f".github/workflows/{CANARY_WORKFLOW}"
    assert run["actor"]["login"] == run["triggering_actor"]["login"] == gh.em.state.tokens[gh.em.token].login

    jobs = gh.json("GET", f"/actions/runs/{run_id}/jobs")
    assert jobs["total_count"] == 1
    job = jobs["jobs"][0]
    assert job["name"] == "identity-boundary-canary"
    assert job["runner_name"].startswith("GitHub Actions ")
    assert job["status"] == "completed"
    assert job["conclusion"] == "success"
    assert [s["conclusion"] for s in job["steps"]] == ["success"] * len(job["steps"])
    assert gh.json("GET", f"/actions/jobs/{job['id']}")["id"] == job["id"]

    arts = gh.json("GET", f"/actions/runs/{run_id}/artifacts")
    assert arts["total_count"] == 1
    art = arts["artifacts"][0]
    assert art["name"] == "sync-identity-boundary"
    assert art["expired"] is False
    assert art["digest"].startswith("sha256:")
    assert art["workflow_run"]["head_sha"] == stack.commits["pinned"]

    redirect = gh.request("GET", art["archive_download_url"])
    assert redirect.status == 302
    location = redirect.headers["Location"]
    assert BLOB_PREFIX in location
    assert "/api/v3/" not in location
    assert "sig=" in location
    before = len(gh.em.actions.blob_fetches)
    blob = gh.fetch_signed(location)
    assert blob.status == 200
    assert "sha256:" + hashlib.sha256(blob.data).hexdigest() == art["digest"]
    assert art["size_in_bytes"] == len(blob.data)
    names = _zip_names(blob.data)
    assert "runs/run-1.json" in names
    assert "latest.json" in names
    assert not any(n.split("/")[-1].startswith(".") for n in names), names  # hidden files are not uploaded
    run_file = json.loads(zipfile.ZipFile(io.BytesIO(blob.data)).read("runs/run-1.json"))
    assert RC in json.dumps(run_file)
    fetch = gh.em.actions.blob_fetches[before]
    assert fetch.authorization is False
    assert fetch.kind == "artifact"

    logs = gh.request("GET", f"/actions/runs/{run_id}/logs")
    assert logs.status == 302
    zipped = gh.fetch_signed(logs.headers["Location"])
    assert zipped.status == 200
    log_names = _zip_names(zipped.data)
    assert any(n.startswith("identity-boundary-canary/4_") for n in log_names), log_names
    run_log = next(n for n in log_names if n.startswith("identity-boundary-canary/4_"))
    assert "--single --yes" in zipfile.ZipFile(io.BytesIO(zipped.data)).read(run_log).decode()

    cancelled = gh.json("POST", f"/actions/runs/{run_id}/cancel", status=409)
    assert "completed" in cancelled["message"]


def test_signed_url_refuses_authorization_and_records_it(gh: Gh) -> None:
    """A client that forwards its token to the signed URL is refused (400) and the emulator records it."""
    run_id = gh.dispatched("gate-1/auth/1")
    gh.wait(run_id)
    art = gh.json("GET", f"/actions/runs/{run_id}/artifacts")["artifacts"][0]
    location = gh.request("GET", art["archive_download_url"]).headers["Location"]
    leaked = gh.fetch_signed(location, {"Authorization": gh.headers["Authorization"]})
    assert leaked.status == 400
    assert gh.em.actions.blob_fetches[-1].authorization is True
    tampered = gh.fetch_signed(location.replace("sig=", "sig=x"))
    assert tampered.status == 403
    assert gh.fetch_signed(location).status == 200


def test_rerun_adds_an_attempt_and_jobs_filter(gh: Gh) -> None:
    """Rerun answers 201; the run ends with run_attempt 2; attempts/1 and filter=all keep the first."""
    run_id = gh.dispatched("gate-1/rerun/1")
    gh.wait(run_id)
    assert gh.request("POST", f"/actions/runs/{run_id}/rerun").status == 201
    run = gh.wait(run_id, lambda r: r["run_attempt"] == 2 and r["status"] == "completed")
    assert run["conclusion"] == "success"
    assert run["previous_attempt_url"].endswith(f"/actions/runs/{run_id}/attempts/1")
    first = gh.json("GET", f"/actions/runs/{run_id}/attempts/1")
    assert first["run_attempt"] == 1
    assert first["status"] == "completed"
    assert gh.json("GET", f"/actions/runs/{run_id}/jobs")["total_count"] == 1
    every = gh.json("GET", f"/actions/runs/{run_id}/jobs?filter=all")
    assert every["total_count"] == 2
    assert {j["run_attempt"] for j in every["jobs"]} == {1, 2}
    assert gh.json("GET", f"/actions/runs/{run_id}/attempts/1/jobs")["jobs"][0]["run_attempt"] == 1
    assert gh.request("GET", f"/actions/runs/{run_id}/attempts/1/logs").status == 302
    assert gh.request("GET", f"/actions/runs/{run_id}/attempts/9").status == 404


def test_the_cli_is_installed_once_per_version(gh: Gh, stack: Stack) -> None:
    """Runs reuse the cached venv of their cli_version: at most one install per version."""
    for k in range(2):
        gh.wait(gh.dispatched(f"gate-1/cache/{k}"))
    assert stack.runner.installs == 1


def test_cancel_in_progress_kills_the_run(gh: Gh, stack: Stack) -> None:
    """A hung canary is cancelled: 202, the process is killed, the run ends cancelled."""
    stack.saas.extra["canary"] = canary_state(hang_seconds=600)
    run_id = gh.dispatched("gate-1/cancel/1")
    gh.wait(run_id, lambda r: r["status"] == "in_progress")
    jobs = gh.json("GET", f"/actions/runs/{run_id}/jobs")["jobs"]
    assert jobs[0]["status"] == "in_progress"
    assert gh.request("POST", f"/actions/runs/{run_id}/cancel").status == 202
    run = gh.wait(run_id)
    assert run["conclusion"] == "cancelled"
    assert gh.json("GET", f"/actions/runs/{run_id}/artifacts")["total_count"] == 0
    assert gh.request("POST", f"/actions/runs/{run_id}/cancel").status == 409


def test_concurrency_group_keeps_two_canaries_apart(gh: Gh, stack: Stack) -> None:
    """Two canaries dispatched together never run at the same time (the workflow's concurrency group)."""
    ids = [gh.dispatched(f"gate-group/{k}") for k in range(2)]
    for run_id in ids:
        assert gh.wait(run_id)["conclusion"] == "success"
    spans = sorted((start, end) for rid, _a, group, start, end in stack.runner.intervals if rid in ids and group)
    assert len(spans) == 2
    assert spans[0][1] <= spans[1][0], spans


def test_teamspace_workflow_uploads_its_suite_report(gh: Gh) -> None:
    run_id = gh.dispatched("gate-1/WP07/1", workflow=TEAMSPACE_WORKFLOW)
    run = gh.wait(run_id)
    assert run["conclusion"] == "success"
    art = gh.json("GET", f"/actions/runs/{run_id}/artifacts?name=teamspace-mvp")["artifacts"][0]
    blob = gh.fetch_signed(gh.request("GET", art["archive_download_url"]).headers["Location"])
    assert set(_zip_names(blob.data)) == {"junit.xml", "teamspace-mvp.log"}
    assert gh.json("GET", f"/actions/runs/{run_id}/artifacts?name=other")["total_count"] == 0


# ---------------------------------------------------------------------- dispatch answers


def test_dispatch_without_details_answers_204_and_the_run_is_found_by_correlation_id(gh: Gh) -> None:
    gh.em.actions.set_behaviour(queued_forever=True)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    r = gh.dispatch("gate-204/WP04/1", details=False)
    assert r.status == 204
    assert r.data == b""
    runs = gh.json("GET", f"/actions/workflows/{CANARY_WORKFLOW}/runs?event=workflow_dispatch&created=>={since}")
    found = [run for run in runs["workflow_runs"] if "gate-204/WP04/1" in run["display_title"]]
    assert len(found) == 1
    assert found[0]["status"] == "queued"


def test_api_version_2026_always_answers_run_details(gh: Gh) -> None:
    gh.em.actions.set_behaviour(queued_forever=True)
    new = Gh(gh.em, "2026-03-10")
    r = new.dispatch("gate-2026/1", details=False)
    assert r.status == 200
    assert set(json.loads(r.data)) == {"workflow_run_id", "run_url", "html_url"}
    assert Gh(gh.em, "2020-01-01").dispatch("gate-old/1").status == 400


def test_no_run_details_knob_rejects_the_key_like_older_ghes(gh: Gh) -> None:
    gh.em.actions.set_behaviour(run_details=False, queued_forever=True)
    r = gh.dispatch("gate-ghes/1")
    assert r.status == 422
    body = json.loads(r.data)
    assert "not a permitted key" in body["message"]
    assert "return_run_details" in body["message"]
    assert set(body) == {"message", "documentation_url", "status"}
    assert gh.dispatch("gate-ghes/1", details=False).status == 204
    assert Gh(gh.em, "2026-03-10").dispatch("gate-ghes/2", details=False).status == 204


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("unknown-workflow", 404, "Not Found"),
        ("no-dispatch-trigger", 422, "Workflow does not have 'workflow_dispatch' trigger"),
        ("unexpected-inputs", 422, 'Unexpected inputs provided: ["colour"]'),
        ("unknown-ref", 422, "No ref found for: no-such-branch"),
        ("missing-input", 422, "Required input 'cli_version' not provided"),
        ("too-many-inputs", 422, f"No more than {MAX_INPUTS} properties are allowed"),
        ("no-ref", 422, '"ref" wasn\'t supplied'),
        ("knob", 422, "Workflow does not have 'workflow_dispatch' trigger"),
    ],
)
def test_dispatch_errors_carry_githubs_messages(gh: Gh, case: str, status: int, message: str) -> None:
    gh.em.actions.set_behaviour(queued_forever=True)
    inputs = {"cli_version": RC, "correlation_id": "x"}
    body: dict[str, Any] = {"ref": "main", "inputs": inputs}
    path = f"/actions/workflows/{CANARY_WORKFLOW}/dispatches"
    if case == "unknown-workflow":
        path = "/actions/workflows/nope.yml/dispatches"
    elif case == "no-dispatch-trigger":
        path = f"{gh.em.api_url}/repos/{CLI_REPO}/actions/workflows/push-only.yml/dispatches"
    elif case == "unexpected-inputs":
        body["inputs"] = {**inputs, "colour": "red"}
    elif case == "unknown-ref":
        body["ref"] = "no-such-branch"
    elif case == "missing-input":
        body["inputs"] = {"correlation_id": "x"}
    elif case == "too-many-inputs":
        body["inputs"] = {f"k{i}": "v" for i in range(MAX_INPUTS + 1)}
    elif case == "no-ref":
        del body["ref"]
    elif case == "knob":
        gh.em.actions.set_behaviour(dispatch_error="Workflow does not have 'workflow_dispatch' trigger")
    before = len(gh.em.actions.runs)
    answer = gh.json("POST", path, body, status=status)
    assert message in answer["message"]
    assert answer["status"] == str(status)
    assert len(gh.em.actions.runs) == before  # no run was created


def test_a_dispatch_needs_a_token_that_may_write(gh: Gh) -> None:
    reader = gh.request(
        "POST",
        f"/actions/workflows/{CANARY_WORKFLOW}/dispatches",
        {"ref": "main"},
        headers={"Authorization": f"Bearer {gh.em.read_only_token}"},
    )
    assert reader.status == 403
    assert reader.headers["x-accepted-github-permissions"] == "actions=write"


# ---------------------------------------------------------------------- listing runs


def test_list_runs_filters_and_paginates(gh: Gh, stack: Stack) -> None:
    gh.em.actions.set_behaviour(queued_forever=True)
    ids = [gh.dispatched(f"gate-list/{k}") for k in range(3)]
    base = f"/actions/workflows/{CANARY_WORKFLOW}/runs"
    mine = gh.json("GET", f"{base}?status=queued&branch=main&head_sha={stack.commits['pinned']}&per_page=100")
    assert set(ids) <= {r["id"] for r in mine["workflow_runs"]}
    assert all(r["status"] == "queued" for r in mine["workflow_runs"])
    assert gh.json("GET", f"{base}?branch=other")["total_count"] == 0
    assert gh.json("GET", f"{base}?event=push")["total_count"] == 0
    assert gh.json("GET", f"{base}?head_sha={'0' * 40}")["total_count"] == 0
    assert gh.json("GET", f"{base}?created=>=2999-01-01T00:00:00Z")["total_count"] == 0
    assert gh.json("GET", f"{base}?created=bogus", status=422)
    first = gh.request("GET", f"{base}?status=queued&per_page=1")
    page = json.loads(first.data)
    assert len(page["workflow_runs"]) == 1
    assert page["workflow_runs"][0]["id"] == ids[-1]  # newest first
    link = first.headers["Link"]
    assert 'rel="next"' in link
    assert "status=queued" in link  # filters survive pagination
    next_url = link.split(";")[0].strip("<>")
    second = gh.json("GET", next_url)
    assert second["workflow_runs"][0]["id"] == ids[-2]
    every = gh.json("GET", "/actions/runs?per_page=100")
    assert set(ids) <= {r["id"] for r in every["workflow_runs"]}
    workflows = gh.json("GET", "/actions/workflows")
    assert {w["path"].rsplit("/", 1)[-1] for w in workflows["workflows"]} == {CANARY_WORKFLOW, TEAMSPACE_WORKFLOW}
    one = gh.json("GET", f"/actions/workflows/{CANARY_WORKFLOW}")
    assert gh.json("GET", f"/actions/workflows/{one['id']}")["path"] == one["path"]
    assert gh.request("GET", "/actions/workflows/nope.yml").status == 404


# ---------------------------------------------------------------------- ETags and rate limits


def test_get_run_etag_304_costs_no_rate_limit(gh: Gh) -> None:
    gh.em.actions.set_behaviour(queued_forever=True)
    run_id = gh.dispatched("gate-etag/1")
    first = gh.request("GET", f"/actions/runs/{run_id}")
    etag = first.headers["ETag"]
    remaining = int(first.headers["x-ratelimit-remaining"])
    again = gh.request("GET", f"/actions/runs/{run_id}", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.data == b""
    assert int(again.headers["x-ratelimit-remaining"]) == remaining
    gh.request("POST", f"/actions/runs/{run_id}/cancel")
    changed = gh.request("GET", f"/actions/runs/{run_id}", headers={"If-None-Match": etag})
    assert changed.status == 200  # the run changed: a new ETag
    assert changed.headers["ETag"] != etag
    assert int(changed.headers["x-ratelimit-remaining"]) == remaining - 2  # the cancel and this read


def test_rate_limited_knob_answers_secondary_then_primary_limits(gh: Gh) -> None:
    gh.em.actions.set_behaviour(rate_limited=True, queued_forever=True)
    run_id = gh.dispatched("gate-rate/1")
    path = f"/actions/runs/{run_id}"
    r429 = gh.request("GET", path)
    assert r429.status == 429
    assert r429.headers["Retry-After"] == "1"
    r403 = gh.request("GET", path)
    assert r403.status == 403
    assert "secondary rate limit" in json.loads(r403.data)["message"]
    assert r403.headers["Retry-After"] == "1"
    primary = gh.request("GET", path)
    assert primary.status == 403
    assert primary.headers["x-ratelimit-remaining"] == "0"
    assert int(primary.headers["x-ratelimit-reset"]) > 0
    assert gh.request("GET", path).status == 200


def test_primary_rate_limit_applies_to_actions_routes(gh: Gh) -> None:
    gh.em.actions.set_behaviour(queued_forever=True)
    run_id = gh.dispatched("gate-primary/1")
    gh.em.set_rate_remaining(gh.em.token, 0)
    try:
        r = gh.request("GET", f"/actions/runs/{run_id}")
        assert r.status == 403
        assert r.headers["x-ratelimit-remaining"] == "0"
        assert "rate limit" in json.loads(r.data)["message"]
    finally:
        gh.em.set_rate_remaining(gh.em.token, 5000)


# ---------------------------------------------------------------------- scenario knobs


def test_knob_rerun_first_attempt_ends_on_attempt_2(gh: Gh) -> None:
    gh.em.actions.set_behaviour(rerun_first_attempt=True)
    run_id = gh.dispatched("gate-knob-rerun/1")
    run = gh.wait(run_id, lambda r: r["status"] == "completed" and r["run_attempt"] == 2)
    assert run["conclusion"] == "success"
    assert run["triggering_actor"]["login"] != run["actor"]["login"]
    assert gh.json("GET", f"/actions/runs/{run_id}/attempts/1")["status"] == "completed"


def test_knob_applies_only_to_the_named_runs(gh: Gh) -> None:
    """``runs``/``workflow`` limit a per-run knob: only the named run number of the named workflow."""
    gh.em.actions.set_behaviour(queued_forever=True)
    first = gh.dispatched("gate-scope/1")
    number = gh.json("GET", f"/actions/runs/{first}")["run_number"]
    gh.em.actions.set_behaviour(ActionsBehaviour(corrupt_digest=True, runs=(number + 2,), workflow=CANARY_WORKFLOW))
    clean, corrupt = gh.dispatched("gate-scope/2"), gh.dispatched("gate-scope/3")
    for run_id, altered in ((clean, False), (corrupt, True)):
        gh.wait(run_id)
        art = gh.json("GET", f"/actions/runs/{run_id}/artifacts")["artifacts"][0]
        blob = gh.fetch_signed(gh.request("GET", art["archive_download_url"]).headers["Location"])
        assert (art["digest"] != "sha256:" + hashlib.sha256(blob.data).hexdigest()) is altered
    gh.request("POST", f"/actions/runs/{first}/cancel")


def test_knob_wrong_head_sha_runs_on_another_commit(gh: Gh, stack: Stack) -> None:
    gh.em.actions.set_behaviour(head_sha=stack.commits["previous"])
    run_id = gh.dispatched("gate-sha/1")
    run = gh.wait(run_id)
    assert run["head_sha"] == stack.commits["previous"] != stack.commits["pinned"]
    assert run["head_commit"]["id"] == stack.commits["previous"]
    logs = gh.fetch_signed(gh.request("GET", f"/actions/runs/{run_id}/logs").headers["Location"])
    checkout = zipfile.ZipFile(io.BytesIO(logs.data)).read(
        "identity-boundary-canary/2_Check out the e2e repository.txt"
    )
    assert stack.commits["previous"] in checkout.decode()


def test_knob_cancel_runs_ends_cancelled(gh: Gh) -> None:
    gh.em.actions.set_behaviour(cancel_runs=True)
    run = gh.wait(gh.dispatched("gate-cancelled/1"))
    assert run["conclusion"] == "cancelled"
    jobs = gh.json("GET", f"/actions/runs/{run['id']}/jobs")["jobs"]
    assert jobs[0]["conclusion"] == "cancelled"


def test_knob_queued_forever_never_starts(gh: Gh, stack: Stack) -> None:
    gh.em.actions.set_behaviour(queued_forever=True)
    stuck = gh.dispatched("gate-stuck/1")
    gh.em.actions.set_behaviour(ActionsBehaviour())
    later = gh.dispatched("gate-stuck/2")
    gh.wait(later)  # a run dispatched after it started and completed
    assert gh.json("GET", f"/actions/runs/{stuck}")["status"] == "queued"
    assert all(run_id != stuck for run_id, _ in stack.runner.executed)
    assert gh.request("POST", f"/actions/runs/{stuck}/cancel").status == 202
    assert gh.json("GET", f"/actions/runs/{stuck}")["conclusion"] == "cancelled"


def test_knob_artifact_expired_answers_410(gh: Gh) -> None:
    gh.em.actions.set_behaviour(artifact_ttl_seconds=0.0)
    run_id = gh.dispatched("gate-expired/1")
    gh.wait(run_id)
    art = gh.json("GET", f"/actions/runs/{run_id}/artifacts")["artifacts"][0]
    assert art["expired"] is True
    gone = gh.json("GET", art["archive_download_url"], status=410)
    assert "expired" in gone["message"]


def test_signed_url_expires_after_its_ttl(gh: Gh) -> None:
    """The signed URL lives 60 s (the emulator's clock is injected: no real waiting)."""
    run_id = gh.dispatched("gate-ttl/1")
    gh.wait(run_id)
    art = gh.json("GET", f"/actions/runs/{run_id}/artifacts")["artifacts"][0]
    actions = gh.em.actions
    real = actions.clock
    now = [real()]
    actions.clock = lambda: now[0]
    try:
        location = gh.request("GET", art["archive_download_url"]).headers["Location"]
        now[0] += 59
        assert gh.fetch_signed(location).status == 200
        now[0] += 2
        assert gh.fetch_signed(location).status == 410
        gh.em.actions.set_behaviour(signed_url_ttl_seconds=0.0)
        instant = gh.request("GET", art["archive_download_url"]).headers["Location"]
        assert gh.fetch_signed(instant).status == 410
    finally:
        actions.clock = real


def test_a_failed_canary_fails_the_run_and_still_uploads_its_run_file(gh: Gh, stack: Stack) -> None:
    stack.saas.extra["canary"] = canary_state(fail={4: "AssertionError: peeked row is not the rollback"})
    run_id = gh.dispatched("gate-fail/1")
    assert gh.wait(run_id)["conclusion"] == "failure"
    steps = {s["name"]: s["conclusion"] for s in gh.json("GET", f"/actions/runs/{run_id}/jobs")["jobs"][0]["steps"]}
    assert steps["Run"] == "failure"
    assert steps["Upload the artifact"] == "success"
    art = gh.json("GET", f"/actions/runs/{run_id}/artifacts")["artifacts"][0]
    blob = gh.fetch_signed(gh.request("GET", art["archive_download_url"]).headers["Location"])
    assert json.loads(zipfile.ZipFile(io.BytesIO(blob.data)).read("runs/run-1.json"))["outcome"] == "fail"


def test_an_unknown_cli_version_fails_the_install_step(gh: Gh) -> None:
    r = gh.request(
        "POST",
        f"/actions/workflows/{CANARY_WORKFLOW}/dispatches",
        {"ref": "main", "inputs": {"cli_version": "9.9.9", "correlation_id": "gate-bad-version/1"}},
    )
    assert r.status == 204
    run = next(iter(gh.em.actions.runs_with("correlation_id", "gate-bad-version/1")))
    assert gh.wait(run.id)["conclusion"] == "failure"
    steps = {s["name"]: s["conclusion"] for s in gh.json("GET", f"/actions/runs/{run.id}/jobs")["jobs"][0]["steps"]}
    assert steps["Install spec-kitty-cli"] == "failure"
    assert steps["Run"] == "skipped"
    assert gh.json("GET", f"/actions/runs/{run.id}/artifacts")["total_count"] == 0


def test_run_counters_carry_across_workspaces(gh: Gh, stack: Stack) -> None:
    """Each run has a fresh workspace, yet the suite's run counter goes on (flaky_fail_run works on Actions)."""
    counter = stack.runner.work_root / "counters" / E2E_REPO.replace("/", "__")
    path = counter / "artifacts" / "sync_identity_boundary" / ".run-count"
    done = int(path.read_text(encoding="utf-8")) if path.exists() else 0
    stack.saas.extra["canary"] = canary_state(flaky_fail_run=done + 2)
    first = gh.wait(gh.dispatched("gate-count/1"))
    second = gh.wait(gh.dispatched("gate-count/2"))
    assert (first["conclusion"], second["conclusion"]) == ("success", "failure")
    assert int(path.read_text(encoding="utf-8")) == done + 2


def test_knob_conclusion_contradicts_the_job(gh: Gh, stack: Stack) -> None:
    """A failing canary whose run reports success: the artifact's run file says fail."""
    stack.saas.extra["canary"] = canary_state(fail={2: "AssertionError: boom"})
    gh.em.actions.set_behaviour(conclusion="success")
    run_id = gh.dispatched("gate-contradiction/1")
    assert gh.wait(run_id)["conclusion"] == "success"
    art = gh.json("GET", f"/actions/runs/{run_id}/artifacts")["artifacts"][0]
    blob = gh.fetch_signed(gh.request("GET", art["archive_download_url"]).headers["Location"])
    run_file = json.loads(zipfile.ZipFile(io.BytesIO(blob.data)).read("runs/run-1.json"))
    assert run_file["outcome"] == "fail"
    jobs = gh.json("GET", f"/actions/runs/{run_id}/jobs")["jobs"]
    assert jobs[0]["conclusion"] == "success"


def test_a_run_nobody_dispatched_carries_the_same_correlation_id(gh: Gh) -> None:
    """``add_run`` starts a foreign run (another trigger); listing by event tells it apart."""
    gh.em.actions.set_behaviour(queued_forever=True)
    mine = gh.dispatched("gate-foreign/1")
    foreign = gh.em.actions.add_run(
        E2E_REPO, CANARY_WORKFLOW, inputs={"cli_version": RC, "correlation_id": "gate-foreign/1"}
    )
    assert {r.id for r in gh.em.actions.runs_with("correlation_id", "gate-foreign/1")} == {mine, foreign}
    listed = gh.json("GET", f"/actions/workflows/{CANARY_WORKFLOW}/runs?per_page=100")["workflow_runs"]
    titles = {r["id"]: (r["event"], r["display_title"]) for r in listed}
    assert titles[foreign][0] == "push"
    assert titles[mine][0] == "workflow_dispatch"
    assert titles[mine][1] == titles[foreign][1]
    dispatched = gh.json("GET", f"/actions/workflows/{CANARY_WORKFLOW}/runs?event=workflow_dispatch&per_page=100")
    assert foreign not in {r["id"] for r in dispatched["workflow_runs"]}
    with pytest.raises(KeyError):
        gh.em.actions.add_run(E2E_REPO, "nope.yml", inputs={})


# ---------------------------------------------------------------------- the workflow files


def test_example_workflow_matches_the_fixture_in_what_the_gate_relies_on() -> None:
    """examples/identity-boundary-canary.yml and the fixture's workflow agree on inputs, run-name, concurrency."""
    text = (REPO_ROOT / "examples" / "identity-boundary-canary.yml").read_text(encoding="utf-8")
    example = read_workflow(text, path="example")
    fixture = read_workflow(CANARY_WORKFLOW_TEXT, path="fixture")
    assert example.dispatch
    assert set(example.inputs) == set(fixture.inputs) == {"cli_version", "correlation_id"}
    assert all(spec.required for spec in example.inputs.values())
    assert example.run_name is not None
    assert "${{ inputs.correlation_id }}" in example.run_name
    assert example.run_name == fixture.run_name
    assert example.concurrency
    assert fixture.concurrency
    for needed in (
        "astral-sh/setup-uv@",
        "spec-kitty-cli==${{ inputs.cli_version }}",
        "./scripts/run-sync-identity-boundary-canary.sh --single --yes",
        "actions/upload-artifact@v4",
        "name: sync-identity-boundary",
        "artifacts/sync_identity_boundary/",
        "cancel-in-progress: false",
    ):
        assert needed in text, needed


@pytest.mark.parametrize(
    ("text", "dispatch", "inputs"),
    [
        ("name: a\non: workflow_dispatch\n", True, {}),
        ("name: a\non: [push, workflow_dispatch]\n", True, {}),
        ("name: a\non:\n  push:\n    branches: [main]\n", False, {}),
        (
            "name: a\n'on':\n  workflow_dispatch:\n    inputs:\n      x:\n        default: \"1\" # one\n",
            True,
            {"x": "1"},
        ),
        (
            (
                "name: a\non:\n  workflow_dispatch:\n    inputs:\n      x:\n        description: |\n          on: push\n"
                "          y: 1\n        required: true\njobs:\n  j:\n    steps:\n      - run: |\n          inputs: z\n"
            ),
            True,
            {"x": None},
        ),
    ],
)
def test_workflow_reader_reads_the_keys_the_emulator_needs(
    text: str, dispatch: bool, inputs: dict[str, str | None]
) -> None:
    wf = read_workflow(text, path="w.yml")
    assert wf.name == "a"
    assert wf.dispatch is dispatch
    assert {k: v.default for k, v in wf.inputs.items()} == inputs


def test_display_title_substitutes_inputs_and_defaults() -> None:
    text = (
        "name: n\nrun-name: c ${{ inputs.id }} / ${{ github.event.inputs.v }} ${{ github.actor }}\n"
        "on:\n  workflow_dispatch:\n    inputs:\n      id: {}\n      v:\n        default: d\n"
    )
    wf = read_workflow(text, path="w.yml")
    assert display_title(wf, {"id": "gate-7/WP04/1"}) == "c gate-7/WP04/1 / d ${{ github.actor }}"
    assert display_title(read_workflow("name: plain\n", path="p.yml"), {}) == "plain"
