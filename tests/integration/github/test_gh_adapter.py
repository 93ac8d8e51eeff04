"""GitHubClient against the emulator: reads, writes, request counts, faults, errors."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable

import pytest

from phase4gate.adapters.github import GitHubClient
from phase4gate.config import GateConfig, GitHubConfig
from phase4gate.errors import ExitCode, GitHubError
from phase4gate.models import Closer
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.github_api import MAX_COMMENT_CHARS, GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO

from .conftest import EPOCH, FIX_1182, GitRepo

ISSUE_1141 = "/api/v3/repos/Priivacy-ai/spec-kitty/issues/1141"
E2E_41 = "/api/v3/repos/Priivacy-ai/spec-kitty-end-to-end-testing/issues/41"


def assert_clean(exc: BaseException, *tokens: str) -> None:
    text = str(exc) + repr(exc) + "".join(traceback.format_exception(exc)) + str(getattr(exc, "hint", ""))
    for token in tokens:
        assert token not in text


# ---------------------------------------------------------------------------- reads


def test_login_names_the_token_user(client: GitHubClient, world: GitHubEmulator) -> None:
    """login() is the token's user, in one request."""
    assert client.login() == "gate-bot"
    assert client.requests_made() == world.count() == 1


def test_login_without_a_token_is_refused(make_client: Callable[..., GitHubClient], world: GitHubEmulator) -> None:
    """No token: a clear error before any request."""
    with pytest.raises(GitHubError, match="no token"):
        make_client(None).login()
    assert world.count() == 0


def test_an_open_issue_costs_one_request(client: GitHubClient, world: GitHubEmulator) -> None:
    """Open: state only, no timeline read."""
    snap = client.issue(E2E_REPO, 41)

    assert (snap.state, snap.state_reason, snap.closers) == ("open", None, ())
    assert client.requests_made() == world.count() == 1


def test_closed_by_commit_and_by_pr(client: GitHubClient, world: GitHubEmulator, git_repo: GitRepo) -> None:
    """#1141 by a closed event's commit; #1182 by a merged same-repo PR (its event has no commit_id)."""
    s1141 = client.issue(CLI_REPO, 1141)
    s1182 = client.issue(CLI_REPO, 1182)

    assert s1141.closers == (
        Closer(how="referenced-commit", repo=CLI_REPO, sha=git_repo.commits["fix"]),
        Closer(how="closed-event", repo=CLI_REPO, sha=git_repo.commits["fix"]),
    )
    pr = next(p for p in world.state.pulls if p.merge_commit_sha == FIX_1182)
    assert s1182.closers == (
        Closer(how="cross-referenced-pr", repo=CLI_REPO, sha=FIX_1182, pr_number=pr.number, merged=True),
    )
    assert (s1141.closed_by, s1141.url) == ("octo-dev", f"{world.origin}/{CLI_REPO}/issues/1141")
    # 1141: issue + timeline; 1182: issue + timeline + its PR.
    assert client.requests_made() == world.count() == 5


def test_a_re_read_is_conditional(client: GitHubClient, world: GitHubEmulator) -> None:
    """Reading an issue again sends If-None-Match and is answered 304 from the cache, same snapshot."""
    first = client.issue(CLI_REPO, 1141)
    second = client.issue(CLI_REPO, 1141)

    assert first == second
    assert [r.status for r in world.requests] == [200, 200, 304, 304]


def test_all_comments_all_pages(client: GitHubClient, world: GitHubEmulator) -> None:
    """list_comments reads 250 comments in 3 pages of 100."""
    tracker = world.state.issue(CLI_REPO, 1038)
    for n in range(249):
        world.state.add_comment(tracker, "someone", f"c{n}")

    comments = client.list_comments(CLI_REPO, 1038)

    assert len(comments) == 250
    assert comments[0].author == "maintainer"
    assert comments[-1].body == "c248"
    assert client.requests_made() == 3


