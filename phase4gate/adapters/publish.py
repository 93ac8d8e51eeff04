"""WP06/WP08: idempotent evidence comments over the GitHub adapter.

One comment per issue, found again by its hidden marker (gate id and issue) on
every page, and only among comments written by the token's own user: a marker
copied by someone else is left alone.  The find-then-create is serialised by a
file lock per issue, so two gates posting at once end with one comment; our
older duplicates (an earlier crash) are kept apart and reported, the oldest
kept.  An unchanged body sends nothing.  Writes go one at a time under a
second file lock shared by every gate using the same lock folder, each
``comments.min_write_interval_seconds`` after the last one (whoever sent it),
waited through an injected ``sleep``.

Closing happens only after the comment was read back from the server, and only
when the issue is open (already closed: nothing is sent).  An issue named in
``never_close`` is never closed.  In a dry run every body and every call is
printed and no request is made.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, TypeVar

import filelock
from attrs import frozen

from phase4gate.checks.comments import (
    GITHUB_BODY_LIMIT,
    CommentRenderError,
    OwnComments,
    WriteAction,
    decide_write,
    parse_marker,
    select_own_comments,
)
from phase4gate.errors import AdapterError, GitHubError, UsageError

if TYPE_CHECKING:
    from phase4gate.models import Comment, IssueSnapshot

__all__ = [
    "CloseResult",
    "IssueClient",
    "PublishResult",
    "Publisher",
    "ReadBackError",
]

_LOCK_TIMEOUT: Final = 120.0
_WRITE_LOCK_NAME: Final = ".publish-writes.lock"
_LAST_WRITE_NAME: Final = ".publish-last-write"
_T = TypeVar("_T")


class IssueClient(Protocol):
    """The part of ``adapters.github.GitHubClient`` the publisher uses."""

    def login(self) -> str:
        """Return the token's user."""
        ...

    def issue(self, repo: str, number: int) -> IssueSnapshot:
        """Read an issue."""
        ...

    def list_comments(self, repo: str, number: int) -> tuple[Comment, ...]:
        """Read every comment of an issue (all pages)."""
        ...

    def create_comment(self, repo: str, number: int, body: str) -> Comment:
        """Post a comment."""
        ...

    def update_comment(self, repo: str, comment_id: int, body: str) -> Comment:
        """Replace a comment's body."""
        ...

    def close_issue(self, repo: str, number: int, reason: str = "completed") -> IssueSnapshot:
        """Close an issue with a state reason."""
        ...


class ReadBackError(AdapterError):
    """What GitHub answers does not match what was written (comment missing, changed, issue not closed)."""


@frozen
class PublishResult:
    """What publishing one comment did."""

    repo: str
    number: int
    action: WriteAction
    comment_id: int | None
    comment_url: str | None
    duplicates: tuple[int, ...] = ()
    foreign: tuple[int, ...] = ()
    dry_run: bool = False

    @property
    def issue(self) -> str:
        """``owner/repo#N``."""
        return f"{self.repo}#{self.number}"


@frozen
class CloseResult:
    """What closing an issue did: its state after, and whether a close was sent."""

    repo: str
    number: int
    state: str
    sent: bool
    dry_run: bool = False


def _lock_name(issue: str) -> str:
    return f".publish-{hashlib.sha256(issue.lower().encode()).hexdigest()[:16]}.lock"


