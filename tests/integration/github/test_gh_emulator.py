"""The GitHub emulator, route by route: github3.py's own calls, and raw HTTP for the edges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import github3
import pytest
import requests

from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.github_api import MAX_COMMENT_CHARS, GitHubEmulator
from phase4gate.sandbox.github_seed import (
    CLI_REPO,
    E2E_REPO,
    Seed,
    SeedComment,
    SeedCommit,
    SeedEvent,
    close_by_pr,
    close_without_change,
    default_seed,
)

from .conftest import FIX_1182, GitRepo

TIMEOUT = 30


def gh_for(em: GitHubEmulator, token: str | None = None) -> Any:
    gh = github3.GitHub(token=token or em.token)
    gh.session.base_url = em.api_url
    return gh


def get(em: GitHubEmulator, path: str, token: str | None = None, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    headers.update(kw.pop("headers", {}))
    return requests.get(em.api_url + path, headers=headers, timeout=TIMEOUT, **kw)


def send(em: GitHubEmulator, method: str, path: str, token: str | None, body: object) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.request(
        method, em.api_url + path, json=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
    )


# ---------------------------------------------------------------------------- github3 calls


def test_github3_reads_user_repository_and_issue(world: GitHubEmulator) -> None:
    """me(), repository(), issue(): full objects github3 accepts; state_reason is in the JSON."""
    gh = gh_for(world)

    assert gh.me().login == "gate-bot"
    repo = gh.repository(*CLI_REPO.split("/"))
    assert repo.full_name == CLI_REPO
    assert repo.url.startswith(world.api_url)
    issue = gh.issue(*CLI_REPO.split("/"), 1141)
    assert (issue.state, issue.closed_by.login, issue.as_dict()["state_reason"]) == ("closed", "octo-dev", "completed")
    assert issue.body_text == issue.body


def test_github3_lists_events_and_pages_comments(world: GitHubEmulator) -> None:
    """events() works when every actor is set; comments() follows Link headers over 120 comments."""
    tracker = world.state.issue(CLI_REPO, 1038)
    for n in range(119):
        world.state.add_comment(tracker, "someone", f"comment {n}")
    gh = gh_for(world)

    events = [(e.event, e.commit_id) for e in gh.issue(*CLI_REPO.split("/"), 1141).events()]
    before = world.count("GET", "/api/v3/repos/Priivacy-ai/spec-kitty/issues/1038/comments")
    comments = list(gh.issue(*CLI_REPO.split("/"), 1038).comments())

    assert [e for e, _ in events] == ["referenced", "closed"]
    assert len(comments) == 120
    assert world.count("GET", "/api/v3/repos/Priivacy-ai/spec-kitty/issues/1038/comments") - before == 2


def test_github3_null_actor_breaks_its_event_listing(make_emulator: Callable[[Seed], GitHubEmulator]) -> None:
    """The emulator sends "actor": null like GitHub; github3 4.0.1 fails on it (why the adapter reads JSON)."""
    seed = default_seed()
    close_without_change(seed, CLI_REPO, 1141, actor=None)
    em = make_emulator(seed)

    raw = get(em, "/repos/Priivacy-ai/spec-kitty/issues/1141/events", em.token).json()
    assert raw[-1]["actor"] is None
    with pytest.raises(TypeError):
        list(gh_for(em).issue(*CLI_REPO.split("/"), 1141).events())


def test_github3_creates_and_edits_a_comment(world: GitHubEmulator) -> None:
    """create_comment -> 201; edit -> 200; the log proves which token wrote."""
    issue = gh_for(world).issue(*E2E_REPO.split("/"), 41)

    comment = issue.create_comment("evidence")
    assert comment.edit("evidence v2")

    assert world.state.issue(E2E_REPO, 41).comments[-1].body == "evidence v2"
    writes = world.writes()
    assert [(w.method, w.status, world.who(w)) for w in writes] == [
        ("POST", 201, "gate-bot"),
        ("PATCH", 200, "gate-bot"),
    ]


def test_github3_reads_a_merged_pull_request(world: GitHubEmulator) -> None:
    """pull_request(): merged, merge_commit_sha, base.repo."""
    pull = next(p for p in world.state.pulls if p.merge_commit_sha == FIX_1182)

    pr = gh_for(world).repository(*CLI_REPO.split("/")).pull_request(pull.number)

    assert (pr.merged, pr.merge_commit_sha, pr.base.repo[0]) == (True, FIX_1182, "Priivacy-ai")


@pytest.mark.parametrize(
    ("base", "head", "status", "ahead", "behind"),
    [
        ("v3.2.0rc15", "v3.2.0rc16", "ahead", 1, 0),
        ("v3.2.0rc16", "v3.2.0rc15", "behind", 0, 1),
        ("v3.2.0rc16", "v3.2.0rc16", "identical", 0, 0),
        ("side", "main", "diverged", 1, 1),
    ],
)
def test_github3_compares_from_real_git(  # noqa: PLR0917 - parametrized
    world: GitHubEmulator, base: str, head: str, status: str, ahead: int, behind: int
) -> None:
    """compare_commits(): status and counts come from the seeded git repository."""
    cmp = gh_for(world).repository(*CLI_REPO.split("/")).compare_commits(base, head)

    assert (cmp.status, cmp.ahead_by, cmp.behind_by) == (status, ahead, behind)


def test_github3_reads_a_commit_with_files_and_patches(world: GitHubEmulator, git_repo: GitRepo) -> None:
    """commit(): files with status, counts and the patch text, from git."""
    commit = gh_for(world).repository(*CLI_REPO.split("/")).commit(git_repo.commits["fix"])

    files = {f["filename"]: f for f in commit.files}
    assert set(files) == {"queue.py", "test_queue.py"}
    assert files["test_queue.py"]["status"] == "added"
    assert "+    return True" in files["queue.py"]["patch"]
    assert commit.parents[0]["sha"] == git_repo.commits["base"]
    assert commit.stats["total"] == 4


def test_github3_reads_tag_refs_and_annotated_tags(world: GitHubEmulator, git_repo: GitRepo) -> None:
    """ref('tags/...') for lightweight and annotated tags; tag(sha) peels to the commit."""
    repo = gh_for(world).repository(*CLI_REPO.split("/"))

    light = repo.ref("tags/v3.2.0rc15")
    annotated = repo.ref("tags/v3.2.0rc16")
    tag = repo.tag(annotated.object.sha)

    assert (light.object.type, light.object.sha) == ("commit", git_repo.commits["base"])
    assert annotated.object.type == "tag"
    assert (tag.tag, tag.object.sha) == ("v3.2.0rc16", git_repo.commits["fix"])
    assert {t.name for t in repo.tags()} == {"v3.2.0rc15", "v3.2.0rc16"}


def test_seeded_commits_and_compare_without_git(make_emulator: Callable[[Seed], GitHubEmulator]) -> None:
    """Without a git path, commits, compare and tags come from the seed."""
    seed = default_seed(tags={"v1": "c" * 40})
    repo = seed.repo(CLI_REPO)
    assert repo is not None
    repo.commits["c" * 40] = SeedCommit("c" * 40, "fix", files=[{"filename": "a.py", "additions": 2, "patch": "@@"}])
    repo.compare["a...b"] = "behind"
    em = make_emulator(seed)
    r = gh_for(em).repository(*CLI_REPO.split("/"))

    assert r.commit("c" * 40).files[0]["changes"] == 2
    assert r.compare_commits("a", "b").status == "behind"
    assert r.ref("tags/v1").object.sha == "c" * 40
    assert get(em, "/repos/Priivacy-ai/spec-kitty/compare/x...y").status_code == 404
    assert get(em, "/repos/Priivacy-ai/spec-kitty/commits/" + "d" * 40).status_code == 422


# ---------------------------------------------------------------------------- raw HTTP edges


def test_a_renamed_repository_answers_301_for_reads_and_307_for_writes(world: GitHubEmulator) -> None:
    """The old name redirects to the same path under the new name, query kept."""
    read = get(world, "/repos/Priivacy-ai/spec-kitty-old/issues/1141?x=1", allow_redirects=False)
    write = send(world, "PATCH", "/repos/Priivacy-ai/spec-kitty-old/issues/41", world.token, {"state": "closed"})

    assert read.status_code == 301
    assert read.headers["Location"] == world.api_url + "/repos/Priivacy-ai/spec-kitty/issues/1141?x=1"
    assert write.status_code == 307
    assert get(world, "/repos/Priivacy-ai/spec-kitty-old").json()["full_name"] == CLI_REPO


def test_a_deleted_issue_answers_410(world: GitHubEmulator) -> None:
    """410 Gone, with GitHub's message."""
    with world.lock:
        world.state.issue(CLI_REPO, 1141).deleted = True

    answer = get(world, "/repos/Priivacy-ai/spec-kitty/issues/1141")

    assert (answer.status_code, answer.json()["message"]) == (410, "This issue was deleted")


