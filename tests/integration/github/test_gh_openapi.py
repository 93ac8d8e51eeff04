"""Every answer the GitHub emulator gives conforms to GitHub's published OpenAPI description.

The validator is githubkit's schema package for REST API version 2022-11-28: pydantic models
generated from github/rest-api-description, so a required field the emulator leaves out, or a
field of the wrong type, fails here as it would fail a client generated from the description.
Each route of the emulator is exercised at least once (the last test checks that), on the
default world with the CLI repository read from a real git repository and GitHub Actions on
the fixture e2e repository (a run driven through the runner's side of the Actions service).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
import requests
from githubkit_schemas.v2022_11_28 import models as schemas
from githubkit_schemas.v2026_03_10 import models as schemas_2026

from phase4gate.sandbox.e2e import CANARY_WORKFLOW, build_e2e_repo
from phase4gate.sandbox.github_actions import BLOB_PREFIX
from phase4gate.sandbox.github_api import API_PREFIX, GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO

from .conftest import GitRepo

TIMEOUT = 30
API_VERSION = "2022-11-28"
API_VERSION_2026 = "2026-03-10"

# The issue-events endpoint's description lists only the non-state events; a closed or
# reopened event there has the shape of a single issue event (GET .../issues/events/{id}).
_EVENT_MODELS = {"closed": "IssueEvent", "reopened": "IssueEvent", "referenced": "IssueEvent"}
_TIMELINE_MODELS = {
    "cross-referenced": "TimelineCrossReferencedEvent",
    "committed": "TimelineCommittedEvent",
    "commented": "TimelineCommentEvent",
    "closed": "StateChangeIssueEvent",
    "reopened": "StateChangeIssueEvent",
    "referenced": "StateChangeIssueEvent",
}


def model(name: str, version: str = API_VERSION) -> Any:
    """Return the description's model called *name* (of REST API *version*)."""
    return getattr(schemas_2026 if version == API_VERSION_2026 else schemas, name)


def conforms(data: object, name: str, where: str, version: str = API_VERSION) -> None:
    """Validate *data* against model *name*; fail naming every missing or wrong field.

    Strict, from the JSON text a client reads: ``"123"`` is not an integer, ``1.0`` is not
    one, ``true`` is not one (lax mode would coerce each).
    """
    try:
        pydantic.TypeAdapter(model(name, version)).validate_json(json.dumps(data), strict=True)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        pytest.fail(f"{where} does not conform to {name} ({version}): {problems}")


class Api:
    """Raw HTTP against the emulator, as a client of the description sends it."""

    def __init__(self, em: GitHubEmulator, version: str = API_VERSION) -> None:
        self.em = em
        self.version = version
        self.headers = {
            "Authorization": f"token {em.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": version,
        }

    def raw(self, method: str, path: str, body: object | None = None, status: int = 200) -> requests.Response:
        r = requests.request(
            method,
            self.em.api_url + path,
            json=body,
            headers=self.headers,
            timeout=TIMEOUT,
            allow_redirects=False,
        )
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:200]}"
        return r

    def call(self, method: str, path: str, body: object | None = None, status: int = 200) -> Any:
        return self.raw(method, path, body, status).json()


