"""Idempotent evidence comments against the GitHub emulator (a real HTTP server, a real client)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from phase4gate.adapters.publish import ReadBackError
from phase4gate.checks.comments import CommentRenderError, WriteAction, render_marker
from phase4gate.errors import GitHubError, UsageError
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.github_api import GitHubEmulator
from tests.integration.comments.helpers import E2E, GATE, TRACKER, Recorder, make_publisher

SHA = "c" * 64


def body_for(issue: tuple[str, int], text: str = "evidence", sha: str = SHA) -> str:
    return f"## {text}\n\n{render_marker(GATE, f'{issue[0]}#{issue[1]}', sha)}\n"


def comments_path(issue: tuple[str, int]) -> str:
    return f"/api/v3/repos/{issue[0]}/issues/{issue[1]}/comments"


def ours(github: GitHubEmulator, issue: tuple[str, int]) -> list[str]:
    with github.lock:
        return [c.body for c in github.state.issue(*issue).comments if GATE in c.body and c.author == "gate-bot"]


def test_publish_creates_once_then_leaves_it(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    """First publish creates; the same body again sends nothing; one comment in the end."""
    pub = make_publisher(github, recorder, tmp_path)
    body = body_for(E2E)

    first = pub.publish(*E2E, body)
    second = pub.publish(*E2E, body)

    assert first.action is WriteAction.CREATE
    assert second.action is WriteAction.NONE
    assert second.comment_id == first.comment_id
    assert first.comment_url is not None
    assert f"issuecomment-{first.comment_id}" in first.comment_url
    assert ours(github, E2E) == [body]
    assert github.count("POST", comments_path(E2E)) == 1
    assert github.count("PATCH") == 0


def test_changed_body_updates_the_same_comment(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    pub = make_publisher(github, recorder, tmp_path)
    first = pub.publish(*E2E, body_for(E2E, "old"))
    second = pub.publish(*E2E, body_for(E2E, "new", sha="d" * 64))

    assert second.action is WriteAction.UPDATE
    assert second.comment_id == first.comment_id
    assert ours(github, E2E) == [body_for(E2E, "new", sha="d" * 64)]
    assert recorder.delays == [1.0]  # the update waited the write interval after the create


def test_our_comment_is_found_on_a_later_page(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    """With 150 other comments after ours (two pages and more), ours is found and not posted again."""
    body = body_for(E2E)
    with github.lock:
        issue = github.state.issue(*E2E)
        github.state.add_comment(issue, "gate-bot", body, at="2026-05-19T00:00:00Z")
        for i in range(150):
            github.state.add_comment(issue, f"user{i}", f"comment {i}", at="2026-05-20T00:00:00Z")
        issue.comments.reverse()  # ours is now the very last, on the last page
    pub = make_publisher(github, recorder, tmp_path)

    result = pub.publish(*E2E, body)

    assert result.action is WriteAction.NONE
    assert github.count("POST") == 0
    assert github.count("GET", comments_path(E2E)) >= 2


def test_marker_planted_by_another_user_is_left_alone(
    github: GitHubEmulator, recorder: Recorder, tmp_path: Path
) -> None:
    """A comment by someone else carrying our marker is neither ours nor touched."""
    planted = body_for(E2E, "copied")
    with github.lock:
        github.state.add_comment(github.state.issue(*E2E), "mallory", planted)
    said: list[str] = []
    pub = make_publisher(github, recorder, tmp_path, said=said)

    result = pub.publish(*E2E, body_for(E2E))

    assert result.action is WriteAction.CREATE
    assert len(result.foreign) == 1
    with github.lock:
        bodies = {c.author: c.body for c in github.state.issue(*E2E).comments}
    assert bodies["mallory"] == planted
    assert github.count("PATCH") == 0
    assert any("written by mallory; ignored" in s for s in said)


def test_duplicates_by_us_keep_the_oldest(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    """Two of ours (an earlier crash): the oldest is updated and kept, the other reported."""
    with github.lock:
        issue = github.state.issue(*E2E)
        old = github.state.add_comment(issue, "gate-bot", body_for(E2E, "a"), at="2026-05-20T10:00:00Z")
        dup = github.state.add_comment(issue, "gate-bot", body_for(E2E, "b"), at="2026-05-20T10:05:00Z")
    pub = make_publisher(github, recorder, tmp_path)

    result = pub.publish(*E2E, body_for(E2E, "c"))

    assert result.comment_id == old.id
    assert result.duplicates == (dup.id,)
    assert result.action is WriteAction.UPDATE
    assert github.count("POST") == 0
    with github.lock:
        assert dup.body == body_for(E2E, "b")
        assert old.body == body_for(E2E, "c")


def test_two_publishers_at_once_end_with_one_comment(github: GitHubEmulator, tmp_path: Path) -> None:
    """Two gates posting at the same moment: the file lock serialises find-then-create."""
    body = body_for(E2E)
    start = threading.Barrier(2, timeout=30)
    results: list[WriteAction] = []
    errors: list[BaseException] = []

    def post() -> None:
        pub = make_publisher(github, Recorder(), tmp_path)
        try:
            start.wait()
            results.append(pub.publish(*E2E, body).action)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    assert sorted(results) == [WriteAction.CREATE, WriteAction.NONE]
    assert ours(github, E2E) == [body]


def test_close_after_read_back_sends_only_state(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    """e2e#41 is closed as completed after the comment is read back; only state and state_reason are sent."""
    pub = make_publisher(github, recorder, tmp_path)
    body = body_for(E2E)
    result = pub.publish(*E2E, body)

    closed = pub.close_after_read_back(result, body)

    assert (closed.state, closed.sent) == ("closed", True)
    patches = [r for r in github.writes() if r.method == "PATCH"]
    assert len(patches) == 1
    assert patches[0].path.endswith("/issues/41")
    assert patches[0].body in {
        b'{"state": "closed", "state_reason": "completed"}',
        b'{"state":"closed","state_reason":"completed"}',
    }
    with github.lock:
        assert github.state.issue(*E2E).state_reason == "completed"
    assert recorder.delays == [1.0]