def test_unknown_things_answer_404(world: GitHubEmulator) -> None:
    """Unknown repository, issue, PR, comment, tag, route: 404."""
    for path in (
        "/repos/nobody/nothing",
        "/repos/Priivacy-ai/spec-kitty/issues/999999",
        "/repos/Priivacy-ai/spec-kitty/pulls/999999",
        "/repos/Priivacy-ai/spec-kitty/issues/comments/999999",
        "/repos/Priivacy-ai/spec-kitty/git/ref/tags/v9",
        "/repos/Priivacy-ai/spec-kitty/git/tags/" + "e" * 40,
        "/repos/Priivacy-ai/spec-kitty/unknown",
        "/gists",
    ):
        assert get(world, path).status_code == 404, path
    assert requests.get(world.origin + "/elsewhere", timeout=TIMEOUT).status_code == 404


def test_writes_need_a_token_that_may_write(world: GitHubEmulator) -> None:
    """No token 401; unknown token 401 'Bad credentials'; read-only 403 naming the permission."""
    path = "/repos/Priivacy-ai/spec-kitty-end-to-end-testing/issues/41/comments"

    anonymous = send(world, "POST", path, None, {"body": "x"})
    wrong = send(world, "POST", path, "ghp_" + "0" * 36, {"body": "x"})
    read_only = send(world, "POST", path, world.read_only_token, {"body": "x"})

    assert (anonymous.status_code, anonymous.json()["message"]) == (401, "Requires authentication")
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Bad credentials")
    assert read_only.status_code == 403
    assert read_only.json()["message"] == "Resource not accessible by integration"
    assert read_only.headers["x-accepted-github-permissions"] == "issues=write"
    assert world.state.issue(E2E_REPO, 41).comments == []
    assert [world.who(r) for r in world.requests] == [None, None, "reader-bot"]
    assert get(world, "/user").status_code == 401