@pytest.fixture(scope="session")
def e2e_actions_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture e2e repository with its workflows, as a git repository."""
    path = tmp_path_factory.mktemp("e2e-actions") / "e2e"
    build_e2e_repo(path)
    return path


@pytest.fixture
def api(world: GitHubEmulator, e2e_actions_repo: Path) -> Api:
    world.actions.add_source(E2E_REPO, str(e2e_actions_repo))
    return Api(world)


def test_user_and_rate_limit_conform(api: Api) -> None:
    me = api.call("GET", "/user")
    conforms(me, "PrivateUser", "GET /user")
    conforms(api.call("GET", "/rate_limit"), "RateLimitOverview", "GET /rate_limit")


def test_validation_is_strict_about_json_types(api: Api) -> None:
    """A count sent as a string, or a float, fails the check (lax validation would have coerced it)."""
    good = api.call("GET", "/rate_limit")
    conforms(good, "RateLimitOverview", "GET /rate_limit")
    for bad_value in (str(good["rate"]["remaining"]), float(good["rate"]["remaining"]) + 0.5):
        bad = {**good, "rate": {**good["rate"], "remaining": bad_value}}
        with pytest.raises(pytest.fail.Exception, match=r"rate\.remaining"):
            conforms(bad, "RateLimitOverview", "a mutated GET /rate_limit")


def test_rate_limit_counts_agree_with_the_headers(api: Api) -> None:
    """``rate`` and ``resources.core`` report the same window the headers do."""
    r = requests.get(api.em.api_url + "/rate_limit", headers=api.headers, timeout=TIMEOUT)
    body = r.json()
    core = body["resources"]["core"]
    assert body["rate"] == core
    assert core["limit"] == int(r.headers["x-ratelimit-limit"])
    assert core["remaining"] == int(r.headers["x-ratelimit-remaining"])
    assert core["used"] == int(r.headers["x-ratelimit-used"])
    assert core["remaining"] + core["used"] == core["limit"]


@pytest.mark.parametrize("repo", [CLI_REPO, E2E_REPO])
def test_repository_conforms(api: Api, repo: str) -> None:
    conforms(api.call("GET", f"/repos/{repo}"), "FullRepository", f"GET /repos/{repo}")


def _issues(em: GitHubEmulator) -> Iterator[tuple[str, int]]:
    with em.lock:
        return iter([(i.repo, i.number) for i in em.state.issues])


def test_issues_events_timeline_and_comments_conform(api: Api) -> None:
    seen_events: set[str] = set()
    for repo, number in _issues(api.em):
        base = f"/repos/{repo}/issues/{number}"
        conforms(api.call("GET", base), "Issue", f"GET {base}")
        for event in api.call("GET", f"{base}/events"):
            name = _EVENT_MODELS.get(event["event"], "IssueEvent")
            conforms(event, name, f"GET {base}/events ({event['event']})")
        for entry in api.call("GET", f"{base}/timeline"):
            seen_events.add(entry["event"])
            timeline_model = _TIMELINE_MODELS.get(entry["event"])
            assert timeline_model is not None, f"no description model mapped for timeline event {entry['event']!r}"
            conforms(entry, timeline_model, f"GET {base}/timeline ({entry['event']})")
            if entry["event"] == "cross-referenced" and entry["source"]["issue"] is not None:
                source = entry["source"]["issue"]
                conforms(source["repository"], "Repository", f"GET {base}/timeline source.issue.repository")
        for comment in api.call("GET", f"{base}/comments"):
            conforms(comment, "IssueComment", f"GET {base}/comments")
            one = api.call("GET", f"/repos/{repo}/issues/comments/{comment['id']}")
            conforms(one, "IssueComment", "GET .../issues/comments/{id}")
    # The default world closes one blocker by a commit and one by a merged PR.
    assert {"closed", "cross-referenced", "commented"} <= seen_events


def test_writes_conform(api: Api) -> None:
    base = f"/repos/{E2E_REPO}/issues/41"
    created = api.call("POST", f"{base}/comments", {"body": "evidence"}, status=201)
    conforms(created, "IssueComment", f"POST {base}/comments")
    edited = api.call("PATCH", f"/repos/{E2E_REPO}/issues/comments/{created['id']}", {"body": "evidence, edited"})
    conforms(edited, "IssueComment", "PATCH .../issues/comments/{id}")
    closed = api.call("PATCH", base, {"state": "closed", "state_reason": "completed"})
    conforms(closed, "Issue", f"PATCH {base}")
    assert closed["state"] == "closed"
    assert closed["state_reason"] == "completed"


def test_pull_request_conforms(api: Api) -> None:
    with api.em.lock:
        pulls = [(p.repo, p.number) for p in api.em.state.pulls]
    assert pulls, "the default world has the PR that closed #1182"
    for repo, number in pulls:
        conforms(api.call("GET", f"/repos/{repo}/pulls/{number}"), "PullRequest", f"GET /repos/{repo}/pulls/{number}")


def test_git_backed_routes_conform(api: Api, git_repo: GitRepo) -> None:
    base = f"/repos/{CLI_REPO}"
    fix, root = git_repo.commits["fix"], git_repo.commits["base"]
    conforms(api.call("GET", f"{base}/commits/{fix}"), "Commit", f"GET {base}/commits/{{sha}}")
    conforms(api.call("GET", f"{base}/compare/{root}...{fix}"), "CommitComparison", f"GET {base}/compare")
    ref = api.call("GET", f"{base}/git/ref/tags/v3.2.0rc16")
    conforms(ref, "GitRef", f"GET {base}/git/ref/tags/{{tag}}")
    assert ref["object"]["type"] == "tag"
    tag = api.call("GET", f"{base}/git/tags/{ref['object']['sha']}")
    conforms(tag, "GitTag", f"GET {base}/git/tags/{{sha}}")
    tags = api.call("GET", f"{base}/tags")
    assert {t["name"] for t in tags} >= {"v3.2.0rc15", "v3.2.0rc16"}
    for t in tags:
        conforms(t, "Tag", f"GET {base}/tags")


def test_error_answers_conform(api: Api) -> None:
    conforms(api.call("GET", f"/repos/{CLI_REPO}/issues/999999", status=404), "BasicError", "404")
    conforms(api.call("GET", "/repos/Priivacy-ai/spec-kitty-old", status=301), "BasicError", "301 moved")
    invalid = api.call("PATCH", f"/repos/{E2E_REPO}/issues/41", {"state": "shut"}, status=422)
    conforms(invalid, "ValidationError", "422")


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_actions_routes_conform(api: Api) -> None:
    """Workflows, dispatch, runs, attempts, jobs, artifacts, logs, cancel and rerun, in every state a run passes."""
    _exercise_actions(api)


def test_actions_routes_conform_to_2026_03_10(world: GitHubEmulator, e2e_actions_repo: Path) -> None:
    """The same answers under REST API 2026-03-10 conform to that version's description (dispatch: always 200)."""
    world.actions.add_source(E2E_REPO, str(e2e_actions_repo))
    _exercise_actions(Api(world, API_VERSION_2026))


