"""GitHub through github3.py: read issues and their closers, comment, close and re-open.

This is the only module that imports github3.  github3.py 4.0.1 has gaps this
module closes, by sending requests through github3's own session and reading the
JSON itself where needed:

* ``Issue.edit()``/``close()`` cannot send ``state_reason`` and re-send title,
  body, assignees and labels (undoing a concurrent edit): we PATCH only
  ``{"state", "state_reason"}``;
* an issue event whose ``actor`` is null (a deleted account) raises TypeError and
  aborts the whole listing, and there is no timeline method: we read the timeline
  JSON ourselves;
* nothing is retried and rate-limit headers are never read: :class:`session.RetryingSession`
  retries 5xx (idempotent methods only) and rate limits (Retry-After, else
  ``x-ratelimit-reset``, else at least 60 s) within a total deadline, as the project's
  one :class:`phase4gate.retry.RetryPolicy` decides; every delay goes through the
  injected ``sleep``;
* a 304 ends a github3 listing silently empty: the session keeps each GET's ETag
  and body and turns a 304 back into the cached 200;
* ``GitHubEnterprise(url)`` appends ``/api/v3`` to whatever it is given: we use
  ``GitHub`` and set the session's base URL to the API URL as configured.

The package: ``session`` (the retrying github3 session), ``payloads`` (JSON -> models) and
this module, the client.  Which closer of an issue counts is a WP01 rule and lives in
:func:`phase4gate.checks.blockers.closers_from_timeline` (re-exported here).

The token never appears in a message, log or exception: errors are built from the
repository, the issue, the HTTP status and GitHub's message, then redacted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import github3
from github3 import exceptions as gh_exc
from github3.issues.comment import IssueComment
from github3.structs import GitHubIterator

from phase4gate.adapters.github.payloads import comment_from_json, snapshot_from_json
from phase4gate.adapters.github.session import RetryingSession, url_path
from phase4gate.checks.blockers import closers_from_timeline, repo_from_url
from phase4gate.errors import GitHubError, redact
from phase4gate.models import Comment, IssueSnapshot
from phase4gate.retry import (
    DEFAULT_RETRY_STATUSES,
    IDEMPOTENT_METHODS,
    RATE_LIMIT_FLOOR_SECONDS,
    RetryPolicy,
    is_rate_limited,
)

if TYPE_CHECKING:
    from phase4gate.config import GateConfig

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "IDEMPOTENT_METHODS",
    "MAX_COMMENT_CHARS",
    "RATE_LIMIT_FLOOR_SECONDS",
    "GitHubClient",
    "RetryPolicy",
    "closers_from_timeline",
    "is_rate_limited",
]

LOG = logging.getLogger("phase4gate.github")

MAX_COMMENT_CHARS: Final = 65536
STATE_REASONS: Final = frozenset({"completed", "not_planned", "duplicate"})
_MAX_PAGES: Final = 50
_MAX_TAG_DEPTH: Final = 5


class GitHubClient:
    """The gate's GitHub: github3.py pointed at *api_url* (``https://api.github.com`` or ``<host>/api/v3``).

    *epoch* (wall-clock seconds) is only used to turn ``x-ratelimit-reset`` into a delay.
    """

    def __init__(  # noqa: PLR0913 - the contract in docs/ARCHITECTURE.md
        self,
        api_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        deadline: float = 600.0,
        max_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        never_close: Iterable[tuple[str, int]] = (),
        epoch: Callable[[], float] = time.time,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token or None
        self.sleep = sleep
        # *policy* wins; *max_retries* and *deadline* build one for callers that pass numbers.
        self.policy = policy if policy is not None else RetryPolicy(max_retries=max_retries, deadline=deadline)
        self._session = RetryingSession(self.policy, timeout=timeout, sleep=sleep, clock=clock, epoch=epoch)
        self._gh = github3.GitHub(token=self._token or "", session=self._session)
        # Not GitHubEnterprise: it appends /api/v3 to whatever it is given.
        self._session.base_url = self.api_url
        self._never = frozenset((r.lower(), int(n)) for r, n in never_close)

    def __repr__(self) -> str:
        return f"GitHubClient({self.api_url!r}, token={'***' if self._token else None})"

    @property
    def token(self) -> str | None:
        """The token (never print it)."""
        return self._token

    @classmethod
    def from_config(
        cls,
        config: GateConfig,
        token: str | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        epoch: Callable[[], float] = time.time,
    ) -> GitHubClient:
        """Build a client from the ``[github]`` section; the tracker (``never_close``) is protected."""
        gh = config.github
        targets = (
            (config.comments.e2e, config.github.e2e_repo),
            (config.comments.tracker, config.github.cli_repo),
        )
        protected = [(config.repo_for(t, default), t.number) for t, default in targets if t.never_close]
        return cls(
            gh.api_url,
            token,
            timeout=gh.timeout_seconds,
            policy=RetryPolicy(max_retries=gh.max_retries, deadline=gh.deadline_seconds),
            never_close=protected,
            sleep=sleep,
            clock=clock,
            epoch=epoch,
        )

    # ------------------------------------------------------------------ plumbing

    def requests_made(self) -> int:
        """Return how many HTTP requests this client sent (retries and redirects included)."""
        return int(self._session.attempts)

    @property
    def delays(self) -> tuple[float, ...]:
        """Every retry delay requested through ``sleep``, in order."""
        return tuple(self._session.delays)

    def _url(self, repo: str, *parts: str | int) -> str:
        owner, name = _split(repo)
        return "/".join([self.api_url, "repos", quote(owner), quote(name), *(quote(str(p), safe="") for p in parts)])

    def _error(
        self, context: str, status: int | None, message: str, headers: Mapping[str, str], url: str
    ) -> GitHubError:
        repo = context.split("#", 1)[0].split(" ", 1)[0]
        perm = {k.lower(): v for k, v in headers.items()}.get("x-accepted-github-permissions")
        hint: str | None = None
        if status == 401:
            text = "the token is missing, invalid or expired"
            hint = "export a valid token in the environment variable named by github.token_env"
        elif status == 403:
            need = perm or "the needed permission"
            text = f"the token lacks {need} on {repo}"
            hint = f"grant the token {need} on {repo}"
        elif status == 404:
            text = f"not found: {repo} or the issue does not exist, or the token cannot read it (needs metadata=read)"
        elif status == 410:
            text = "the issue was deleted"
        else:
            text = "GitHub refused the request"
        msg = f"{context}: HTTP {status} {message!r}: {text}" if status else f"{context}: {message}"
        return GitHubError(redact(msg, self.token), url=url, status=status, hint=hint)

    def _call(self, context: str, method: str, url: str, *, payload: object = None, expect: int = 200) -> Any:  # noqa: ANN401 - JSON
        """Send one request through github3's session and return the decoded JSON.

        Raises:
            GitHubError: an error status, an unreadable body, or retries exhausted.
        """
        self._session.context = context
        kwargs: dict[str, Any] = {}
        if payload is not None:
            kwargs["data"] = json.dumps(payload)
        response = self._session.request(method, url, **kwargs)
        if response.status_code != expect:
            try:
                message = str(response.json().get("message", ""))
            except (ValueError, AttributeError):
                message = response.text[:200]
            raise self._error(context, response.status_code, message, response.headers, url)
        try:
            return response.json()
        except ValueError:
            raise GitHubError(
                f"{context}: {method} {url_path(url)} answered {response.status_code} with a body that is not JSON",
                url=url,
                status=response.status_code,
            ) from None

    def _github3(self, context: str, fn: Callable[[], Any], url: str) -> Any:  # noqa: ANN401 - github3 objects
        """Run a github3 call, translating its exceptions.

        Raises:
            GitHubError: github3 raised (an error status, a transport failure, an unexpected body).
        """
        self._session.context = context
        try:
            return fn()
        except gh_exc.GitHubError as exc:
            headers = exc.response.headers if exc.response is not None else {}
            raise self._error(context, exc.code, str(exc.msg or ""), headers, url) from None
        except (gh_exc.TransportError, gh_exc.UnexpectedResponse, gh_exc.IncompleteResponse) as exc:
            raise GitHubError(f"{context}: {type(exc).__name__}: {exc}", url=url) from None

    def _pages(self, context: str, url: str) -> Iterator[Mapping[str, Any]]:
        """Yield every item of a paginated listing (Link ``next``), at most ``_MAX_PAGES`` pages.

        Raises:
            GitHubError: a page failed, or the listing has more pages than the bound.
        """
        next_url: str | None = url + ("&" if "?" in url else "?") + "per_page=100"
        pages = 0
        while next_url:
            pages += 1
            if pages > _MAX_PAGES:
                raise GitHubError(f"{context}: {url_path(url)} has more than {_MAX_PAGES} pages", url=url)
            self._session.context = context
            response = self._session.request("GET", next_url)
            if response.status_code != 200:
                try:
                    message = str(response.json().get("message", ""))
                except (ValueError, AttributeError):
                    message = ""
                raise self._error(context, response.status_code, message, response.headers, next_url)
            try:
                items = response.json()
            except ValueError:
                raise GitHubError(
                    f"{context}: {url_path(next_url)} answered a body that is not JSON", url=url
                ) from None
            if not isinstance(items, list):
                raise GitHubError(f"{context}: {url_path(next_url)} answered {type(items).__name__}, expected a list")
            yield from (i for i in items if isinstance(i, Mapping))
            next_url = response.links.get("next", {}).get("url")

    # ------------------------------------------------------------------ reads

    def login(self) -> str:
        """Return the login of the token's user.

        Raises:
            GitHubError: no token, or GitHub refused it.
        """
        if not self.token:
            raise GitHubError(
                "GitHub: no token; every write needs one",
                hint="export a token in the environment variable named by github.token_env",
            )
        me = self._github3("GitHub /user", self._gh.me, f"{self.api_url}/user")
        return str(me.login)

    def issue(self, repo: str, number: int) -> IssueSnapshot:
        """Return *repo*#*number*'s state, state_reason and, when closed, every candidate closer.

        An open issue costs one request; a closed one adds its timeline pages and one
        request per cross-referenced pull request.

        Raises:
            GitHubError: the issue cannot be read (missing, deleted, no access, GitHub down).
        """
        context = f"{repo}#{number}"
        owner, name = _split(repo)
        url = self._url(repo, "issues", number)
        issue = self._github3(context, lambda: self._gh.issue(owner, name, number), url)
        data: Mapping[str, Any] = issue.as_dict()
        if data.get("state") != "closed":
            return snapshot_from_json(repo, number, data)
        timeline_url = data.get("timeline_url") or f"{data.get('url', url)}/timeline"
        timeline = list(self._pages(f"{context} timeline", timeline_url))
        pulls: dict[str, Mapping[str, Any]] = {}
        for entry in timeline:
            source = entry.get("source") if entry.get("event") == "cross-referenced" else None
            src_issue = source.get("issue") if isinstance(source, Mapping) else None
            pr = src_issue.get("pull_request") if isinstance(src_issue, Mapping) else None
            pr_url = pr.get("url") if isinstance(pr, Mapping) else None
            if isinstance(pr_url, str) and pr_url not in pulls:
                pulls[pr_url] = self._call(f"{context} via {repo_from_url(pr_url, repo)} PR", "GET", pr_url)
        return snapshot_from_json(
            repo, number, data, closers_from_timeline(repo_from_url(str(data.get("url")), repo), timeline, pulls)
        )

    def list_comments(self, repo: str, number: int) -> tuple[Comment, ...]:
        """Return every comment of *repo*#*number*, all pages (github3's iterator, Link headers).

        Raises:
            GitHubError: the comments cannot be read.
        """
        context = f"{repo}#{number} comments"
        url = self._url(repo, "issues", number, "comments")

        def read() -> list[Any]:
            it = GitHubIterator(-1, url, IssueComment, self._gh)
            out = []
            for page, c in enumerate(it):
                if page > _MAX_PAGES * 100:
                    break
                out.append(c)
            return out

        raw = self._github3(context, read, url)
        return tuple(comment_from_json(c.as_dict()) for c in raw)

    def compare_status(self, repo: str, base: str, head: str) -> str:
        """Return GitHub's compare status of *head* against *base*: ahead, behind, identical or diverged.

        ``ahead`` or ``identical`` means *base* is an ancestor of (or is) *head*.

        Raises:
            GitHubError: either ref is unknown, or GitHub cannot be read.
        """
        url = self._url(repo, "compare", f"{base}...{head}")
        data = self._call(f"{repo} compare {base}...{head}", "GET", url)
        status = data.get("status") if isinstance(data, Mapping) else None
        if status not in {"ahead", "behind", "identical", "diverged"}:
            raise GitHubError(f"{repo} compare {base}...{head}: unexpected status {status!r}", url=url)
        return str(status)

    def tag_sha(self, repo: str, tag: str) -> str:
        """Return the commit sha tag *tag* points at (annotated tags are peeled).

        Raises:
            GitHubError: no such tag, or GitHub cannot be read.
        """
        context = f"{repo} tag {tag}"
        owner, name = _split(repo)
        url = f"{self.api_url}/repos/{quote(owner)}/{quote(name)}/git/ref/tags/{quote(tag)}"
        obj = self._call(context, "GET", url).get("object", {})
        for _ in range(_MAX_TAG_DEPTH):
            if obj.get("type") == "commit":
                return str(obj["sha"])
            if obj.get("type") != "tag":
                break
            obj = self._call(context, "GET", self._url(repo, "git", "tags", obj["sha"])).get("object", {})
        raise GitHubError(f"{context}: does not point at a commit (object {obj.get('type')!r})", url=url)

    # ------------------------------------------------------------------ writes

    def create_comment(self, repo: str, number: int, body: str) -> Comment:
        """Post *body* on *repo*#*number* and return the comment.

        A POST is not retried blindly: after a 5xx or a dropped connection the
        comments are re-read, and an identical comment by this token's user is
        taken as the one that landed.

        Raises:
            GitHubError: the body is too long, the token may not write, or GitHub kept failing.
        """
        context = f"{repo}#{number} new comment"
        if len(body) > MAX_COMMENT_CHARS:
            raise GitHubError(
                f"{context}: the body is {len(body)} characters; GitHub accepts at most {MAX_COMMENT_CHARS}",
                hint="shorten the comment or attach the evidence instead",
            )
        url = self._url(repo, "issues", number, "comments")
        me: str | None = None
        for attempt in range(1, self.policy.max_retries + 2):
            try:
                return comment_from_json(self._call(context, "POST", url, payload={"body": body}, expect=201))
            except GitHubError as exc:
                if exc.status is not None and exc.status < 500:
                    raise
                if attempt > self.policy.max_retries:
                    raise
                LOG.info("%s: POST failed (%s); checking whether it landed", context, exc.status or "connection")
            me = me or self.login()
            landed = [c for c in self.list_comments(repo, number) if c.author == me and c.body == body]
            if landed:
                return landed[-1]
            self._session.pause(self.policy.backoff(attempt))
        raise GitHubError(f"{context}: not posted")  # pragma: no cover - the loop returns or raises

    def update_comment(self, repo: str, comment_id: int, body: str) -> Comment:
        """Replace the body of comment *comment_id* in *repo*.

        Raises:
            GitHubError: the body is too long, the comment is missing, or the token may not write.
        """
        context = f"{repo} comment {comment_id}"
        if len(body) > MAX_COMMENT_CHARS:
            raise GitHubError(
                f"{context}: the body is {len(body)} characters; GitHub accepts at most {MAX_COMMENT_CHARS}"
            )
        url = self._url(repo, "issues", "comments", comment_id)
        return comment_from_json(self._call(context, "PATCH", url, payload={"body": body}))

    def _read_issue(self, context: str, repo: str, number: int) -> Mapping[str, Any]:
        data = self._call(context, "GET", self._url(repo, "issues", number))
        if not isinstance(data, Mapping):
            raise GitHubError(f"{context}: the issue is not a JSON object")
        return data

    def close_issue(self, repo: str, number: int, reason: str = "completed") -> IssueSnapshot:
        """Close *repo*#*number* with *reason* (completed, not_planned, duplicate); already closed is a no-op.

        An issue already closed is not written to (its snapshot keeps its own
        ``state_reason``; GitHub would ignore a new reason without a state change).

        Only ``{"state", "state_reason"}`` is sent.  An issue listed in ``never_close``
        is refused before any request.  The snapshot has no closers.

        Raises:
            GitHubError: the issue is protected, the reason unknown, or the write failed.
        """
        context = f"{repo}#{number} close"
        if (repo.lower(), number) in self._never:
            raise GitHubError(
                f"{context}: refused: {repo}#{number} is configured never to be closed (never_close)",
                hint="the release tracker only gets a comment; close it by hand when the release ships",
            )
        if reason not in STATE_REASONS:
            raise GitHubError(f"{context}: state_reason must be one of {sorted(STATE_REASONS)}, got {reason!r}")
        data = self._read_issue(context, repo, number)
        if data.get("state") == "closed":
            # GitHub ignores a state_reason without a state change: an already closed
            # issue keeps its reason, and the snapshot shows which one it has.
            return snapshot_from_json(repo, number, data)
        url = self._url(repo, "issues", number)
        data = self._call(context, "PATCH", url, payload={"state": "closed", "state_reason": reason})
        if data.get("state") != "closed":
            raise GitHubError(f"{context}: GitHub answered state {data.get('state')!r} after closing", url=url)
        return snapshot_from_json(repo, number, data)

    def reopen_issue(self, repo: str, number: int) -> IssueSnapshot:
        """Re-open *repo*#*number*; already open is a no-op (re-opening an open issue is not an error).

        Raises:
            GitHubError: the write failed.
        """
        context = f"{repo}#{number} reopen"
        data = self._read_issue(context, repo, number)
        if data.get("state") == "open":
            return snapshot_from_json(repo, number, data)
        url = self._url(repo, "issues", number)
        data = self._call(context, "PATCH", url, payload={"state": "open"})
        if data.get("state") != "open":
            raise GitHubError(f"{context}: GitHub answered state {data.get('state')!r} after re-opening", url=url)
        return snapshot_from_json(repo, number, data)


def _split(repo: str) -> tuple[str, str]:
    owner, sep, name = repo.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise GitHubError(f"{repo!r}: a repository is named 'owner/name'")
    return owner, name