def test_every_answer_has_rate_limit_headers_and_limits_bite(world: GitHubEmulator) -> None:
    """x-ratelimit-* on every answer; remaining counts down; at 0 a 403 with remaining 0."""
    first = get(world, "/repos/Priivacy-ai/spec-kitty", world.token)
    second = get(world, "/repos/Priivacy-ai/spec-kitty", world.token)
    world.set_rate_remaining(world.token, 0)
    limited = get(world, "/repos/Priivacy-ai/spec-kitty", world.token)
    world.set_rate_remaining(None, 0)

    assert int(first.headers["x-ratelimit-remaining"]) - int(second.headers["x-ratelimit-remaining"]) == 1
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert first.headers["x-ratelimit-resource"] == "core"
    assert (limited.status_code, limited.headers["x-ratelimit-remaining"]) == (403, "0")
    assert "rate limit" in limited.json()["message"]
    assert get(world, "/repos/Priivacy-ai/spec-kitty").status_code == 403


def test_etag_and_304(world: GitHubEmulator) -> None:
    """A GET has an ETag; If-None-Match with it answers 304, empty, not counted against the limit."""
    path = "/repos/Priivacy-ai/spec-kitty-end-to-end-testing/issues/41"
    first = get(world, path, world.token)
    cond = get(world, path, world.token, headers={"If-None-Match": first.headers["ETag"]})
    stale = get(world, path, world.token, headers={"If-None-Match": 'W/"old"'})

    assert (cond.status_code, cond.content) == (304, b"")
    assert cond.headers["ETag"] == first.headers["ETag"]
    assert cond.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    assert stale.status_code == 200