def _exercise_actions(api: Api) -> None:
    v = api.version

    def check(data: object, name: str, where: str) -> None:
        conforms(data, name, where, v)

    base = f"/repos/{E2E_REPO}/actions"
    wf = f"{base}/workflows/{CANARY_WORKFLOW}"
    workflows = api.call("GET", f"{base}/workflows")
    check(workflows, "ReposOwnerRepoActionsWorkflowsGetResponse200", "GET .../actions/workflows")
    check(api.call("GET", wf), "Workflow", "GET .../actions/workflows/{workflow_id}")
    inputs = {"cli_version": "3.2.0rc16", "correlation_id": "gate-1/WP04/1"}
    if v == API_VERSION_2026:
        details = api.call("POST", f"{wf}/dispatches", {"ref": "main", "inputs": inputs})
    else:
        details = api.call("POST", f"{wf}/dispatches", {"ref": "main", "inputs": inputs, "return_run_details": True})
        assert api.raw("POST", f"{wf}/dispatches", {"ref": "main", "inputs": inputs}, status=204).content == b""
    check(details, "WorkflowDispatchResponse", "POST .../dispatches (run details)")
    invalid = api.call("POST", f"{wf}/dispatches", {"ref": "nope", "inputs": inputs}, status=422)
    check(invalid, "ValidationErrorSimple", "POST .../dispatches 422")
    run_id = details["workflow_run_id"]
    run_path = f"{base}/runs/{run_id}"
    runs = api.call("GET", f"{wf}/runs?event=workflow_dispatch&per_page=1")
    check(runs, "ReposOwnerRepoActionsWorkflowsWorkflowIdRunsGetResponse200", "GET .../workflows/{id}/runs")
    check(api.call("GET", f"{base}/runs"), "ReposOwnerRepoActionsRunsGetResponse200", "GET .../actions/runs")

    actions = api.em.actions
    run = actions.run_state(run_id)
    assert run is not None
    ticket = actions.ticket(run, run.latest)
    for state in ("queued", "in_progress", "completed"):
        if state == "in_progress":
            assert actions.start_attempt(ticket, runner_name="GitHub Actions 1", runner_id=1, steps=("Set up", "Run"))
            actions.step_started(ticket, 1)
            actions.step_finished(ticket, 1, "success")
            actions.step_started(ticket, 2)
        elif state == "completed":
            actions.step_finished(ticket, 2, "success")
            artifact = _zip({"runs/run-1.json": b"{}", "latest.json": b"{}"})
            logs = _zip({"identity-boundary-canary/1_Set up.txt": b"ok\n"})
            actions.complete_attempt(ticket, "success", logs=logs, artifacts=[("sync-identity-boundary", artifact)])
        got = api.call("GET", run_path)
        assert got["status"] == state
        check(got, "WorkflowRun", f"GET .../actions/runs/{{run_id}} ({state})")
        jobs = api.call("GET", f"{run_path}/jobs")
        check(jobs, "ReposOwnerRepoActionsRunsRunIdJobsGetResponse200", f"GET .../runs/{{id}}/jobs ({state})")
    check(api.call("GET", f"{run_path}/attempts/1"), "WorkflowRun", "GET .../runs/{id}/attempts/{n}")
    attempt_jobs = api.call("GET", f"{run_path}/attempts/1/jobs")
    check(attempt_jobs, "ReposOwnerRepoActionsRunsRunIdAttemptsAttemptNumberJobsGetResponse200", "attempt jobs")
    job_id = attempt_jobs["jobs"][0]["id"]
    check(api.call("GET", f"{base}/jobs/{job_id}"), "Job", "GET .../actions/jobs/{job_id}")
    arts = api.call("GET", f"{run_path}/artifacts")
    check(arts, "ReposOwnerRepoActionsRunsRunIdArtifactsGetResponse200", "GET .../runs/{id}/artifacts")
    art_id = arts["artifacts"][0]["id"]
    check(api.call("GET", f"{base}/artifacts/{art_id}"), "Artifact", "GET .../actions/artifacts/{id}")
    for path in (f"{base}/artifacts/{art_id}/zip", f"{run_path}/logs", f"{run_path}/attempts/1/logs"):
        moved = api.raw("GET", path, status=302)
        assert BLOB_PREFIX in moved.headers["Location"], path
    check(api.call("POST", f"{run_path}/cancel", status=409), "BasicError", "POST .../cancel 409")
    check(api.call("POST", f"{run_path}/rerun", status=201), "EmptyObject", "POST .../rerun")
    check(api.call("POST", f"{run_path}/cancel", status=202), "EmptyObject", "POST .../cancel 202")
    check(api.call("GET", run_path), "WorkflowRun", "GET .../actions/runs/{run_id} (attempt 2, cancelled)")


def test_every_route_is_exercised(world: GitHubEmulator, git_repo: GitRepo, e2e_actions_repo: Path) -> None:
    """Run every test above's requests again and check each route pattern matched at least one."""
    world.actions.add_source(E2E_REPO, str(e2e_actions_repo))
    api = Api(world)
    test_user_and_rate_limit_conform(api)
    test_repository_conforms(api, CLI_REPO)
    test_issues_events_timeline_and_comments_conform(api)
    test_writes_conform(api)
    test_pull_request_conforms(api)
    test_git_backed_routes_conform(api, git_repo)
    test_actions_routes_conform(api)
    prefix = re.compile(r"/repos/[^/]+/[^/]+")
    subs = {
        (r.method, prefix.sub("", r.path[len(API_PREFIX) :], count=1))
        for r in world.requests
        if r.path.startswith(API_PREFIX + "/repos/")
    }
    for method, pattern, _handler in world._routes:
        assert any(m == method and pattern.fullmatch(sub) for m, sub in subs), (
            f"route {method} {pattern.pattern!r} not exercised"
        )