def test_re_listing_comments_is_not_silently_empty(client: GitHubClient, world: GitHubEmulator) -> None:
    """A 304 on a re-listed page is answered from the cache: github3 still sees every comment."""
    tracker = world.state.issue(CLI_REPO, 1038)
    for n in range(150):
        world.state.add_comment(tracker, "someone", f"c{n}")

    first = client.list_comments(CLI_REPO, 1038)
    second = client.list_comments(CLI_REPO, 1038)

    assert len(first) == 151
    assert second == first
    assert [r.status for r in world.requests] == [200, 200, 304, 304]


def test_compare_and_tags_from_real_git(client: GitHubClient, git_repo: GitRepo) -> None:
    """compare_status tells whether a fix is in a tag; tag_sha peels annotated and lightweight tags."""
    fix = git_repo.commits["fix"]

    assert client.compare_status(CLI_REPO, fix, "v3.2.0rc16") == "identical"
    assert client.compare_status(CLI_REPO, git_repo.commits["base"], "v3.2.0rc16") == "ahead"
    assert client.compare_status(CLI_REPO, fix, "v3.2.0rc15") == "behind"
    assert client.compare_status(CLI_REPO, "side", "v3.2.0rc16") == "diverged"
    assert client.tag_sha(CLI_REPO, "v3.2.0rc16") == fix
    assert client.tag_sha(CLI_REPO, "v3.2.0rc15") == git_repo.commits["base"]


def test_an_unknown_tag_is_a_clear_error(client: GitHubClient) -> None:
    """404 on the ref: names the repository and the tag."""
    with pytest.raises(GitHubError) as excinfo:
        client.tag_sha(CLI_REPO, "v9.9.9")

    assert f"{CLI_REPO} tag v9.9.9" in str(excinfo.value)
    assert excinfo.value.status == 404


def test_a_renamed_repository_is_followed(client: GitHubClient, world: GitHubEmulator) -> None:
    """The old name works for reads (301) and writes (307)."""
    snap = client.issue("Priivacy-ai/spec-kitty-old", 1141)
    client.create_comment("Priivacy-ai/spec-kitty-old", 1038, "hello")

    assert snap.state == "closed"
    assert world.state.issue(CLI_REPO, 1038).comments[-1].body == "hello"
    assert [r.status for r in world.requests if r.method == "POST"] == [307, 201]
    assert client.requests_made() == world.count()


# ---------------------------------------------------------------------------- writes


def test_create_and_update_a_comment(client: GitHubClient, world: GitHubEmulator) -> None:
    """create_comment -> 201 -> Comment; update_comment replaces the body."""
    created = client.create_comment(E2E_REPO, 41, "evidence")
    updated = client.update_comment(E2E_REPO, created.id, "evidence v2")

    assert (created.author, created.body) == ("gate-bot", "evidence")
    assert (updated.id, updated.body) == (created.id, "evidence v2")
    assert [c.body for c in world.state.issue(E2E_REPO, 41).comments] == ["evidence v2"]


def test_an_over_long_comment_is_refused_before_any_request(client: GitHubClient, world: GitHubEmulator) -> None:
    """More than 65,536 characters: refused locally, nothing sent."""
    too_long = "x" * (MAX_COMMENT_CHARS + 1)
    with pytest.raises(GitHubError, match="65536"):
        client.create_comment(E2E_REPO, 41, too_long)
    with pytest.raises(GitHubError, match="65536"):
        client.update_comment(E2E_REPO, 1, too_long)
    assert world.count() == 0


def test_close_sends_only_state_and_reason(client: GitHubClient, world: GitHubEmulator) -> None:
    """The PATCH body is exactly {"state", "state_reason"}; closing again writes nothing."""
    snap = client.close_issue(E2E_REPO, 41)
    again = client.close_issue(E2E_REPO, 41)

    patches = [r for r in world.requests if r.method == "PATCH"]
    assert [json.loads(p.body) for p in patches] == [{"state": "closed", "state_reason": "completed"}]
    assert (snap.state, snap.state_reason, snap.closed_by) == ("closed", "completed", "gate-bot")
    assert again.state == "closed"