def test_comment_pagination_per_page_and_link(world: GitHubEmulator) -> None:
    """per_page (capped at 100) and page; Link has next/last, then first/prev, all absolute."""
    tracker = world.state.issue(CLI_REPO, 1038)
    for n in range(4):
        world.state.add_comment(tracker, "someone", f"c{n}")
    path = "/repos/Priivacy-ai/spec-kitty/issues/1038/comments"

    page1 = get(world, path, params={"per_page": 2})
    page3 = get(world, path, params={"per_page": 2, "page": 3})
    capped = get(world, path, params={"per_page": 1000})
    bad = get(world, path, params={"per_page": "many"})

    assert [c["body"] for c in page1.json()] == ["Tracking the 3.2.0 release gate.", "c0"]
    assert page1.links["next"]["url"] == f"{world.origin}/api/v3{path}?per_page=2&page=2"
    assert page1.links["last"]["url"].endswith("page=3")
    assert [c["body"] for c in page3.json()] == ["c3"]
    assert set(page3.links) == {"first", "prev"}
    assert len(capped.json()) == 5
    assert "Link" not in capped.headers
    assert bad.status_code == 422


def test_comment_length_limit_is_65536(world: GitHubEmulator) -> None:
    """Exactly 65,536 characters is accepted; one more is 422; an empty body is 422."""
    path = "/repos/Priivacy-ai/spec-kitty-end-to-end-testing/issues/41/comments"

    ok = send(world, "POST", path, world.token, {"body": "x" * MAX_COMMENT_CHARS})
    too_long = send(world, "POST", path, world.token, {"body": "x" * (MAX_COMMENT_CHARS + 1)})
    empty = send(world, "POST", path, world.token, {"body": ""})
    edit = send(
        world, "PATCH", f"/repos/{E2E_REPO}/issues/comments/{ok.json()['id']}", world.token, {"body": "y" * 70000}
    )
    not_json = requests.post(
        world.api_url + path, data=b"{", headers={"Authorization": f"token {world.token}"}, timeout=TIMEOUT
    )

    assert ok.status_code == 201
    assert ok.headers["Location"] == ok.json()["url"]
    assert too_long.status_code == 422
    assert "65536" in too_long.json()["message"]
    assert (empty.status_code, edit.status_code, not_json.status_code) == (422, 422, 400)
    assert len(world.state.issue(E2E_REPO, 41).comments) == 1


