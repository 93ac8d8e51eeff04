"""A GitHub REST emulator served under ``/api/v3`` on 127.0.0.1 (a subclass of ``EmulatorServer``).

Any GitHub client pointed at ``emulator.api_url`` works unchanged: every ``url``/``*_url``
field and every ``Link`` header is absolute and points at the emulator's own origin,
and objects carry the keys github3.py needs under its ``full+json`` media type.

Routes (``{r}`` is ``owner/name``; a name listed in a repository's ``renamed_from``
answers 301 for GET/HEAD and 307 for writes, to the same path under the new name)::

    GET   /user                                     the token's user
    GET   /rate_limit
    GET   /repos/{r}
    GET   /repos/{r}/issues/{n}                     410 for a deleted issue
    PATCH /repos/{r}/issues/{n}                     state + state_reason (ignored unless state changes)
    GET   /repos/{r}/issues/{n}/events              paginated; actor may be null
    GET   /repos/{r}/issues/{n}/timeline            paginated; cross-referenced, closed, committed, commented
    GET   /repos/{r}/issues/{n}/comments            paginated (per_page <= 100, Link header)
    POST  /repos/{r}/issues/{n}/comments            201; 422 over 65,536 characters
    GET   /repos/{r}/issues/comments/{id}
    PATCH /repos/{r}/issues/comments/{id}
    GET   /repos/{r}/pulls/{n}
    GET   /repos/{r}/compare/{base}...{head}        ahead / behind / identical / diverged
    GET   /repos/{r}/commits/{sha}                  with files and patches
    GET   /repos/{r}/git/ref/tags/{tag}, /git/refs/tags/{tag}, /git/tags/{sha}, /tags

Commits, compare and tags come from a real git repository when the seed names one
(``SeedRepo.git_path``), else from seeded data.  Writes need a token (401), a token
that may write (403 "Resource not accessible by integration"); every answer has
``x-ratelimit-*`` headers, GETs an ``ETag`` and 304 on ``If-None-Match``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Self
from urllib.parse import parse_qs, quote

from phase4gate.sandbox._server import EmulatorServer, RecordedRequest, Request, Response
from phase4gate.sandbox.github_seed import (
    Seed,
    SeedComment,
    SeedEvent,
    SeedIssue,
    SeedPull,
    SeedRepo,
    default_seed,
)

__all__ = ["API_PREFIX", "MAX_COMMENT_CHARS", "GitHubEmulator"]

API_PREFIX: Final = "/api/v3"
MAX_COMMENT_CHARS: Final = 65536
RATE_LIMIT: Final = 5000
ANON_RATE_LIMIT: Final = 60
STATE_REASONS: Final = frozenset({"completed", "not_planned", "reopened", "duplicate"})
_GIT_TIMEOUT: Final = 30.0
_REPO: Final = r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+)"
_ZERO_SHA: Final = "0" * 40

Handler = Callable[[Request, SeedRepo, "re.Match[str]"], Response]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    doc = "https://docs.github.com/rest"
    return Response.json({"message": message, "documentation_url": doc, "status": str(status)}, status, headers)


class GitHubEmulator(EmulatorServer):
    """The GitHub REST emulator; ``state`` is the live, mutable :class:`Seed` (change it under ``lock``)."""

    name = "github"

    def __init__(self, seed: Seed | None = None) -> None:
        super().__init__()
        self.state: Seed = seed if seed is not None else default_seed()
        self.lock: threading.RLock = self._lock
        self._used: dict[str, int] = {}
        self.rate_reset = int(time.time()) + 3600
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/issues/(?P<n>\d+)"), self._get_issue),
            ("PATCH", re.compile(r"/issues/(?P<n>\d+)"), self._patch_issue),
            ("GET", re.compile(r"/issues/(?P<n>\d+)/events"), self._list_events),
            ("GET", re.compile(r"/issues/(?P<n>\d+)/timeline"), self._list_timeline),
            ("GET", re.compile(r"/issues/(?P<n>\d+)/comments"), self._list_comments),
            ("POST", re.compile(r"/issues/(?P<n>\d+)/comments"), self._create_comment),
            ("GET", re.compile(r"/issues/comments/(?P<id>\d+)"), self._get_comment),
            ("PATCH", re.compile(r"/issues/comments/(?P<id>\d+)"), self._update_comment),
            ("GET", re.compile(r"/pulls/(?P<n>\d+)"), self._get_pull),
            ("GET", re.compile(r"/compare/(?P<base>[^/]+?)\.\.\.(?P<head>[^/]+)"), self._compare),
            ("GET", re.compile(r"/commits/(?P<sha>[^/]+)"), self._get_commit),
            ("GET", re.compile(r"/git/refs?/tags/(?P<tag>.+)"), self._get_tag_ref),
            ("GET", re.compile(r"/git/tags/(?P<sha>[0-9a-f]{40})"), self._get_tag_object),
            ("GET", re.compile(r"/tags"), self._list_tags),
            ("GET", re.compile(r""), self._get_repo),
        ]

    # ------------------------------------------------------------------ public knobs
    def start(self) -> Self:
        """Start serving (see ``EmulatorServer.start``), with Nagle's algorithm off.

        The base handler writes headers and body separately; with Nagle on, the
        client's delayed ACK adds about 40 ms to every answer.
        """
        super().start()
        server = self._server
        if server is not None:
            setattr(server.RequestHandlerClass, "disable_nagle_algorithm", True)  # noqa: B010 - typeshed types it as a callable
        return self

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/v3``."""
        return self.origin + API_PREFIX

    @property
    def token(self) -> str:
        """A token that may write."""
        with self.lock:
            return next(t for t, spec in self.state.tokens.items() if spec.write)

    @property
    def read_only_token(self) -> str:
        """A token that may only read."""
        with self.lock:
            return next(t for t, spec in self.state.tokens.items() if not spec.write)

    def who(self, recorded: RecordedRequest) -> str | None:
        """Return the login whose token made *recorded* (None: no token or an unknown one)."""
        token = _token_of(recorded.headers)
        with self.lock:
            spec = self.state.tokens.get(token) if token else None
        return spec.login if spec else None

    def writes(self) -> list[RecordedRequest]:
        """Every logged POST/PATCH/PUT/DELETE."""
        with self.lock:
            return [r for r in self.requests if r.method in {"POST", "PATCH", "PUT", "DELETE"}]

    def set_rate_remaining(self, token: str | None, remaining: int) -> None:
        """Set how many requests *token* (None: anonymous) has left in this window."""
        with self.lock:
            limit = ANON_RATE_LIMIT if token is None else RATE_LIMIT
            self._used[token or ""] = limit - remaining

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: Request) -> Response:
        """Authenticate, rate-limit, route, and add ``x-ratelimit-*`` and ``ETag`` headers."""
        with self.lock:
            token = _token_of(request.headers)
            spec = self.state.tokens.get(token) if token else None
            if token and spec is None:
                return _error(401, "Bad credentials")
            key = token or ""
            limit = RATE_LIMIT if token else ANON_RATE_LIMIT
            used = self._used.get(key, 0)
            if used >= limit:
                return _error(
                    403,
                    "API rate limit exceeded",
                    self._rate_headers(limit, used),
                )
            response = self._route(request, spec.login if spec else None, write_ok=bool(spec and spec.write))
            etag = None
            if request.method == "GET" and response.status == 200:
                etag = 'W/"' + hashlib.sha256(response.body).hexdigest()[:40] + '"'
                if request.header("If-None-Match") == etag:
                    # Conditional hits do not count against the rate limit, as on GitHub.
                    return Response(304, b"", {"ETag": etag, **self._rate_headers(limit, used)})
            # GET /rate_limit does not count against the limit, as on GitHub.
            if request.path != API_PREFIX + "/rate_limit":
                used += 1
            self._used[key] = used
            headers = {
                **response.headers,
                **self._rate_headers(limit, used),
                "X-GitHub-Media-Type": "github.v3; param=full; format=json",
            }
            if etag:
                headers["ETag"] = etag
            return Response(response.status, response.body, headers)

    def _rate_headers(self, limit: int, used: int) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - used)),
            "x-ratelimit-reset": str(self.rate_reset),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
        }

    def _route(self, request: Request, login: str | None, *, write_ok: bool) -> Response:
        path = request.path
        if not path.startswith(API_PREFIX + "/"):
            return _error(404, "Not Found")
        rest = path[len(API_PREFIX) :]
        if rest == "/user":
            return self._get_user(login)
        if rest == "/rate_limit":
            return Response.json(self._rate_limit_json(_token_of(request.headers)))
        m = re.fullmatch(r"/repos/" + _REPO + r"(?P<sub>/.*)?", rest)
        if m is None:
            return _error(404, "Not Found")
        full = f"{m['owner']}/{m['name']}"
        sub = m["sub"] or ""
        repo = self.state.repo(full)
        if repo is None:
            moved = self.state.renamed_to(full)
            if moved is None:
                return _error(404, "Not Found")
            status = 301 if request.method in {"GET", "HEAD"} else 307
            location = f"{self.api_url}/repos/{moved.full_name}{sub}" + (f"?{request.query}" if request.query else "")
            body = {"message": "Moved Permanently", "url": location, "documentation_url": "https://docs.github.com"}
            return Response.json(body, status, {"Location": location})
        writing = request.method in {"POST", "PATCH", "PUT", "DELETE"}
        if writing and login is None:
            return _error(401, "Requires authentication")
        if writing and not write_ok:
            return _error(
                403,
                "Resource not accessible by integration",
                {"x-accepted-github-permissions": "issues=write"},
            )
        for method, pattern, handler in self._routes:
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                continue
            hit = pattern.fullmatch(sub)
            if hit is not None:
                return handler(request, repo, hit)
        return _error(404, "Not Found")

    # ------------------------------------------------------------------ JSON shapes

    def _user(self, login: str | None) -> dict[str, Any] | None:
        if login is None:
            return None
        base = f"{self.api_url}/users/{login}"
        uid = int(hashlib.sha256(login.encode()).hexdigest()[:6], 16)
        return {
            "login": login,
            "id": uid,
            "node_id": f"U_{uid}",
            "avatar_url": f"{self.origin}/avatars/{login}",
            "gravatar_id": "",
            "url": base,
            "html_url": f"{self.origin}/{login}",
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": "Bot" if login.endswith("-bot") else "User",
            "site_admin": False,
            "name": login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }

    def _private_user(self, login: str) -> dict[str, Any] | None:
        """The authenticated user (``private-user``): the public profile plus the account's own counts."""
        user = self._user(login)
        if user is None:
            return None
        user.update(
            {
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 0,
                "collaborators": 0,
                "two_factor_authentication": True,
            }
        )
        return user

    def _rate_limit_json(self, token: str | None) -> dict[str, Any]:
        """``GET /rate_limit``: every resource's window, ``rate`` repeating ``core`` (as GitHub does)."""
        used = self._used.get(token or "", 0)
        limit = ANON_RATE_LIMIT if token is None else RATE_LIMIT
        core = {"limit": limit, "used": used, "remaining": max(0, limit - used), "reset": self.rate_reset}
        others = {
            name: {"limit": n, "used": 0, "remaining": n, "reset": self.rate_reset}
            for name, n in (("search", 30), ("graphql", 5000), ("integration_manifest", 5000), ("code_search", 10))
        }
        return {"resources": {"core": core, **others}, "rate": dict(core)}

    def _repo_json(self, repo: SeedRepo) -> dict[str, Any]:
        base = f"{self.api_url}/repos/{repo.full_name}"
        html = f"{self.origin}/{repo.full_name}"
        owner, name = repo.full_name.split("/", 1)
        urls = {
            "archive_url": "/{archive_format}{/ref}",
            "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}",
            "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}",
            "contributors_url": "/contributors",
            "deployments_url": "/deployments",
            "downloads_url": "/downloads",
            "events_url": "/events",
            "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "hooks_url": "/hooks",
            "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}",
            "labels_url": "/labels{/name}",
            "languages_url": "/languages",
            "merges_url": "/merges",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}",
            "stargazers_url": "/stargazers",
            "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers",
            "subscription_url": "/subscription",
            "tags_url": "/tags",
            "teams_url": "/teams",
            "trees_url": "/git/trees{/sha}",
        }
        out: dict[str, Any] = {k: base + v for k, v in urls.items()}
        open_issues = sum(
            1 for i in self.state.issues if i.repo.lower() == repo.full_name.lower() and i.state == "open"
        )
        out.update(
            {
                "id": repo.id,
                "node_id": f"R_{repo.id}",
                "name": name,
                "full_name": repo.full_name,
                "owner": self._user(owner),
                "private": False,
                "html_url": html,
                "description": None,
                "fork": False,
                "url": base,
                "clone_url": f"{html}.git",
                "git_url": f"git://127.0.0.1/{repo.full_name}.git",
                "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
                "svn_url": html,
                "mirror_url": None,
                "homepage": None,
                "language": "Python",
                "archived": False,
                "disabled": False,
                "default_branch": repo.default_branch,
                "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2026-05-01T00:00:00Z",
                "pushed_at": "2026-05-01T00:00:00Z",
                "size": 1,
                "forks_count": 0,
                "network_count": 0,
                "open_issues_count": open_issues,
                "stargazers_count": 0,
                "subscribers_count": 0,
                "watchers_count": 0,
                "has_downloads": True,
                "has_issues": True,
                "has_pages": False,
                "has_projects": False,
                "has_wiki": False,
                "has_discussions": False,
                "visibility": "public",
                "license": None,
                "forks": 0,
                "open_issues": open_issues,
                "watchers": 0,
            }
        )
        return out

    def _issue_json(self, issue: SeedIssue) -> dict[str, Any]:
        repo_base = f"{self.api_url}/repos/{issue.repo}"
        base = f"{repo_base}/issues/{issue.number}"
        pull = self.state.pull(issue.repo, issue.number)
        out: dict[str, Any] = {
            "url": base,
            "repository_url": repo_base,
            "labels_url": f"{base}/labels{{/name}}",
            "comments_url": f"{base}/comments",
            "events_url": f"{base}/events",
            "timeline_url": f"{base}/timeline",
            "html_url": f"{self.origin}/{issue.repo}/{'pull' if pull else 'issues'}/{issue.number}",
            "id": issue.id,
            "node_id": f"I_{issue.id}",
            "number": issue.number,
            "title": issue.title,
            "user": self._user(issue.author),
            "labels": [
                {
                    "id": 1 + i,
                    "node_id": f"L_{i}",
                    "url": f"{repo_base}/labels/{quote(lbl)}",
                    "name": lbl,
                    "color": "ededed",
                    "default": False,
                    "description": None,
                }
                for i, lbl in enumerate(issue.labels)
            ],
            "state": issue.state,
            "state_reason": issue.state_reason,
            "locked": False,
            "active_lock_reason": None,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": len(issue.comments),
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
            "closed_by": self._user(issue.closed_by) if issue.state == "closed" else None,
            "author_association": "MEMBER",
            "body": issue.body,
            "body_html": f"<p>{issue.body}</p>",
            "body_text": issue.body,
            "performed_via_github_app": None,
        }
        if pull is not None:
            out["pull_request"] = {
                "url": f"{repo_base}/pulls/{pull.number}",
                "html_url": f"{self.origin}/{pull.repo}/pull/{pull.number}",
                "diff_url": f"{self.origin}/{pull.repo}/pull/{pull.number}.diff",
                "patch_url": f"{self.origin}/{pull.repo}/pull/{pull.number}.patch",
                "merged_at": pull.merged_at,
            }
        return out

    def _event_json(self, issue: SeedIssue, event: SeedEvent) -> dict[str, Any]:
        crepo = event.commit_repo or issue.repo
        return {
            "id": event.id,
            "node_id": f"E_{event.id}",
            "url": f"{self.api_url}/repos/{issue.repo}/issues/events/{event.id}",
            "actor": self._user(event.actor),
            "event": event.event,
            "commit_id": event.commit_id,
            "commit_url": f"{self.api_url}/repos/{crepo}/commits/{event.commit_id}" if event.commit_id else None,
            "created_at": event.created_at,
            "state_reason": event.state_reason,
            "performed_via_github_app": None,
        }

    def _comment_json(self, issue: SeedIssue, comment: SeedComment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "node_id": f"IC_{comment.id}",
            "url": f"{self.api_url}/repos/{issue.repo}/issues/comments/{comment.id}",
            "html_url": f"{self.origin}/{issue.repo}/issues/{issue.number}#issuecomment-{comment.id}",
            "issue_url": f"{self.api_url}/repos/{issue.repo}/issues/{issue.number}",
            "user": self._user(comment.author),
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
            "author_association": "MEMBER",
            "body": comment.body,
            "body_html": f"<p>{comment.body}</p>",
            "body_text": comment.body,
            "performed_via_github_app": None,
        }

    def _pull_json(self, pull: SeedPull) -> dict[str, Any]:
        repo = self.state.repo(pull.repo)
        repo_json = self._repo_json(repo) if repo else None
        issue = self.state.find_issue(pull.repo, pull.number)
        base = f"{self.api_url}/repos/{pull.repo}/pulls/{pull.number}"
        html = f"{self.origin}/{pull.repo}/pull/{pull.number}"
        owner = pull.repo.split("/", 1)[0]

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha, "user": self._user(owner), "repo": repo_json}

        state = "closed" if pull.merged or (issue is not None and issue.state == "closed") else "open"
        return {
            "url": base,
            "id": pull.id,
            "node_id": f"PR_{pull.id}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{self.api_url}/repos/{pull.repo}/issues/{pull.number}",
            "commits_url": f"{base}/commits",
            "review_comments_url": f"{base}/comments",
            "review_comment_url": f"{self.api_url}/repos/{pull.repo}/pulls/comments{{/number}}",
            "comments_url": f"{self.api_url}/repos/{pull.repo}/issues/{pull.number}/comments",
            "statuses_url": f"{self.api_url}/repos/{pull.repo}/statuses/{pull.head_sha}",
            "number": pull.number,
            "state": state,
            "locked": False,
            "active_lock_reason": None,
            "title": pull.title,
            "user": self._user(pull.author),
            "body": issue.body if issue else "",
            "body_html": f"<p>{issue.body if issue else ''}</p>",
            "body_text": issue.body if issue else "",
            "created_at": "2026-05-11T09:00:00Z",
            "updated_at": pull.merged_at or "2026-05-11T09:00:00Z",
            "closed_at": pull.merged_at,
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [],
            "milestone": None,
            "draft": False,
            "head": side(pull.head_ref, pull.head_sha),
            "base": side(pull.base_ref, _ZERO_SHA),
            "_links": {
                "self": {"href": base},
                "html": {"href": html},
                "issue": {"href": f"{self.api_url}/repos/{pull.repo}/issues/{pull.number}"},
                "comments": {"href": f"{self.api_url}/repos/{pull.repo}/issues/{pull.number}/comments"},
                "review_comments": {"href": f"{base}/comments"},
                "commits": {"href": f"{base}/commits"},
                "statuses": {"href": f"{self.api_url}/repos/{pull.repo}/statuses/{pull.head_sha}"},
                "review_comment": {"href": f"{self.api_url}/repos/{pull.repo}/pulls/comments{{/number}}"},
            },
            "auto_merge": None,
            "maintainer_can_modify": False,
            "author_association": "MEMBER",
            "merged": pull.merged,
            "mergeable": None,
            "mergeable_state": "unknown",
            "merged_by": self._user(pull.author) if pull.merged else None,
            "comments": 0,
            "review_comments": 0,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        }

    # ------------------------------------------------------------------ pagination

    def _page(self, request: Request, items: Sequence[Any]) -> Response:
        q = parse_qs(request.query)
        try:
            per_page = max(1, min(100, int(q.get("per_page", ["30"])[0])))
            page = max(1, int(q.get("page", ["1"])[0]))
        except ValueError:
            return _error(422, "per_page and page must be integers")
        last = max(1, -(-len(items) // per_page))
        chunk = list(items[(page - 1) * per_page : page * per_page])
        links = []
        url = self.origin + request.path

        def link(p: int, rel: str) -> str:
            return f'<{url}?per_page={per_page}&page={p}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        headers = {"Link": ", ".join(links)} if links else {}
        return Response.json(chunk, headers=headers)

    # ------------------------------------------------------------------ handlers

    def _get_user(self, login: str | None) -> Response:
        if login is None:
            return _error(401, "Requires authentication")
        return Response.json(self._private_user(login))

    def _get_repo(self, _request: Request, repo: SeedRepo, _m: re.Match[str]) -> Response:
        return Response.json(self._repo_json(repo))

    def _find_issue(self, repo: SeedRepo, number: str) -> SeedIssue | Response:
        issue = self.state.find_issue(repo.full_name, int(number))
        if issue is None:
            return _error(404, "Not Found")
        if issue.deleted:
            return _error(410, "This issue was deleted")
        return issue

    def _get_issue(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        issue = self._find_issue(repo, m["n"])
        if isinstance(issue, Response):
            return issue
        return Response.json(self._issue_json(issue))

    def _patch_issue(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        issue = self._find_issue(repo, m["n"])
        if isinstance(issue, Response):
            return issue
        try:
            body = request.json() or {}
        except ValueError:
            return _error(400, "Problems parsing JSON")
        if not isinstance(body, dict):
            return _error(400, "Problems parsing JSON")
        state = body.get("state")
        reason = body.get("state_reason")
        if state is not None and state not in {"open", "closed"}:
            return _error(422, f"Validation Failed: state {state!r} is not open or closed")
        if reason is not None and reason not in STATE_REASONS:
            return _error(422, f"Validation Failed: state_reason {reason!r} is not one of {sorted(STATE_REASONS)}")
        login = self.who_login(request)
        now = _now()
        for key in ("title", "body"):
            if isinstance(body.get(key), str):
                setattr(issue, key, body[key])
        if isinstance(body.get("labels"), list):
            issue.labels = [str(x) for x in body["labels"]]
        if state == "closed" and issue.state != "closed":
            issue.state, issue.state_reason = (
                "closed",
                reason if reason in {"completed", "not_planned", "duplicate"} else "completed",
            )
            issue.closed_at, issue.closed_by = now, login
            self.state.add_event(
                issue, SeedEvent("closed", actor=login, state_reason=issue.state_reason, created_at=now)
            )
        elif state == "open" and issue.state != "open":
            issue.state, issue.state_reason, issue.closed_at, issue.closed_by = "open", "reopened", None, None
            self.state.add_event(issue, SeedEvent("reopened", actor=login, created_at=now))
        # A state_reason without a state change is ignored, as on GitHub.
        issue.updated_at = now
        return Response.json(self._issue_json(issue))

    def who_login(self, request: Request) -> str | None:
        """Return the login of *request*'s token."""
        token = _token_of(request.headers)
        spec = self.state.tokens.get(token) if token else None
        return spec.login if spec else None

    def _list_events(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        issue = self._find_issue(repo, m["n"])
        if isinstance(issue, Response):
            return issue
        shown = [e for e in issue.events if e.event not in {"cross-referenced", "committed"}]
        return self._page(request, [self._event_json(issue, e) for e in shown])

    def _list_timeline(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        issue = self._find_issue(repo, m["n"])
        if isinstance(issue, Response):
            return issue
        entries: list[tuple[str, int, dict[str, Any]]] = [
            (e.created_at, e.id, self._timeline_entry(issue, e)) for e in issue.events
        ]
        for c in issue.comments:
            cj = self._comment_json(issue, c)
            cj.update({"event": "commented", "actor": cj["user"]})
            entries.append((c.created_at, c.id, cj))
        entries.sort(key=lambda t: (t[0], t[1]))
        return self._page(request, [e for _, _, e in entries])

    def _timeline_entry(self, issue: SeedIssue, e: SeedEvent) -> dict[str, Any]:
        if e.event == "cross-referenced":
            source = self.state.find_issue(e.source_repo or issue.repo, e.source_number or 0)
            src: dict[str, Any] | None = None
            if source is not None:
                src = self._issue_json(source)
                src_repo = self.state.repo(source.repo)
                src["repository"] = self._repo_json(src_repo) if src_repo else None
            return {
                "event": "cross-referenced",
                "actor": self._user(e.actor),
                "created_at": e.created_at,
                "updated_at": e.created_at,
                "source": {"type": "issue", "issue": src},
            }
        if e.event == "committed":
            crepo = e.commit_repo or issue.repo
            return {
                "event": "committed",
                "sha": e.commit_id,
                "node_id": f"C_{e.id}",
                "url": f"{self.api_url}/repos/{crepo}/git/commits/{e.commit_id}",
                "html_url": f"{self.origin}/{crepo}/commit/{e.commit_id}",
                "author": {"name": e.actor or "ghost", "email": "dev@example.invalid", "date": e.created_at},
                "committer": {"name": e.actor or "ghost", "email": "dev@example.invalid", "date": e.created_at},
                "message": f"commit {e.commit_id}",
                "parents": [],
            }
        return self._event_json(issue, e)

    def _list_comments(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        issue = self._find_issue(repo, m["n"])
        if isinstance(issue, Response):
            return issue
        return self._page(request, [self._comment_json(issue, c) for c in issue.comments])

    def _comment_body(self, request: Request) -> str | Response:
        try:
            data = request.json()
        except ValueError:
            return _error(400, "Problems parsing JSON")
        body = data.get("body") if isinstance(data, dict) else None
        if not isinstance(body, str) or not body:
            return _error(422, "Validation Failed: body is missing")
        if len(body) > MAX_COMMENT_CHARS:
            return _error(422, f"Validation Failed: body is too long (maximum is {MAX_COMMENT_CHARS} characters)")
        return body

    def _create_comment(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        issue = self._find_issue(repo, m["n"])
        if isinstance(issue, Response):
            return issue
        body = self._comment_body(request)
        if isinstance(body, Response):
            return body
        comment = self.state.add_comment(issue, self.who_login(request) or "ghost", body, at=_now())
        cj = self._comment_json(issue, comment)
        return Response.json(cj, 201, {"Location": cj["url"]})

    def _find_comment(self, repo: SeedRepo, cid: str) -> tuple[SeedIssue, SeedComment] | Response:
        for issue in self.state.issues:
            if issue.repo.lower() != repo.full_name.lower():
                continue
            for c in issue.comments:
                if c.id == int(cid):
                    return issue, c
        return _error(404, "Not Found")

    def _get_comment(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        found = self._find_comment(repo, m["id"])
        if isinstance(found, Response):
            return found
        return Response.json(self._comment_json(*found))

    def _update_comment(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        found = self._find_comment(repo, m["id"])
        if isinstance(found, Response):
            return found
        body = self._comment_body(request)
        if isinstance(body, Response):
            return body
        issue, comment = found
        comment.body, comment.updated_at = body, _now()
        return Response.json(self._comment_json(issue, comment))

    def _get_pull(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        pull = self.state.pull(repo.full_name, int(m["n"]))
        if pull is None:
            return _error(404, "Not Found")
        return Response.json(self._pull_json(pull))

    # ------------------------------------------------------------------ git-backed routes

    def _commit_json(self, repo: SeedRepo, sha: str, *, stub: bool = False) -> dict[str, Any] | None:
        parents: list[str]
        files: list[dict[str, Any]]
        if stub:
            message, author, date, parents, files = "", "octo-dev", "2026-05-10T09:00:00Z", [], []
        elif repo.git_path:
            info = _git_commit(repo.git_path, sha)
            if info is None:
                return None
            sha, message, author, date, parents, files = info
        else:
            seeded = repo.commits.get(sha) or next((c for s, c in repo.commits.items() if s.startswith(sha)), None)
            if seeded is None or len(sha) < 7:
                return None
            sha, message, author, date = seeded.sha, seeded.message, seeded.author, seeded.date
            parents, files = list(seeded.parents), [dict(f) for f in seeded.files]
        base = f"{self.api_url}/repos/{repo.full_name}"
        html = f"{self.origin}/{repo.full_name}"
        for f in files:
            name = f["filename"]
            f.setdefault("sha", hashlib.sha1(name.encode()).hexdigest())  # noqa: S324 - an id, not security
            f.setdefault("status", "modified")
            f.setdefault("additions", 0)
            f.setdefault("deletions", 0)
            f["changes"] = f["additions"] + f["deletions"]
            f["blob_url"] = f"{html}/blob/{sha}/{name}"
            f["raw_url"] = f"{html}/raw/{sha}/{name}"
            f["contents_url"] = f"{base}/contents/{name}?ref={sha}"
        adds = sum(f["additions"] for f in files)
        dels = sum(f["deletions"] for f in files)
        person = {"name": author, "email": f"{author}@example.invalid", "date": date}
        return {
            "sha": sha,
            "node_id": f"C_{sha[:10]}",
            "url": f"{base}/commits/{sha}",
            "html_url": f"{html}/commit/{sha}",
            "comments_url": f"{base}/commits/{sha}/comments",
            "commit": {
                "url": f"{base}/git/commits/{sha}",
                "author": person,
                "committer": person,
                "message": message,
                "tree": {"url": f"{base}/git/trees/{_ZERO_SHA}", "sha": _ZERO_SHA},
                "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
            },
            "author": self._user(author),
            "committer": self._user(author),
            "parents": [{"sha": p, "url": f"{base}/commits/{p}", "html_url": f"{html}/commit/{p}"} for p in parents],
            "stats": {"additions": adds, "deletions": dels, "total": adds + dels},
            "files": files,
        }

    def _get_commit(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        data = self._commit_json(repo, m["sha"])
        if data is None:
            return _error(422, f"No commit found for SHA: {m['sha']}")
        return Response.json(data)

    def _compare(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        base, head = m["base"], m["head"]
        if repo.git_path:
            counted = _git_compare(repo.git_path, base, head)
            if counted is None:
                return _error(404, "Not Found")
            base_sha, head_sha, ahead, behind = counted
            if base_sha == head_sha:
                status = "identical"
            elif behind == 0:
                status = "ahead"
            elif ahead == 0:
                status = "behind"
            else:
                status = "diverged"
        else:
            known = repo.compare.get(f"{base}...{head}")
            if known is None and base != head:
                return _error(404, "Not Found")
            status = known or "identical"
            base_sha, head_sha = base, head
            ahead = 1 if status in {"ahead", "diverged"} else 0
            behind = 1 if status in {"behind", "diverged"} else 0
        url = f"{self.api_url}/repos/{repo.full_name}/compare/{base}...{head}"
        html = f"{self.origin}/{repo.full_name}/compare/{base}...{head}"
        base_commit = self._commit_json(repo, base_sha) or self._commit_json(repo, base_sha, stub=True)
        return Response.json(
            {
                "url": url,
                "html_url": html,
                "permalink_url": f"{self.origin}/{repo.full_name}/compare/{base_sha}...{head_sha}",
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "base_commit": base_commit,
                "merge_base_commit": base_commit,
                "status": status,
                "ahead_by": ahead,
                "behind_by": behind,
                "total_commits": ahead,
                "commits": [],
                "files": [],
            }
        )

    def _tag_target(self, repo: SeedRepo, tag: str) -> tuple[str, str] | None:
        """Return (object type, object sha) the tag ref points at."""
        if repo.git_path:
            return _git_tag(repo.git_path, tag)
        sha = repo.tags.get(tag)
        return ("commit", sha) if sha else None

    def _get_tag_ref(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        tag = m["tag"]
        target = self._tag_target(repo, tag)
        if target is None:
            return _error(404, "Not Found")
        kind, sha = target
        base = f"{self.api_url}/repos/{repo.full_name}"
        return Response.json(
            {
                "ref": f"refs/tags/{tag}",
                "node_id": f"REF_{sha[:10]}",
                "url": f"{base}/git/refs/tags/{tag}",
                "object": {"type": kind, "sha": sha, "url": f"{base}/git/{kind}s/{sha}"},
            }
        )

    def _get_tag_object(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        sha = m["sha"]
        info = _git_tag_object(repo.git_path, sha) if repo.git_path else None
        if info is None:
            return _error(404, "Not Found")
        name, message, target = info
        base = f"{self.api_url}/repos/{repo.full_name}"
        return Response.json(
            {
                "sha": sha,
                "node_id": f"TAG_{sha[:10]}",
                "url": f"{base}/git/tags/{sha}",
                "tag": name,
                "message": message,
                "tagger": {"name": "release-bot", "email": "release@example.invalid", "date": "2026-05-12T12:00:00Z"},
                "object": {"type": "commit", "sha": target, "url": f"{base}/git/commits/{target}"},
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
            }
        )

    def _list_tags(self, request: Request, repo: SeedRepo, _m: re.Match[str]) -> Response:
        names = _git_tag_names(repo.git_path) if repo.git_path else sorted(repo.tags)
        base = f"{self.api_url}/repos/{repo.full_name}"
        items = []
        for name in names:
            target = self._tag_target(repo, name)
            commit = target[1] if target else _ZERO_SHA
            if repo.git_path and target and target[0] == "tag":
                peeled = _git(repo.git_path, "rev-parse", f"{name}^{{commit}}")
                commit = peeled or commit
            items.append(
                {
                    "name": name,
                    "commit": {"sha": commit, "url": f"{base}/commits/{commit}"},
                    "zipball_url": f"{base}/zipball/refs/tags/{name}",
                    "tarball_url": f"{base}/tarball/refs/tags/{name}",
                    "node_id": f"T_{commit[:10]}",
                }
            )
        return self._page(request, items)


# ---------------------------------------------------------------------- helpers


def _token_of(headers: Mapping[str, str]) -> str | None:
    for k, v in headers.items():
        if k.lower() == "authorization":
            scheme, _, value = v.partition(" ")
            if scheme.lower() in {"token", "bearer"} and value.strip():
                return value.strip()
            return v.strip()
    return None


def _git(path: str, *args: str) -> str | None:
    """Run git in *path*; return stripped stdout, or None when git fails."""
    try:
        proc = subprocess.run(
            ["git", "-C", path, *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _rev(path: str, ref: str) -> str | None:
    if ref.startswith("-"):
        return None
    return _git(path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")


def _git_commit(path: str, ref: str) -> tuple[str, str, str, str, list[str], list[dict[str, Any]]] | None:
    sha = _rev(path, ref)
    if sha is None:
        return None
    meta = _git(path, "show", "-s", "--format=%P%x00%an%x00%aI%x00%B", sha)
    if meta is None:
        return None
    parent_line, author, date, message = meta.split("\x00", 3)
    parents = parent_line.split()
    if parents:
        numstat = _git(path, "diff", "--numstat", "--no-renames", parents[0], sha) or ""
        patch = _git(path, "diff", "--no-renames", parents[0], sha) or ""
    else:
        numstat = _git(path, "show", "--format=", "--numstat", "--no-renames", "--root", sha) or ""
        patch = _git(path, "show", "--format=", "--no-renames", "--root", sha) or ""
    patches = _split_patch(patch)
    files: list[dict[str, Any]] = []
    for line in numstat.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        adds, dels, name = parts
        text = patches.get(name, "")
        status = (
            "added"
            if "\nnew file mode" in "\n" + text
            else "removed"
            if "\ndeleted file mode" in "\n" + text
            else "modified"
        )
        body = text.split("\n@@", 1)
        files.append(
            {
                "filename": name,
                "status": status,
                "additions": int(adds) if adds.isdigit() else 0,
                "deletions": int(dels) if dels.isdigit() else 0,
                "patch": "@@" + body[1] if len(body) == 2 else "",
            }
        )
    date_z = dt.datetime.fromisoformat(date).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return sha, message.strip(), author, date_z, parents, files


def _split_patch(patch: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for chunk in re.split(r"(?m)^diff --git ", patch):
        if not chunk.strip():
            continue
        header = chunk.split("\n", 1)[0]
        m = re.match(r"a/(?P<a>.+) b/(?P<b>.+)$", header)
        if m:
            out[m["b"]] = chunk
    return out


def _git_compare(path: str, base: str, head: str) -> tuple[str, str, int, int] | None:
    base_sha, head_sha = _rev(path, base), _rev(path, head)
    if base_sha is None or head_sha is None:
        return None
    counts = _git(path, "rev-list", "--left-right", "--count", f"{base_sha}...{head_sha}")
    if counts is None:
        return None
    behind, ahead = (int(x) for x in counts.split())
    return base_sha, head_sha, ahead, behind


def _git_tag(path: str, tag: str) -> tuple[str, str] | None:
    if tag.startswith("-"):
        return None
    sha = _git(path, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}")
    if sha is None:
        return None
    kind = _git(path, "cat-file", "-t", sha)
    return ("tag" if kind == "tag" else "commit", sha)


def _git_tag_object(path: str, sha: str) -> tuple[str, str, str] | None:
    if _git(path, "cat-file", "-t", sha) != "tag":
        return None
    raw = _git(path, "cat-file", "tag", sha) or ""
    head, _, message = raw.partition("\n\n")
    fields = dict(line.split(" ", 1) for line in head.splitlines() if " " in line)
    target = _git(path, "rev-parse", f"{sha}^{{commit}}")
    if target is None:
        return None
    return fields.get("tag", ""), message.strip(), target


def _git_tag_names(path: str) -> list[str]:
    out = _git(path, "tag", "--list") or ""
    return sorted(line for line in out.splitlines() if line)