def test_already_closed_sends_nothing(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    pub = make_publisher(github, recorder, tmp_path)
    body = body_for(E2E)
    result = pub.publish(*E2E, body)
    pub.close_after_read_back(result, body)

    again = pub.close_after_read_back(pub.publish(*E2E, body), body)

    assert (again.state, again.sent) == ("closed", False)
    assert sum(1 for r in github.writes() if r.method == "PATCH") == 1


def test_read_back_refuses_a_changed_comment(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    """The close waits for the read-back; a comment changed meanwhile stops it, and nothing is closed."""
    pub = make_publisher(github, recorder, tmp_path)
    body = body_for(E2E)
    result = pub.publish(*E2E, body)
    with github.lock:
        next(c for c in github.state.issue(*E2E).comments if c.id == result.comment_id).body = body + "edited"

    with pytest.raises(ReadBackError, match="different body"):
        pub.close_after_read_back(result, body)
    with github.lock:
        assert github.state.issue(*E2E).state == "open"


def test_read_back_refuses_a_deleted_comment(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    pub = make_publisher(github, recorder, tmp_path)
    body = body_for(E2E)
    result = pub.publish(*E2E, body)
    with github.lock:
        github.state.issue(*E2E).comments.clear()

    with pytest.raises(ReadBackError, match="not read back"):
        pub.read_back(result, body)


def test_tracker_is_never_closed(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    """#1038 gets a comment; a close is refused before any request."""
    pub = make_publisher(github, recorder, tmp_path)
    body = body_for(TRACKER)
    result = pub.publish(*TRACKER, body)
    before = len(github.requests)

    with pytest.raises(UsageError, match="never-close"):
        pub.close_after_read_back(result, body)

    assert len(github.requests) == before
    assert pub.state(*TRACKER) == "open"


def test_dry_run_prints_and_sends_nothing(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    said: list[str] = []
    pub = make_publisher(github, recorder, tmp_path, dry_run=True, said=said)
    body = body_for(E2E)

    result = pub.publish(*E2E, body)
    pub.close_after_read_back(result, body)
    pub.state(*TRACKER)

    assert github.requests == []
    assert body in said
    assert any("would POST" in s for s in said)
    assert any("state=closed state_reason=completed" in s for s in said)


def test_publisher_without_client_must_be_dry(tmp_path: Path) -> None:
    from phase4gate.adapters.publish import Publisher

    with pytest.raises(UsageError, match="unless this is a dry run"):
        Publisher(None, gate_id=GATE, lock_dir=tmp_path)


def test_body_without_our_marker_is_refused(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    pub = make_publisher(github, recorder, tmp_path)
    with pytest.raises(CommentRenderError, match="marker"):
        pub.publish(*E2E, body_for(TRACKER))
    with pytest.raises(CommentRenderError, match="over GitHub's limit"):
        pub.publish(*E2E, "x" * 70_000 + body_for(E2E))
    assert github.requests == []


def test_read_only_token_names_the_permission_not_the_token(
    github: GitHubEmulator, recorder: Recorder, tmp_path: Path
) -> None:
    pub = make_publisher(github, recorder, tmp_path, token=github.read_only_token)
    with pytest.raises(GitHubError) as excinfo:
        pub.publish(*E2E, body_for(E2E))

    text = f"{excinfo.value} {excinfo.value.hint}"
    assert github.read_only_token not in text
    assert "403" in text or "permission" in text.lower() or "not accessible" in text.lower()
    assert ours(github, E2E) == []


@pytest.mark.parametrize(
    ("prefix", "method"),
    [
        (comments_path(E2E), "POST"),
        ("/api/v3/repos/Priivacy-ai/spec-kitty-end-to-end-testing/issues/41", "PATCH"),
    ],
)
@pytest.mark.parametrize("status", [500, 502, 403])
def test_fault_at_each_write_then_rerun_converges(
    github: GitHubEmulator, recorder: Recorder, tmp_path: Path, *, prefix: str, method: str, status: int
) -> None:
    """A fault at a write (retried away or not), then a re-run: one comment, e2e#41 closed once."""
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"} if status == 403 else {}
    github.inject(prefix, *[Fault("status", status=status, headers=headers)] * 3, method=method)
    body = body_for(E2E)

    for _attempt in range(2):
        pub = make_publisher(github, recorder, tmp_path)
        try:
            result = pub.publish(*E2E, body)
            pub.close_after_read_back(result, body)
        except GitHubError:
            continue

    assert ours(github, E2E) == [body]
    with github.lock:
        issue = github.state.issue(*E2E)
        assert issue.state == "closed"
        assert sum(1 for e in issue.events if e.event == "closed") == 1


def test_lock_held_by_another_gate_is_an_infra_error(
    github: GitHubEmulator, recorder: Recorder, tmp_path: Path
) -> None:
    """A lock that stays held past its bound: could not decide, nothing posted."""
    import filelock

    from phase4gate.adapters.publish import Publisher, _lock_name
    from tests.integration.comments.helpers import make_client

    held = filelock.FileLock(str(tmp_path / _lock_name(f"{E2E[0]}#{E2E[1]}")))
    pub = Publisher(
        make_client(github, recorder), gate_id=GATE, lock_dir=tmp_path, lock_timeout=0.05, say=lambda _s: None
    )
    with held, pytest.raises(GitHubError, match="held the comment lock"):
        pub.publish(*E2E, body_for(E2E))
    assert github.count("POST") == 0


def test_writes_are_spaced_across_publishers(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    """A second gate sharing the lock folder waits the interval after the first gate's write."""
    make_publisher(github, recorder, tmp_path, interval=2.5).publish(*E2E, body_for(E2E, "one"))
    assert recorder.delays == []

    make_publisher(github, recorder, tmp_path, interval=2.5).publish(*TRACKER, body_for(TRACKER))

    assert recorder.delays == [2.5]


@pytest.mark.parametrize(("stamp", "expected"), [("1e12", [1.0]), ("not a number", [])])
def test_a_stale_or_garbled_stamp_never_waits_longer(
    github: GitHubEmulator, recorder: Recorder, tmp_path: Path, stamp: str, expected: list[float]
) -> None:
    """A stamp from another clock waits at most one interval; a garbled one is ignored."""
    (tmp_path / ".publish-last-write").write_text(stamp, encoding="utf-8")
    make_publisher(github, recorder, tmp_path).publish(*E2E, body_for(E2E))

    assert recorder.delays == expected


def test_write_lock_held_elsewhere_is_an_infra_error(
    github: GitHubEmulator, recorder: Recorder, tmp_path: Path
) -> None:
    import filelock

    from phase4gate.adapters.publish import Publisher
    from tests.integration.comments.helpers import make_client

    pub = Publisher(
        make_client(github, recorder), gate_id=GATE, lock_dir=tmp_path, lock_timeout=0.05, say=lambda _s: None
    )
    with filelock.FileLock(str(tmp_path / ".publish-writes.lock")), pytest.raises(GitHubError, match="write lock"):
        pub.publish(*E2E, body_for(E2E))
    assert github.count("POST") == 0


def test_fault_on_update_then_rerun_updates_once(github: GitHubEmulator, recorder: Recorder, tmp_path: Path) -> None:
    """502s on the comment PATCH: the run fails; the re-run updates the same comment, no second one."""
    with github.lock:
        old = github.state.add_comment(github.state.issue(*E2E), "gate-bot", body_for(E2E, "old"))
    github.inject("/api/v3/repos/", *[Fault("status", status=502)] * 3, method="PATCH")
    new = body_for(E2E, "new")

    with pytest.raises(GitHubError):
        make_publisher(github, recorder, tmp_path).publish(*E2E, new)
    result = make_publisher(github, recorder, tmp_path).publish(*E2E, new)

    assert result.comment_id == old.id
    assert ours(github, E2E) == [new]


def test_connection_reset_on_post_does_not_duplicate(
    github: GitHubEmulator, recorder: Recorder, tmp_path: Path
) -> None:
    """A reset POST is checked for having landed before it is sent again: one comment."""
    github.inject(comments_path(E2E), Fault("reset"), method="POST")
    body = body_for(E2E)

    result = make_publisher(github, recorder, tmp_path).publish(*E2E, body)

    assert result.action is WriteAction.CREATE
    assert ours(github, E2E) == [body]
