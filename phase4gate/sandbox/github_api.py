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
    ...   /repos/{r}/actions/...                    GitHub Actions: see phase4gate.sandbox.github_actions

Commits, compare and tags come from a real git repository when the seed names one
(``SeedRepo.git_path``), else from seeded data.  The answers' JSON shapes live in
:mod:`phase4gate.sandbox.github_shapes` and conform to GitHub's OpenAPI description.  Writes need a token (401), a token
that may write (403 "Resource not accessible by integration"); every answer has
``x-ratelimit-*`` headers, GETs an ``ETag`` and 304 on ``If-None-Match``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Self
from urllib.parse import parse_qs

from phase4gate.sandbox._server import EmulatorServer, RecordedRequest, Request, Response
from phase4gate.sandbox.github_actions import BLOB_PREFIX, ActionsService
from phase4gate.sandbox.github_app_routes import answer_app_route
from phase4gate.sandbox.github_seed import (
    Seed,
    SeedComment,
    SeedEvent,
    SeedIssue,
    SeedRepo,
    default_seed,
)
from phase4gate.sandbox.github_shapes import (
    ZERO_SHA,
    GitHubShapes,
    compare_from_git,
    git_text,
    tag_from_git,
    tag_names_from_git,
    tag_object_from_git,
)

__all__ = ["API_PREFIX", "MAX_COMMENT_CHARS", "GitHubEmulator"]

API_PREFIX: Final = "/api/v3"
MAX_COMMENT_CHARS: Final = 65536
RATE_LIMIT: Final = 5000
ANON_RATE_LIMIT: Final = 60
STATE_REASONS: Final = frozenset({"completed", "not_planned", "reopened", "duplicate"})
_REPO: Final = r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+)"

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
        # GitHub Actions (phase4gate.sandbox.github_actions): workflows, runs, jobs, artifacts, logs.
        self.actions: ActionsService = ActionsService(self)
        self._routes[-1:-1] = self.actions.routes()

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
        self.actions.start()  # the signed-URL host of artifact and log downloads
        return self

    def stop(self) -> None:
        """Stop serving (and the Actions signed-URL host)."""
        self.actions.stop()
        super().stop()

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

    @property
    def shapes(self) -> GitHubShapes:
        """The JSON shapes of this emulator's answers (URLs under its own origin)."""
        return GitHubShapes(self.state, self.api_url, self.origin)

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: Request) -> Response:
        """Authenticate, rate-limit, route, and add ``x-ratelimit-*`` and ``ETag`` headers."""
        if request.path.startswith(BLOB_PREFIX):
            return self.actions.serve_blob(request)  # a signed URL: no token, no rate limit
        if (app_answer := answer_app_route(self, request)) is not None:  # a GitHub App signs in with a JWT
            return app_answer
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
                {"x-accepted-github-permissions": "actions=write" if sub.startswith("/actions/") else "issues=write"},
            )
        for method, pattern, handler in self._routes:
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                continue
            hit = pattern.fullmatch(sub)
            if hit is not None:
                return handler(request, repo, hit)
        return _error(404, "Not Found")

    # ------------------------------------------------------------------ JSON shapes

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
        return Response.json(self.shapes.private_user(login))

    def _get_repo(self, _request: Request, repo: SeedRepo, _m: re.Match[str]) -> Response:
        return Response.json(self.shapes.repo(repo))

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
        return Response.json(self.shapes.issue(issue))

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
        return Response.json(self.shapes.issue(issue))

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
        return self._page(request, [self.shapes.event(issue, e) for e in shown])

    def _list_timeline(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        issue = self._find_issue(repo, m["n"])
        if isinstance(issue, Response):
            return issue
        entries: list[tuple[str, int, dict[str, Any]]] = [
            (e.created_at, e.id, self.shapes.timeline_entry(issue, e)) for e in issue.events
        ]
        for c in issue.comments:
            cj = self.shapes.comment(issue, c)
            cj.update({"event": "commented", "actor": cj["user"]})
            entries.append((c.created_at, c.id, cj))
        entries.sort(key=lambda t: (t[0], t[1]))
        return self._page(request, [e for _, _, e in entries])

    def _list_comments(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        issue = self._find_issue(repo, m["n"])
        if isinstance(issue, Response):
            return issue
        return self._page(request, [self.shapes.comment(issue, c) for c in issue.comments])

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
        cj = self.shapes.comment(issue, comment)
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
        return Response.json(self.shapes.comment(*found))

    def _update_comment(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        found = self._find_comment(repo, m["id"])
        if isinstance(found, Response):
            return found
        body = self._comment_body(request)
        if isinstance(body, Response):
            return body
        issue, comment = found
        comment.body, comment.updated_at = body, _now()
        return Response.json(self.shapes.comment(issue, comment))

    def _get_pull(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        pull = self.state.pull(repo.full_name, int(m["n"]))
        if pull is None:
            return _error(404, "Not Found")
        return Response.json(self.shapes.pull(pull))

    # ------------------------------------------------------------------ git-backed routes

    def _get_commit(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        data = self.shapes.commit(repo, m["sha"])
        if data is None:
            return _error(422, f"No commit found for SHA: {m['sha']}")
        return Response.json(data)

    def _compare(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        base, head = m["base"], m["head"]
        if repo.git_path:
            counted = compare_from_git(repo.git_path, base, head)
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
        base_commit = self.shapes.commit(repo, base_sha) or self.shapes.commit(repo, base_sha, stub=True)
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
            return tag_from_git(repo.git_path, tag)
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
        info = tag_object_from_git(repo.git_path, sha) if repo.git_path else None
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
        names = tag_names_from_git(repo.git_path) if repo.git_path else sorted(repo.tags)
        base = f"{self.api_url}/repos/{repo.full_name}"
        items = []
        for name in names:
            target = self._tag_target(repo, name)
            commit = target[1] if target else ZERO_SHA
            if repo.git_path and target and target[0] == "tag":
                peeled = git_text(repo.git_path, "rev-parse", f"{name}^{{commit}}")
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