def test_close_when_closed_keeps_its_reason_and_reopen(client: GitHubClient, world: GitHubEmulator) -> None:
    """Already closed: no write, the snapshot shows its own reason; reopen of an open issue is a no-op."""
    client.close_issue(E2E_REPO, 41, "not_planned")
    kept = client.close_issue(E2E_REPO, 41)
    opened = client.reopen_issue(E2E_REPO, 41)
    still = client.reopen_issue(E2E_REPO, 41)

    assert kept.state_reason == "not_planned"
    assert world.state.issue(E2E_REPO, 41).state_reason == "reopened"
    assert (opened.state, still.state) == ("open", "open")
    assert len([r for r in world.requests if r.method == "PATCH"]) == 2


def test_never_close_is_refused_before_any_request(
    make_client: Callable[..., GitHubClient], world: GitHubEmulator
) -> None:
    """The tracker #1038 is never closed: a clear error, no request sent."""
    client = make_client(never_close=[(CLI_REPO.upper(), 1038)])

    with pytest.raises(GitHubError, match="never to be closed") as excinfo:
        client.close_issue(CLI_REPO, 1038)

    assert excinfo.value.exit_code == ExitCode.INFRA
    assert world.count() == 0
    with pytest.raises(GitHubError, match="state_reason must be one of"):
        client.close_issue(E2E_REPO, 41, "reopened")
    assert world.count() == 0


def test_from_config_protects_the_tracker(world: GitHubEmulator) -> None:
    """from_config: never_close comes from comments.tracker; api_url from [github]."""
    config = GateConfig(github=GitHubConfig(api_url=world.api_url + "/", max_retries=0))
    client = GitHubClient.from_config(config, world.token)

    with pytest.raises(GitHubError, match="never_close"):
        client.close_issue(CLI_REPO, 1038)
    assert client.api_url == world.api_url
    assert client.issue(E2E_REPO, 41).state == "open"
    assert world.token not in repr(client)
    assert client.token == world.token


# ---------------------------------------------------------------------------- faults


def test_a_5xx_is_retried_with_backoff(client: GitHubClient, world: GitHubEmulator, sleeps: list[float]) -> None:
    """Two 503s then 200: delays 1, 2; three requests logged."""
    world.inject(ISSUE_1141, Fault("status", status=503), Fault("status", status=502))

    assert client.issue(CLI_REPO, 1141).state == "closed"
    assert sleeps == [1.0, 2.0]
    assert client.delays == (1.0, 2.0)
    assert world.count(prefix=ISSUE_1141) == 4  # 3 issue GETs + 1 timeline


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault("status", status=429, headers={"Retry-After": "7"}), 7.0),
        (
            Fault(
                "status", status=403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(EPOCH) + 42)}
            ),
            42.0,
        ),
        (Fault("status", status=403, body=b'{"message": "You have exceeded a secondary rate limit."}'), 60.0),
    ],
)
def test_a_rate_limit_is_honoured(
    client: GitHubClient, world: GitHubEmulator, sleeps: list[float], fault: Fault, expected: float
) -> None:
    """Retry-After, else x-ratelimit-reset, else 60 s: the requested delay, then success."""
    world.inject(E2E_41, fault)

    assert client.issue(E2E_REPO, 41).state == "open"
    assert sleeps == [expected]


def test_a_rate_limited_post_is_resent(client: GitHubClient, world: GitHubEmulator, sleeps: list[float]) -> None:
    """A 429 on a POST was refused before any work: sent again, one comment."""
    world.inject(E2E_41 + "/comments", Fault("status", status=429, headers={"Retry-After": "3"}), method="POST")

    client.create_comment(E2E_REPO, 41, "once")

    assert sleeps == [3.0]
    assert [c.body for c in world.state.issue(E2E_REPO, 41).comments] == ["once"]