class Publisher:
    """Post, update, read back and close evidence comments, at most one per issue."""

    def __init__(  # noqa: PLR0913 - the knobs of one publishing session
        self,
        client: IssueClient | None,
        *,
        gate_id: str,
        lock_dir: Path,
        min_write_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        dry_run: bool = False,
        say: Callable[[str], None] = print,
        never_close: Iterable[tuple[str, int]] = (),
        lock_timeout: float = _LOCK_TIMEOUT,
    ) -> None:
        if client is None and not dry_run:
            msg = "a GitHub client is needed unless this is a dry run"
            raise UsageError(msg)
        self._client = client
        self.gate_id = gate_id
        self._lock_dir = lock_dir
        self._interval = min_write_interval
        self._sleep = sleep
        self._clock = clock
        self.dry_run = dry_run
        self._say = say
        self._never_close = {(r.lower(), n) for r, n in never_close}
        self._lock_timeout = lock_timeout
        self._last_write: float | None = None
        self._login: str | None = None

    # ----------------------------------------------------------------- helpers

    @property
    def client(self) -> IssueClient:
        """The client (never used in a dry run)."""
        if self._client is None or self.dry_run:  # pragma: no cover - guarded by every caller
            msg = "dry run: no GitHub request is made"
            raise UsageError(msg)
        return self._client

    def login(self) -> str:
        """Return the token's user, asked once."""
        if self._login is None:
            self._login = self.client.login()
        return self._login

    def _shared_last_write(self) -> float | None:
        try:
            text = (self._lock_dir / _LAST_WRITE_NAME).read_text(encoding="utf-8")
            shared: float | None = float(text)
        except (OSError, ValueError):
            shared = None
        known = [t for t in (self._last_write, shared) if t is not None]
        return max(known) if known else None

    def _write(self, what: str, send: Callable[[], _T]) -> _T:
        """Send one write: one at a time across gates sharing *lock_dir*, an interval after the last one.

        Raises:
            GitHubError: another gate held the write lock past its bound (or the write failed).
        """
        self._lock_dir.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self._lock_dir / _WRITE_LOCK_NAME), timeout=self._lock_timeout)
        try:
            with lock:
                last = self._shared_last_write()
                if last is not None and self._interval > 0:
                    # Capped: a stale stamp (another boot's clock) never means a longer wait.
                    wait = min(self._interval, self._interval - (self._clock() - last))
                    if wait > 0:
                        self._sleep(wait)
                try:
                    return send()
                finally:
                    self._last_write = self._clock()
                    with contextlib.suppress(OSError):
                        (self._lock_dir / _LAST_WRITE_NAME).write_text(repr(self._last_write), encoding="utf-8")
        except filelock.Timeout:
            msg = f"{what}: another gate held the GitHub write lock for {self._lock_timeout:.0f}s"
            raise GitHubError(msg, hint=f"wait for it to finish, then re-run; lock folder {self._lock_dir}") from None

    def _own(self, repo: str, number: int) -> OwnComments:
        comments = self.client.list_comments(repo, number)
        return select_own_comments(comments, login=self.login(), gate_id=self.gate_id, issue=f"{repo}#{number}")

    def _lock(self, issue: str) -> filelock.FileLock:
        self._lock_dir.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(str(self._lock_dir / _lock_name(issue)), timeout=self._lock_timeout)

    @staticmethod
    def _check_body(repo: str, number: int, body: str, gate_id: str) -> None:
        template = f"{repo}#{number}"
        if len(body) > GITHUB_BODY_LIMIT:
            raise CommentRenderError(
                template,
                [
                    (
                        "body",
                        f"{len(body)} characters, over GitHub's limit of {GITHUB_BODY_LIMIT}; refused before sending",
                    )
                ],
            )
        marker = parse_marker(body)
        if marker is None or marker.gate_id != gate_id or marker.issue != template:
            raise CommentRenderError(
                template,
                [("marker", f"the body must end with this gate's marker for {template}; refusing to post it")],
            )

    # ----------------------------------------------------------------- publishing

    def publish(self, repo: str, number: int, body: str) -> PublishResult:
        """Make our one comment on *repo*#*number* say *body*: create it, update it, or leave it.

        Raises:
            CommentRenderError: the body is too long or lacks this gate's marker for the issue.
            GitHubError: GitHub refused or did not answer (nothing half-done is repeated on re-run).
        """
        self._check_body(repo, number, body, self.gate_id)
        issue = f"{repo}#{number}"
        if self.dry_run:
            self._say(f"dry run: would GET /repos/{repo}/issues/{number}/comments (every page) to find our marker")
            self._say(f"dry run: would POST a comment on {issue} if none is ours, or PATCH ours if its body differs:")
            self._say(body)
            return PublishResult(repo, number, WriteAction.NONE, None, None, dry_run=True)
        try:
            with self._lock(issue):
                own = self._own(repo, number)
                action = decide_write(own, body)
                if action is WriteAction.CREATE:
                    comment = self._create(repo, number, body)
                elif action is WriteAction.UPDATE:
                    assert own.keep is not None  # noqa: S101 - decide_write says so
                    keep = own.keep
                    comment = self._write(f"{issue} update", lambda: self.client.update_comment(repo, keep.id, body))
                    self._say(f"updated comment {comment.id} on {issue}")
                else:
                    assert own.keep is not None  # noqa: S101 - decide_write says so
                    comment = own.keep
                    self._say(f"comment {comment.id} on {issue} already says this; nothing sent")
        except filelock.Timeout:
            msg = f"another gate held the comment lock for {issue} for {self._lock_timeout:.0f}s"
            raise GitHubError(msg, hint=f"wait for it to finish, then re-run; lock folder {self._lock_dir}") from None
        for dup in own.duplicates:
            self._say(f"duplicate comment {dup.id} by us on {issue} left in place (the oldest, {comment.id}, is kept)")
        for other in own.foreign:
            self._say(f"comment {other.id} on {issue} carries our marker but was written by {other.author}; ignored")
        return PublishResult(
            repo,
            number,
            action,
            comment.id,
            comment.url,
            duplicates=tuple(c.id for c in own.duplicates),
            foreign=tuple(c.id for c in own.foreign),
        )

    def _create(self, repo: str, number: int, body: str) -> Comment:
        try:
            comment = self._write(
                f"{repo}#{number} new comment", lambda: self.client.create_comment(repo, number, body)
            )
        except GitHubError:
            # The POST may have landed before the error: look once more rather than post twice.
            own = self._own(repo, number)
            if own.keep is not None and own.keep.body == body:
                self._say(f"the comment on {repo}#{number} was posted despite the error: {own.keep.id}")
                return own.keep
            raise
        self._say(f"posted comment {comment.id} on {repo}#{number}")
        return comment

    def read_back(self, result: PublishResult, body: str) -> Comment | None:
        """Read *result*'s comment back from GitHub and check it is ours and says *body*.

        Raises:
            ReadBackError: the comment is missing, not ours, or says something else.
        """
        if result.dry_run:
            self._say(f"dry run: would read the comment on {result.issue} back and compare its body")
            return None
        own = self._own(result.repo, result.number)
        if own.keep is None or own.keep.id != result.comment_id:
            seen = own.keep.id if own.keep else "none"
            msg = f"{result.issue}: comment {result.comment_id} not read back as ours (found {seen})"
            raise ReadBackError(msg)
        if own.keep.body != body:
            msg = f"{result.issue}: comment {result.comment_id} read back with a different body"
            raise ReadBackError(msg)
        return own.keep

    # ----------------------------------------------------------------- issue state

    def close_after_read_back(self, result: PublishResult, body: str) -> CloseResult:
        """Close *result*'s issue (state_reason completed) once its comment is read back; closed: nothing sent.

        Raises:
            UsageError: the issue is configured never-close.
            ReadBackError: the comment was not read back, or the issue is not closed afterwards.
        """
        repo, number = result.repo, result.number
        if (repo.lower(), number) in self._never_close:
            msg = f"{result.issue} is configured never-close; refusing to close it"
            raise UsageError(msg)
        self.read_back(result, body)
        if result.dry_run:
            self._say(f"dry run: would GET {result.issue} and, if open, PATCH state=closed state_reason=completed")
            return CloseResult(repo, number, "unknown", sent=False, dry_run=True)
        before = self.client.issue(repo, number)
        if before.state == "closed":
            self._say(f"{result.issue} is already closed; nothing sent")
            return CloseResult(repo, number, "closed", sent=False)
        # The PATCH answer is the issue as GitHub now has it: no second read needed.
        after = self._write(f"{result.issue} close", lambda: self.client.close_issue(repo, number, "completed"))
        if after.state != "closed":
            msg = f"{result.issue} is {after.state!r} after closing it"
            raise ReadBackError(msg)
        self._say(f"closed {result.issue} as completed")
        return CloseResult(repo, number, after.state, sent=True)

    def state(self, repo: str, number: int) -> str | None:
        """Return the issue's state as read now (``None`` in a dry run)."""
        if self.dry_run:
            self._say(f"dry run: would GET {repo}#{number} and check it is still open")
            return None
        return self.client.issue(repo, number).state
