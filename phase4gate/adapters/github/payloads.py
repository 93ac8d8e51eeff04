"""GitHub JSON -> the gate's models (pure translators; unknown and missing keys tolerated)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phase4gate.models import Closer, Comment, IssueSnapshot

__all__ = ["comment_from_json", "snapshot_from_json"]


def comment_from_json(data: Mapping[str, Any]) -> Comment:
    """Return the :class:`Comment` in an ``issue-comment`` object."""
    user = data.get("user")
    return Comment(
        id=int(data["id"]),
        author=user.get("login") if isinstance(user, Mapping) else None,
        body=str(data.get("body") or ""),
        created_at=str(data.get("created_at") or ""),
        updated_at=data.get("updated_at"),
        url=data.get("html_url"),
    )


def snapshot_from_json(
    repo: str, number: int, data: Mapping[str, Any], closers: tuple[Closer, ...] = ()
) -> IssueSnapshot:
    """Return the :class:`IssueSnapshot` of *repo*#*number* in an ``issue`` object, with *closers*."""
    closed_by = data.get("closed_by")
    return IssueSnapshot(
        repo=repo,
        number=number,
        state=str(data.get("state")),
        title=str(data.get("title") or ""),
        state_reason=data.get("state_reason"),
        closed_at=data.get("closed_at"),
        closed_by=closed_by.get("login") if isinstance(closed_by, Mapping) else None,
        closers=closers,
        url=data.get("html_url"),
    )