def test_the_deadline_ends_in_a_clear_error(
    make_client: Callable[..., GitHubClient], world: GitHubEmulator, sleeps: list[float]
) -> None:
    """503 forever with a 5 s deadline: waits 1 + 2, then gives up naming the issue and status (exit 3)."""
    client = make_client(deadline=5.0)
    world.inject(E2E_41, *[Fault("status", status=503)] * 10)

    with pytest.raises(GitHubError) as excinfo:
        client.issue(E2E_REPO, 41)

    assert sleeps == [1.0, 2.0]
    assert excinfo.value.exit_code == ExitCode.INFRA
    assert int(excinfo.value.exit_code) == 3
    assert excinfo.value.status == 503
    message = str(excinfo.value)
    assert message.startswith(f"{E2E_REPO}#41: GET ")
    assert "gave up after 3 attempt(s)" in message
    assert "5s deadline" in message
    assert_clean(excinfo.value, world.token)


def test_retries_run_out(make_client: Callable[..., GitHubClient], world: GitHubEmulator, sleeps: list[float]) -> None:
    """max_retries=1: one retry, then the 503 becomes an error naming the status."""
    client = make_client(max_retries=1)
    world.inject(E2E_41, *[Fault("status", status=503)] * 3)

    with pytest.raises(GitHubError, match="HTTP 503") as excinfo:
        client.issue(E2E_REPO, 41)

    assert sleeps == [1.0]
    assert excinfo.value.status == 503


@pytest.mark.parametrize("kind", ["reset", "truncated"])
def test_a_dropped_connection_on_a_read_is_retried(
    client: GitHubClient, world: GitHubEmulator, sleeps: list[float], kind: str
) -> None:
    """Connection reset or a truncated body: retried after 1 s."""
    world.inject(E2E_41, Fault(kind))

    assert client.issue(E2E_REPO, 41).number == 41
    assert sleeps == [1.0]


def test_a_connection_that_never_works_gives_up(
    make_client: Callable[..., GitHubClient], world: GitHubEmulator, sleeps: list[float]
) -> None:
    """Every attempt reset: an error saying the connection failed."""
    client = make_client(max_retries=2)
    world.inject(E2E_41, *[Fault("reset")] * 5)

    with pytest.raises(GitHubError, match="the connection failed"):
        client.issue(E2E_REPO, 41)
    assert sleeps == [1.0, 2.0]


def test_malformed_json_is_a_clear_error(client: GitHubClient, world: GitHubEmulator) -> None:
    """A 200 whose body is not JSON: could not decide, naming what was asked."""
    world.inject("/api/v3/repos/Priivacy-ai/spec-kitty/git/ref/tags", Fault("malformed"))

    with pytest.raises(GitHubError, match="not JSON"):
        client.tag_sha(CLI_REPO, "v3.2.0rc16")
    world.inject(E2E_41, Fault("malformed"))
    with pytest.raises(GitHubError, match=f"{E2E_REPO}#41"):
        client.issue(E2E_REPO, 41)


def test_a_post_that_failed_is_reconciled_then_resent(
    client: GitHubClient, world: GitHubEmulator, sleeps: list[float]
) -> None:
    """502 on POST (not landed): the comments are re-read, then it is sent once more; one comment."""
    world.inject(E2E_41 + "/comments", Fault("status", status=502), method="POST")

    comment = client.create_comment(E2E_REPO, 41, "evidence")

    assert [c.body for c in world.state.issue(E2E_REPO, 41).comments] == ["evidence"]
    assert comment.body == "evidence"
    assert [r.method for r in world.requests] == ["POST", "GET", "GET", "POST"]
    assert sleeps == [1.0]


def test_a_post_that_landed_is_not_sent_twice(client: GitHubClient, world: GitHubEmulator) -> None:
    """The answer was cut off after the comment was made: found on re-read, never duplicated."""
    world.inject(E2E_41 + "/comments", Fault("truncated"), method="POST")

    comment = client.create_comment(E2E_REPO, 41, "evidence")

    assert [c.body for c in world.state.issue(E2E_REPO, 41).comments] == ["evidence"]
    assert comment.id == world.state.issue(E2E_REPO, 41).comments[0].id
    assert len([r for r in world.requests if r.method == "POST"]) == 1


