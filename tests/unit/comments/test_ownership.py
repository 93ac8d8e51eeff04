"""Which existing comment is ours, and what to send: pure decisions."""

from __future__ import annotations

from phase4gate.checks.comments import (
    WriteAction,
    decide_write,
    parse_marker,
    render_marker,
    select_own_comments,
)
from phase4gate.models import Comment

GATE = "phase4-canary-gate-01KS1W46"
ISSUE = "o/e2e#41"
SHA = "b" * 64


def _c(cid: int, author: str | None, body: str, created: str = "2026-05-20T10:00:00Z") -> Comment:
    return Comment(id=cid, author=author, body=body, created_at=created)


def _ours(text: str = "evidence", issue: str = ISSUE, gate: str = GATE) -> str:
    return f"{text}\n\n{render_marker(gate, issue, SHA)}\n"


def test_marker_round_trips() -> None:
    marker = parse_marker(_ours())
    assert marker is not None
    assert (marker.gate_id, marker.issue, marker.bundle_sha256) == (GATE, ISSUE, SHA)


def test_no_marker_is_none() -> None:
    assert parse_marker("just a comment <!-- phase4gate:comment gate=x -->") is None


def test_only_the_tokens_user_counts() -> None:
    """A marker copied by someone else is foreign and never ours."""
    comments = [_c(1, "mallory", _ours()), _c(2, "gate-bot", _ours())]
    own = select_own_comments(comments, login="gate-bot", gate_id=GATE, issue=ISSUE)

    assert own.keep is not None
    assert own.keep.id == 2
    assert [c.id for c in own.foreign] == [1]
    assert own.duplicates == ()


def test_login_comparison_ignores_case() -> None:
    own = select_own_comments([_c(5, "Gate-Bot", _ours())], login="gate-bot", gate_id=GATE, issue=ISSUE)
    assert own.keep is not None


def test_other_gate_or_issue_is_not_ours() -> None:
    comments = [
        _c(1, "gate-bot", _ours(gate="other-gate")),
        _c(2, "gate-bot", _ours(issue="o/cli#1038")),
        _c(3, "gate-bot", "no marker at all"),
        _c(4, None, _ours()),
    ]
    own = select_own_comments(comments, login="gate-bot", gate_id=GATE, issue=ISSUE)

    assert own.keep is None
    assert [c.id for c in own.foreign] == [4]


def test_duplicates_keep_the_oldest() -> None:
    """Of several of ours, the oldest is kept and the rest are reported."""
    comments = [
        _c(30, "gate-bot", _ours("c"), "2026-05-20T10:02:00Z"),
        _c(10, "gate-bot", _ours("a"), "2026-05-20T10:00:00Z"),
        _c(20, "gate-bot", _ours("b"), "2026-05-20T10:00:00Z"),
    ]
    own = select_own_comments(comments, login="gate-bot", gate_id=GATE, issue=ISSUE)

    assert own.keep is not None
    assert own.keep.id == 10
    assert [c.id for c in own.duplicates] == [20, 30]


def test_decide_write() -> None:
    """Create when none is ours, update when ours differs, nothing when it is the same."""
    body = _ours()
    none = select_own_comments([], login="gate-bot", gate_id=GATE, issue=ISSUE)
    same = select_own_comments([_c(1, "gate-bot", body)], login="gate-bot", gate_id=GATE, issue=ISSUE)
    stale = select_own_comments([_c(1, "gate-bot", _ours("old"))], login="gate-bot", gate_id=GATE, issue=ISSUE)

    assert decide_write(none, body) is WriteAction.CREATE
    assert decide_write(same, body) is WriteAction.NONE
    assert decide_write(stale, body) is WriteAction.UPDATE