def test_patch_issue_state_reason_semantics(world: GitHubEmulator) -> None:
    """Closing sets state_reason, closed_by, closed_at and an event; a reason alone is ignored; re-open says reopened."""
    path = "/repos/Priivacy-ai/spec-kitty-end-to-end-testing/issues/41"

    ignored = send(world, "PATCH", path, world.token, {"state_reason": "not_planned"}).json()
    closed = send(world, "PATCH", path, world.token, {"state": "closed", "state_reason": "not_planned"}).json()
    again = send(world, "PATCH", path, world.token, {"state": "closed", "state_reason": "completed"}).json()
    reopened = send(world, "PATCH", path, world.token, {"state": "open", "title": "renamed"}).json()
    bad_reason = send(world, "PATCH", path, world.token, {"state": "closed", "state_reason": "fixed"})
    bad_state = send(world, "PATCH", path, world.token, {"state": "done"})
    not_object = send(world, "PATCH", path, world.token, [1])

    assert (ignored["state"], ignored["state_reason"]) == ("open", None)
    assert (closed["state"], closed["state_reason"], closed["closed_by"]["login"]) == (
        "closed",
        "not_planned",
        "gate-bot",
    )
    assert closed["closed_at"] is not None
    assert again["state_reason"] == "not_planned"  # no state change: the reason is ignored
    assert (reopened["state"], reopened["state_reason"], reopened["closed_at"], reopened["title"]) == (
        "open",
        "reopened",
        None,
        "renamed",
    )
    assert (bad_reason.status_code, bad_state.status_code, not_object.status_code) == (422, 422, 400)
    events = [e.event for e in world.state.issue(E2E_REPO, 41).events]
    assert events == ["closed", "reopened"]


def test_timeline_has_cross_references_commits_and_comments(make_emulator: Callable[[Seed], GitHubEmulator]) -> None:
    """cross-referenced (with the source PR's repository), committed, commented, closed — in time order."""
    seed = default_seed()
    close_by_pr(seed, CLI_REPO, 1141, "9" * 40, pr_repo=E2E_REPO, commit_id_on_event=True)
    issue = seed.issue(CLI_REPO, 1141)
    seed.add_event(issue, SeedEvent("committed", commit_id="9" * 40, created_at="2026-05-12T09:30:00Z"))
    issue.comments.append(SeedComment(id=77, author="dev", body="fixed upstream", created_at="2026-05-12T11:00:00Z"))
    em = make_emulator(seed)

    timeline = get(em, "/repos/Priivacy-ai/spec-kitty/issues/1141/timeline").json()
    events = get(em, "/repos/Priivacy-ai/spec-kitty/issues/1141/events").json()

    assert [t["event"] for t in timeline] == ["committed", "cross-referenced", "closed", "commented"]
    source = timeline[1]["source"]["issue"]
    assert source["repository"]["full_name"] == E2E_REPO
    assert source["pull_request"]["url"].startswith(em.api_url + f"/repos/{E2E_REPO}/pulls/")
    assert timeline[2]["commit_id"] == "9" * 40
    assert timeline[2]["commit_url"].startswith(em.api_url + f"/repos/{E2E_REPO}/commits/")
    assert [e["event"] for e in events] == ["closed"]


def test_faults_are_injected_per_route(world: GitHubEmulator) -> None:
    """A queued 503 answers the next matching request only; others are untouched."""
    world.inject("/api/v3/repos/Priivacy-ai/spec-kitty/issues/1141", Fault("status", status=503))

    other = get(world, "/repos/Priivacy-ai/spec-kitty/issues/1182")
    faulted = get(world, "/repos/Priivacy-ai/spec-kitty/issues/1141")
    healed = get(world, "/repos/Priivacy-ai/spec-kitty/issues/1141")

    assert (other.status_code, faulted.status_code, healed.status_code) == (200, 503, 200)


def test_rate_limit_endpoint_and_head(world: GitHubEmulator) -> None:
    """/rate_limit answers with the caller's window (anonymous: 60, as on GitHub); HEAD is served like GET without a body."""
    assert get(world, "/rate_limit", world.token).json()["resources"]["core"]["limit"] == 5000
    assert get(world, "/rate_limit").json()["resources"]["core"]["limit"] == 60
    head = requests.head(world.api_url + "/repos/Priivacy-ai/spec-kitty", timeout=TIMEOUT)
    assert (head.status_code, head.content) == (200, b"")