def test_a_post_that_keeps_failing_gives_up(
    make_client: Callable[..., GitHubClient], world: GitHubEmulator, sleeps: list[float]
) -> None:
    """max_retries=1: POST, reconcile, POST, then the 500 is the error."""
    client = make_client(max_retries=1)
    world.inject(E2E_41 + "/comments", *[Fault("status", status=500)] * 3, method="POST")

    with pytest.raises(GitHubError, match="HTTP 500"):
        client.create_comment(E2E_REPO, 41, "evidence")
    assert world.state.issue(E2E_REPO, 41).comments == []


# ---------------------------------------------------------------------------- errors


def test_a_read_only_token_gets_a_clear_permission_error(
    make_client: Callable[..., GitHubClient], world: GitHubEmulator
) -> None:
    """403: names the repository, the issue, the status and the missing permission; never the token."""
    client = make_client(world.read_only_token)

    with pytest.raises(GitHubError) as excinfo:
        client.close_issue(E2E_REPO, 41)

    message = str(excinfo.value)
    assert f"{E2E_REPO}#41 close" in message
    assert "HTTP 403" in message
    assert "Resource not accessible by integration" in message
    assert "issues=write" in message
    assert excinfo.value.hint == f"grant the token issues=write on {E2E_REPO}"
    assert excinfo.value.exit_code == ExitCode.INFRA
    assert_clean(excinfo.value, world.read_only_token, world.token)


@pytest.mark.parametrize(
    ("token", "call", "status", "words"),
    [
        ("bad", lambda c: c.issue(CLI_REPO, 1141), 401, "the token is missing, invalid or expired"),
        (None, lambda c: c.create_comment(E2E_REPO, 41, "x"), 401, "the token is missing"),
        ("", lambda c: c.issue(CLI_REPO, 4242), 404, f"not found: {CLI_REPO}"),
        ("", lambda c: c.list_comments("nobody/nothing", 1), 404, "not found: nobody/nothing"),
        ("", lambda c: c.update_comment(E2E_REPO, 999, "x"), 404, f"{E2E_REPO} comment 999"),
        ("", lambda c: c.compare_status(CLI_REPO, "nope", "main"), 404, f"{CLI_REPO} compare nope...main"),
    ],
)
def test_errors_name_repo_issue_and_status(  # noqa: PLR0917 - parametrized
    make_client: Callable[..., GitHubClient],
    world: GitHubEmulator,
    token: str | None,
    call: Callable[[GitHubClient], object],
    status: int,
    words: str,
) -> None:
    """401/404: exit 3, the status, what was asked; no token in any text."""
    client = make_client("ghp_" + "9" * 36 if token == "bad" else token)

    with pytest.raises(GitHubError) as excinfo:
        call(client)

    assert excinfo.value.status == status
    assert words in str(excinfo.value)
    assert excinfo.value.exit_code == ExitCode.INFRA
    assert_clean(excinfo.value, world.token, "ghp_" + "9" * 36)


def test_a_deleted_issue_says_so(client: GitHubClient, world: GitHubEmulator) -> None:
    """410: 'the issue was deleted'."""
    with world.lock:
        world.state.issue(CLI_REPO, 1182).deleted = True

    with pytest.raises(GitHubError, match="HTTP 410.*the issue was deleted") as excinfo:
        client.issue(CLI_REPO, 1182)
    assert excinfo.value.status == 410


def test_a_bad_repository_name_is_refused(client: GitHubClient, world: GitHubEmulator) -> None:
    """'owner/name' or nothing."""
    with pytest.raises(GitHubError, match="owner/name"):
        client.issue("no-slash", 1)
    assert world.count() == 0
