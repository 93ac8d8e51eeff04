"""GitHub Actions on the GitHub emulator: workflows, dispatch, runs, attempts, jobs, artifacts, logs.

:class:`ActionsService` is the Actions half of :class:`~phase4gate.sandbox.github_api.GitHubEmulator`
(``emulator.actions``): its routes join the emulator's, so authentication, ``x-ratelimit-*``
headers, ETags (a 304 costs no rate limit) and fault injection work as for every other route.
Workflows are read from a real git repository per GitHub repository (``sources``), at the
dispatched ref.  Routes (``{r}`` is ``owner/name``, ``{wf}`` a workflow id or file name)::

    GET  /repos/{r}/actions/workflows                      list workflows (default branch)
    GET  /repos/{r}/actions/workflows/{wf}
    POST /repos/{r}/actions/workflows/{wf}/dispatches      204; 200 + run details with
                                                           return_run_details or 2026-03-10
    GET  /repos/{r}/actions/workflows/{wf}/runs            filters event, status, branch,
    GET  /repos/{r}/actions/runs                             created, head_sha, actor; paginated
    GET  /repos/{r}/actions/runs/{id}                      the latest attempt
    GET  /repos/{r}/actions/runs/{id}/attempts/{n}
    GET  /repos/{r}/actions/runs/{id}/jobs                 filter=latest (default) | all
    GET  /repos/{r}/actions/runs/{id}/attempts/{n}/jobs
    GET  /repos/{r}/actions/jobs/{id}
    GET  /repos/{r}/actions/runs/{id}/artifacts            name filter; paginated; with digest
    GET  /repos/{r}/actions/artifacts/{id}
    GET  /repos/{r}/actions/artifacts/{id}/zip             302 to a signed URL; 410 expired
    GET  /repos/{r}/actions/runs/{id}/logs                 302 to a signed URL of a zip
    GET  /repos/{r}/actions/runs/{id}/attempts/{n}/logs
    POST /repos/{r}/actions/runs/{id}/cancel               202; 409 when completed
    POST /repos/{r}/actions/runs/{id}/rerun                201; a new attempt

A signed URL is ``{blob_origin}/_blobs/{token}?sig=...&se=...``: on a server of its own
(:class:`BlobServer`, another port, as GitHub's blob storage is another host, so a client that
follows the redirect drops its ``Authorization`` header as it would for GitHub), answered
without authentication, expiring after ``ActionsBehaviour.signed_url_ttl_seconds`` (410
after), refusing a request that carries an ``Authorization`` header (400, as a blob store
given a second credential does).  Every fetch is recorded in ``blob_fetches``.

:meth:`ActionsService.restrict` gives a token only some Actions permission (an App installation
token): a route it may not use answers 403 with ``x-accepted-github-permissions: actions=read|write``.

A dispatched run waits in ``queued`` until a runner (:mod:`phase4gate.sandbox.actions_runner`)
registered with :meth:`ActionsService.attach_runner` takes it; without one it stays queued.
:class:`ActionsBehaviour` holds the scenario knobs.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlencode

from attrs import evolve

from phase4gate.sandbox._server import Fault, Request, Response
from phase4gate.sandbox.actions_shapes import (
    ActionsArtifact,
    ActionsJob,
    ActionsStep,
    RunAttempt,
    WorkflowFile,
    WorkflowRunState,
    artifact_json,
    display_title,
    iso,
    job_json,
    read_workflow,
    run_json,
    stable_id,
    substitute,
    workflow_json,
)
from phase4gate.sandbox.actions_support import (
    _DOC,
    BLOB_PREFIX,
    ActionsBehaviour,
    BlobFetch,
    BlobServer,
    RunTicket,
    _bearer,
    _Blob,
    _blob_error,
    _created_window,
    _input_text,
    _invalid,
    _minimal_repo,
    error,
)
from phase4gate.sandbox.github_shapes import git_text

if TYPE_CHECKING:
    from phase4gate.sandbox.github_api import GitHubEmulator
    from phase4gate.sandbox.github_seed import SeedRepo

__all__ = [
    "API_VERSIONS",
    "BLOB_PREFIX",
    "MAX_INPUTS",
    "RUN_DETAILS_VERSION",
    "ActionsBehaviour",
    "ActionsService",
    "BlobFetch",
    "BlobServer",
    "RunTicket",
]

API_VERSIONS: Final = ("2022-11-28", "2026-03-10")
RUN_DETAILS_VERSION: Final = "2026-03-10"  # dispatch always answers 200 with the run's details
MAX_INPUTS: Final = 25
WORKFLOWS_DIR: Final = ".github/workflows"
_RUN_ID_BASE: Final = 21_000_000_000
_JOB_ID_BASE: Final = 58_000_000_000
_ARTIFACT_ID_BASE: Final = 3_100_000_000
_SECONDARY: Final = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
_RUN: Final = r"/actions/runs/(?P<id>\d+)"
_LEVELS: Final = ("none", "read", "write")

Handler = Callable[[Request, "SeedRepo", "re.Match[str]"], Response]


class ActionsService:
    """The Actions state and routes of one GitHub emulator (``emulator.actions``)."""

    def __init__(self, emulator: GitHubEmulator, *, clock: Callable[[], float] = time.time) -> None:
        self.emulator = emulator
        self.lock: threading.RLock = emulator.lock
        self.clock = clock
        self.behaviour = ActionsBehaviour()
        self.sources: dict[str, str] = {}  # repository (lower case) -> git path
        self.runs: list[WorkflowRunState] = []
        self.artifacts: list[ActionsArtifact] = []
        self.blob_fetches: list[BlobFetch] = []
        self.dispatches: list[dict[str, Any]] = []  # every accepted dispatch body, in order
        self._blobs: dict[str, _Blob] = {}
        self._next_run = _RUN_ID_BASE
        self._next_job = _JOB_ID_BASE
        self._next_artifact = _ARTIFACT_ID_BASE
        self._on_queued: Callable[[RunTicket], None] | None = None
        self._workflow_cache: dict[tuple[str, str], WorkflowFile | None] = {}
        self._commit_cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._permissions: dict[str, str] = {}  # token -> its only Actions permission
        self._lost_answers = 0
        self.blob_server = BlobServer(self)

    # ------------------------------------------------------------------ lifecycle (with the emulator)

    def start(self) -> None:
        """Start the signed-URL server (the GitHub emulator calls this when it starts)."""
        self.blob_server.start()

    def stop(self) -> None:
        """Stop the signed-URL server."""
        self.blob_server.stop()

    @property
    def blob_origin(self) -> str:
        """``http://127.0.0.1:PORT`` of the signed URLs."""
        return self.blob_server.origin

    # ------------------------------------------------------------------ configuration

    def add_source(self, repo: str, git_path: str) -> None:
        """Serve *repo*'s workflows (and run its jobs) from the git repository at *git_path*."""
        with self.lock:
            self.sources[repo.lower()] = git_path

    def set_behaviour(self, behaviour: ActionsBehaviour | None = None, **changes: Any) -> ActionsBehaviour:  # noqa: ANN401
        """Replace the behaviour (or change some of its knobs); return the new one."""
        with self.lock:
            self.behaviour = evolve(behaviour or self.behaviour, **changes)
            self._lost_answers = 0
            return self.behaviour

    def attach_runner(self, on_queued: Callable[[RunTicket], None] | None) -> None:
        """Hand every queued attempt to *on_queued* (None: detach; runs stay queued)."""
        with self.lock:
            self._on_queued = on_queued

    def routes(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        """The routes under ``/repos/{r}`` this service answers."""
        wf = r"/actions/workflows/(?P<wf>[^/]+)"
        pairs: Sequence[tuple[str, str, Handler]] = (
            ("GET", r"/actions/workflows", self._list_workflows),
            ("GET", wf, self._get_workflow),
            ("POST", wf + r"/dispatches", self._dispatch),
            ("GET", wf + r"/runs", self._list_runs),
            ("GET", r"/actions/runs", self._list_runs),
            ("GET", _RUN, self._get_run),
            ("GET", _RUN + r"/attempts/(?P<n>\d+)", self._get_run),
            ("GET", _RUN + r"/jobs", self._list_jobs),
            ("GET", _RUN + r"/attempts/(?P<n>\d+)/jobs", self._list_jobs),
            ("GET", r"/actions/jobs/(?P<job>\d+)", self._get_job),
            ("GET", _RUN + r"/artifacts", self._list_artifacts),
            ("GET", r"/actions/artifacts/(?P<art>\d+)", self._get_artifact),
            ("GET", r"/actions/artifacts/(?P<art>\d+)/(?P<fmt>[^/]+)", self._download_artifact),
            ("GET", _RUN + r"/logs", self._download_logs),
            ("GET", _RUN + r"/attempts/(?P<n>\d+)/logs", self._download_logs),
            ("POST", _RUN + r"/cancel", self._cancel),
            ("POST", _RUN + r"/rerun", self._rerun),
        )
        return [(method, re.compile(pattern), self._guarded(method, handler)) for method, pattern, handler in pairs]

    # ------------------------------------------------------------------ permissions of installation tokens

    def restrict(self, token: str, actions: str) -> None:
        """Give *token* only this Actions permission (``none``, ``read`` or ``write``), as an App token has.

        Raises:
            ValueError: *actions* is not one of those.
        """
        if actions not in _LEVELS:
            msg = f"actions permission must be one of {', '.join(_LEVELS)}, got {actions!r}"
            raise ValueError(msg)
        with self.lock:
            self._permissions[token] = actions

    def _guarded(self, method: str, handler: Handler) -> Handler:
        need = "write" if method == "POST" else "read"

        def guarded(request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
            granted = self._permissions.get(_bearer(request) or "")
            if granted is not None and _LEVELS.index(granted) < _LEVELS.index(need):
                return error(
                    403,
                    "Resource not accessible by integration",
                    {"x-accepted-github-permissions": f"actions={need}"},
                    doc="https://docs.github.com/rest/actions",
                )
            return handler(request, repo, m)

        return guarded

    # ------------------------------------------------------------------ reading workflows from git

    def _source(self, repo: SeedRepo) -> str | None:
        return self.sources.get(repo.full_name.lower())

    def _workflow_at(self, source: str, commit: str, path: str) -> WorkflowFile | None:
        if commit == "HEAD":  # cache by commit: the default branch may move
            commit = git_text(source, "rev-parse", "HEAD") or commit
        key = (commit, path)
        if key not in self._workflow_cache:
            text = git_text(source, "show", f"{commit}:{path}")
            self._workflow_cache[key] = read_workflow(text, path=path) if text is not None else None
        return self._workflow_cache[key]

    def _workflow_paths(self, source: str, commit: str = "HEAD") -> list[str]:
        listing = git_text(source, "ls-tree", "--name-only", f"{commit}:{WORKFLOWS_DIR}") or ""
        return sorted(f"{WORKFLOWS_DIR}/{n}" for n in listing.splitlines() if n.endswith((".yml", ".yaml")))

    def _find_workflow(self, repo: SeedRepo, key: str) -> str | None:
        """Return the path of workflow *key* (an id or a file name) on the default branch."""
        source = self._source(repo)
        if source is None:
            return None
        for path in self._workflow_paths(source):
            if key in {path.rsplit("/", 1)[-1], str(self._workflow_id(repo.full_name, path))}:
                return path
        return None

    @staticmethod
    def _workflow_id(repo: str, path: str) -> int:
        return stable_id(f"{repo.lower()}:{path}", 160_000_000)

    def _resolve_ref(self, source: str, ref: str) -> tuple[str, str] | None:
        """Return (commit, short name) of branch or tag *ref*."""
        short = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        candidates = [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}"]
        for candidate in candidates:
            sha = git_text(source, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
            if sha:
                return sha, short
        return None

    # ------------------------------------------------------------------ shapes

    def _urls(self) -> tuple[str, str]:
        return self.emulator.api_url, self.emulator.origin

    def _run_json(self, run: WorkflowRunState, attempt: RunAttempt) -> dict[str, Any]:
        api, origin = self._urls()
        shapes = self.emulator.shapes
        seed_repo = self.emulator.state.repo(run.repo)
        repository = _minimal_repo(shapes.repo(seed_repo)) if seed_repo else {}
        return run_json(
            api,
            origin,
            run,
            attempt,
            repository=repository,
            head_commit=self._head_commit(run),
            user=shapes.user,
        )

    def _head_commit(self, run: WorkflowRunState) -> dict[str, Any] | None:
        key = (run.repo.lower(), run.head_sha)
        if key not in self._commit_cache:
            self._commit_cache[key] = self._read_commit(run)
        return self._commit_cache[key]

    def _read_commit(self, run: WorkflowRunState) -> dict[str, Any] | None:
        source = self.sources.get(run.repo.lower())
        raw = (
            git_text(source, "show", "-s", "--format=%T%n%an%n%ae%n%cn%n%ce%n%cI%n%B", run.head_sha) if source else None
        )
        if not raw:
            return None
        tree, an, ae, cn, ce, date, *message = raw.split("\n")
        stamp = date.replace("+00:00", "Z")
        return {
            "id": run.head_sha,
            "tree_id": tree,
            "message": "\n".join(message).strip(),
            "timestamp": stamp,
            "author": {"name": an, "email": ae},
            "committer": {"name": cn, "email": ce},
        }

    # ------------------------------------------------------------------ pagination of wrapped lists

    def _page(self, request: Request, key: str, items: Sequence[Any]) -> Response:
        q = parse_qs(request.query)
        try:
            per_page = max(1, min(100, int(q.get("per_page", ["30"])[0])))
            page = max(1, int(q.get("page", ["1"])[0]))
        except ValueError:
            return error(422, "Validation Failed: per_page and page must be integers")
        last = max(1, -(-len(items) // per_page))
        chunk = list(items[(page - 1) * per_page : page * per_page])
        kept = [(k, v) for k, vs in q.items() if k not in {"page", "per_page"} for v in vs]
        url = self.emulator.origin + request.path

        def link(p: int, rel: str) -> str:
            return f'<{url}?{urlencode([*kept, ("per_page", per_page), ("page", p)])}>; rel="{rel}"'

        links: list[str] = []
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        headers = {"Link": ", ".join(links)} if links else {}
        return Response.json({"total_count": len(items), key: chunk}, headers=headers)

    # ------------------------------------------------------------------ workflows

    def _list_workflows(self, request: Request, repo: SeedRepo, _m: re.Match[str]) -> Response:
        source = self._source(repo)
        api, origin = self._urls()
        items = []
        if source is not None:
            for path in self._workflow_paths(source):
                wf = self._workflow_at(source, "HEAD", path)
                name = wf.name if wf else path
                wid = self._workflow_id(repo.full_name, path)
                items.append(workflow_json(api, origin, repo.full_name, wid, path, name, "2026-05-01T09:00:00Z"))
        return self._page(request, "workflows", items)

    def _get_workflow(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        path = self._find_workflow(repo, m["wf"])
        source = self._source(repo)
        if path is None or source is None:
            return error(404, "Not Found")
        wf = self._workflow_at(source, "HEAD", path)
        api, origin = self._urls()
        wid = self._workflow_id(repo.full_name, path)
        return Response.json(
            workflow_json(api, origin, repo.full_name, wid, path, wf.name if wf else path, "2026-05-01T09:00:00Z")
        )

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        version = request.header("X-GitHub-Api-Version") or API_VERSIONS[0]
        if version not in API_VERSIONS:
            return error(400, f"Unsupported 'X-GitHub-Api-Version' header value: {version}")
        path = self._find_workflow(repo, m["wf"])
        source = self._source(repo)
        if path is None or source is None:
            return error(404, "Not Found", doc=f"{_DOC}/workflows#create-a-workflow-dispatch-event")
        try:
            body = request.json()
        except ValueError:
            return error(400, "Problems parsing JSON")
        if not isinstance(body, dict):
            return error(400, "Problems parsing JSON")
        behaviour = self.behaviour
        # 2026-03-10 always answers the run's details: its body has no return_run_details key.
        asks = behaviour.run_details and version != RUN_DETAILS_VERSION
        permitted = {"ref", "inputs"} | ({"return_run_details"} if asks else set())
        for key in body:
            if key not in permitted:
                return _invalid(f'"{key}" is not a permitted key.')
        ref = body.get("ref")
        if not isinstance(ref, str) or not ref:
            return _invalid('"ref" wasn\'t supplied.')
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            return _invalid(f"For 'properties/inputs', {json.dumps(inputs)} is not an object.")
        if len(inputs) > MAX_INPUTS:
            return _invalid(f"No more than {MAX_INPUTS} properties are allowed; {len(inputs)} were supplied.")
        if behaviour.dispatch_error:
            return error(422, behaviour.dispatch_error, doc=f"{_DOC}/workflows#create-a-workflow-dispatch-event")
        resolved = self._resolve_ref(source, ref)
        if resolved is None:
            return error(422, f"No ref found for: {ref}")
        sha, short = resolved
        wf = self._workflow_at(source, sha, path)
        if wf is None or not wf.dispatch:
            return error(422, "Workflow does not have 'workflow_dispatch' trigger")
        unexpected = sorted(k for k in inputs if k not in wf.inputs)
        if unexpected:
            return error(422, f"Unexpected inputs provided: {json.dumps(unexpected)}")
        values = {k: _input_text(v) for k, v in inputs.items()}
        for name, spec in wf.inputs.items():
            if name not in values:
                if spec.required and spec.default is None:
                    return error(422, f"Required input '{name}' not provided")
                if spec.default is not None:
                    values[name] = spec.default
        login = self.emulator.who_login(request)
        run = self._new_run(repo, path, wf, sha=sha, branch=short, inputs=values, login=login)
        self.dispatches.append(dict(body))
        if self._lost_answers < behaviour.lose_dispatch_answers:
            self._lost_answers += 1
            return error(502, "Server Error")
        wants = body.get("return_run_details") is True or (version == RUN_DETAILS_VERSION and behaviour.run_details)
        if not wants:
            return Response(204)
        api, origin = self._urls()
        return Response.json(
            {
                "workflow_run_id": run.id,
                "run_url": f"{api}/repos/{run.repo}/actions/runs/{run.id}",
                "html_url": f"{origin}/{run.repo}/actions/runs/{run.id}",
            }
        )

    def _new_run(  # noqa: PLR0913 - the dispatch's whole result
        self,
        repo: SeedRepo,
        path: str,
        wf: WorkflowFile,
        *,
        sha: str,
        branch: str,
        inputs: dict[str, str],
        login: str | None,
        event: str = "workflow_dispatch",
    ) -> WorkflowRunState:
        now = self.clock()
        self._next_run += 1
        wid = self._workflow_id(repo.full_name, path)
        number = 1 + max((r.run_number for r in self.runs if r.workflow_id == wid), default=0)
        knobs = self.behaviour.for_run(path, number)
        sha = knobs.head_sha or sha
        run = WorkflowRunState(
            id=self._next_run,
            repo=repo.full_name,
            workflow_id=wid,
            workflow_path=path,
            workflow_name=wf.name,
            run_number=number,
            head_branch=branch,
            head_sha=sha,
            event=event,
            inputs=inputs,
            display_title=display_title(wf, inputs),
            actor=login,
            created_at=iso(now),
            created_epoch=now,
            concurrency=substitute(wf.concurrency, wf, inputs) if wf.concurrency else None,
        )
        self.runs.append(run)
        self._new_attempt(run, login)
        if knobs.rate_limited:
            self._inject_rate_limits(run)
        return run

    def add_run(  # noqa: PLR0913 - a run's origin, each a keyword
        self,
        repo: str,
        workflow: str,
        *,
        inputs: Mapping[str, str],
        ref: str = "main",
        event: str = "push",
        actor: str = "someone-else",
    ) -> int:
        """Start a run nobody dispatched through the API (another trigger or another client); return its id.

        For scenarios where a run that is not the gate's carries the same correlation id.

        Raises:
            KeyError: no such repository, workflow or ref.
        """
        with self.lock:
            seed_repo = self.emulator.state.repo(repo)
            source = self.sources.get(repo.lower())
            path = self._find_workflow(seed_repo, workflow) if seed_repo else None
            resolved = self._resolve_ref(source, ref) if source else None
            wf = self._workflow_at(source, resolved[0], path) if source and resolved and path else None
            if seed_repo is None or path is None or resolved is None or wf is None:
                msg = f"no workflow {workflow!r} at {ref!r} in {repo}"
                raise KeyError(msg)
            values = dict(inputs)
            sha, branch = resolved
            run = self._new_run(seed_repo, path, wf, sha=sha, branch=branch, inputs=values, login=actor, event=event)
            return run.id

    def runs_with(self, name: str, value: str) -> list[WorkflowRunState]:
        """Return the runs whose input *name* is *value* (e.g. every run of one correlation id)."""
        with self.lock:
            return [r for r in self.runs if r.inputs.get(name) == value]

    def _knobs(self, run: WorkflowRunState) -> ActionsBehaviour:
        return self.behaviour.for_run(run.workflow_path, run.run_number)

    def _new_attempt(self, run: WorkflowRunState, actor: str | None) -> RunAttempt:
        at = iso(self.clock())
        self._next_job += 1
        job_name = run.workflow_path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        attempt = RunAttempt(
            number=len(run.attempts) + 1,
            created_at=at,
            triggering_actor=actor,
            updated_at=at,
            jobs=[ActionsJob(id=self._next_job, name=job_name, created_at=at)],
        )
        run.attempts.append(attempt)
        if self._on_queued is not None and not self._knobs(run).queued_forever:
            self._on_queued(self.ticket(run, attempt))
        return attempt

    def ticket(self, run: WorkflowRunState, attempt: RunAttempt) -> RunTicket:
        """Return the runner's view of *attempt* of *run*."""
        return RunTicket(
            run_id=run.id,
            attempt=attempt.number,
            repo=run.repo,
            workflow_path=run.workflow_path,
            head_sha=run.head_sha,
            head_branch=run.head_branch,
            inputs=dict(run.inputs),
            source=self.sources.get(run.repo.lower(), ""),
            concurrency=run.concurrency,
        )

    def _inject_rate_limits(self, run: WorkflowRunState) -> None:
        from phase4gate.sandbox.github_api import API_PREFIX, RATE_LIMIT  # noqa: PLC0415 - a cycle at import

        wait = str(self.behaviour.rate_limit_retry_after)
        doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
        secondary = json.dumps({"message": _SECONDARY, "documentation_url": doc, "status": "403"}).encode()
        primary = json.dumps(
            {"message": "API rate limit exceeded for user ID 1.", "documentation_url": doc, "status": "403"}
        ).encode()
        reset = str(int(self.clock()) + self.behaviour.rate_limit_retry_after)
        exhausted = {
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": str(RATE_LIMIT),
            "x-ratelimit-reset": reset,
            "x-ratelimit-resource": "core",
        }
        plenty = {**exhausted, "x-ratelimit-remaining": str(RATE_LIMIT - 10), "x-ratelimit-used": "10"}
        self.emulator.inject(
            f"{API_PREFIX}/repos/{run.repo}/actions/runs/{run.id}",
            Fault("status", 429, {"Retry-After": wait, **plenty}, secondary.replace(b'"403"', b'"429"')),
            Fault("status", 403, {"Retry-After": wait, **plenty}, secondary),
            Fault("status", 403, exhausted, primary),
            method="GET",
        )

    # ------------------------------------------------------------------ runs

    def _find_run(self, repo: SeedRepo, run_id: str) -> WorkflowRunState | None:
        return next((r for r in self.runs if r.id == int(run_id) and r.repo.lower() == repo.full_name.lower()), None)

    def _list_runs(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        q = {k: v[0] for k, v in parse_qs(request.query).items()}
        runs = [r for r in self.runs if r.repo.lower() == repo.full_name.lower()]
        if "wf" in m.groupdict():
            path = self._find_workflow(repo, m["wf"])
            if path is None:
                return error(404, "Not Found")
            runs = [r for r in runs if r.workflow_path == path]
        created = q.get("created")
        try:
            window = _created_window(created) if created else None
        except ValueError:
            return error(422, f"Validation Failed: created {created!r} is not a date or a range of dates")
        picked = []
        for r in runs:
            a = r.latest
            if "event" in q and r.event != q["event"]:
                continue
            if "status" in q and q["status"] not in {a.status, a.conclusion}:
                continue
            if "branch" in q and r.head_branch != q["branch"]:
                continue
            if "head_sha" in q and r.head_sha != q["head_sha"]:
                continue
            if "actor" in q and r.actor != q["actor"]:
                continue
            if window is not None and not window(r.created_epoch):
                continue
            picked.append(r)
        picked.sort(key=lambda r: (r.created_epoch, r.id), reverse=True)
        return self._page(request, "workflow_runs", [self._run_json(r, r.latest) for r in picked])

    def _get_run(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        run = self._find_run(repo, m["id"])
        if run is None:
            return error(404, "Not Found")
        attempt = run.attempt(int(m["n"])) if m.groupdict().get("n") else run.latest
        if attempt is None:
            return error(404, "Not Found")
        return Response.json(self._run_json(run, attempt))

    def _list_jobs(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        run = self._find_run(repo, m["id"])
        if run is None:
            return error(404, "Not Found")
        q = {k: v[0] for k, v in parse_qs(request.query).items()}
        api, origin = self._urls()
        if m.groupdict().get("n"):
            one = run.attempt(int(m["n"]))
            if one is None:
                return error(404, "Not Found")
            attempts = [one]
        else:
            chosen = q.get("filter", "latest")
            if chosen not in {"latest", "all"}:
                return error(422, f"Validation Failed: filter {chosen!r} is not latest or all")
            attempts = list(reversed(run.attempts)) if chosen == "all" else [run.latest]
        jobs = [job_json(api, origin, run, a, j) for a in attempts for j in a.jobs]
        return self._page(request, "jobs", jobs)

    def _get_job(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        api, origin = self._urls()
        for run in self.runs:
            if run.repo.lower() != repo.full_name.lower():
                continue
            for a in run.attempts:
                for j in a.jobs:
                    if j.id == int(m["job"]):
                        return Response.json(job_json(api, origin, run, a, j))
        return error(404, "Not Found")

    # ------------------------------------------------------------------ artifacts and logs

    def _artifact_json(self, art: ActionsArtifact) -> dict[str, Any]:
        run = next(r for r in self.runs if r.id == art.run_id)
        seed_repo = self.emulator.state.repo(run.repo)
        repo_id = self.emulator.shapes.repo(seed_repo)["id"] if seed_repo else 0
        return artifact_json(self.emulator.api_url, run, art, now=self.clock(), repo_id=repo_id)

    def _list_artifacts(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        run = self._find_run(repo, m["id"])
        if run is None:
            return error(404, "Not Found")
        name = {k: v[0] for k, v in parse_qs(request.query).items()}.get("name")
        arts = [a for a in self.artifacts if a.run_id == run.id and (name is None or a.name == name)]
        arts.sort(key=lambda a: a.id, reverse=True)
        return self._page(request, "artifacts", [self._artifact_json(a) for a in arts])

    def _find_artifact(self, repo: SeedRepo, art_id: str) -> ActionsArtifact | None:
        for a in self.artifacts:
            if a.id == int(art_id):
                run = next(r for r in self.runs if r.id == a.run_id)
                return a if run.repo.lower() == repo.full_name.lower() else None
        return None

    def _get_artifact(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        art = self._find_artifact(repo, m["art"])
        if art is None:
            return error(404, "Not Found")
        return Response.json(self._artifact_json(art))

    def _download_artifact(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        art = self._find_artifact(repo, m["art"])
        if art is None or m["fmt"] != "zip":
            return error(404, "Not Found")
        if self.clock() >= art.expires_at:
            return error(410, "Artifact has expired", doc=f"{_DOC}/artifacts#download-an-artifact")
        return self._redirect(art.data, "artifact", f"{art.name}.zip")

    def _download_logs(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        run = self._find_run(repo, m["id"])
        if run is None:
            return error(404, "Not Found")
        attempt = run.attempt(int(m["n"])) if m.groupdict().get("n") else run.latest
        if attempt is None or attempt.logs is None:
            return error(404, "Not Found")
        return self._redirect(attempt.logs, "logs", f"logs_{run.id}.zip")

    def _redirect(self, data: bytes, kind: str, filename: str) -> Response:
        token = secrets.token_urlsafe(18)
        sig = secrets.token_urlsafe(24)
        expires = self.clock() + self.behaviour.signed_url_ttl_seconds
        self._blobs[token] = _Blob(data, expires, kind, filename, sig)
        query = urlencode({"sv": "2025-01-05", "se": iso(expires), "sp": "r", "sig": sig})
        return Response(302, b"", {"Location": f"{self.blob_origin}{BLOB_PREFIX}{token}?{query}"})

    def serve_blob(self, request: Request) -> Response:
        """Answer a signed URL (no authentication; 410 once expired; 400 with an ``Authorization`` header)."""
        with self.lock:
            token = request.path[len(BLOB_PREFIX) :]
            blob = self._blobs.get(token)
            sig = parse_qs(request.query).get("sig", [""])[0]
            authorization = request.header("Authorization") is not None
            if blob is None or not secrets.compare_digest(sig, blob.sig):
                response = _blob_error(403, "AuthenticationFailed", "Server failed to authenticate the request.")
            elif authorization:
                response = _blob_error(
                    400, "InvalidAuthenticationInfo", "Authentication information is not given in the correct format."
                )
            elif self.clock() >= blob.expires:
                response = _blob_error(410, "AuthenticationFailed", "Signed expiry time has passed.")
            else:
                response = Response(
                    200,
                    blob.data,
                    {
                        "Content-Type": "application/zip",
                        "Content-Disposition": f"attachment; filename={blob.filename}",
                    },
                )
            self.blob_fetches.append(BlobFetch(request.path, authorization, response.status, blob.kind if blob else ""))
            return response

    # ------------------------------------------------------------------ cancel and rerun

    def _cancel(self, _request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        run = self._find_run(repo, m["id"])
        if run is None:
            return error(404, "Not Found")
        attempt = run.latest
        if attempt.status == "completed":
            return error(409, "Cannot cancel a workflow run that is completed.")
        attempt.cancel_requested = True
        if attempt.status in {"queued", "waiting", "pending", "requested"}:
            self._finish(attempt, "cancelled")
        return Response.json({}, 202)

    def _rerun(self, request: Request, repo: SeedRepo, m: re.Match[str]) -> Response:
        run = self._find_run(repo, m["id"])
        if run is None:
            return error(404, "Not Found")
        if run.latest.status != "completed":
            return error(403, "This workflow is already running")
        self._new_attempt(run, self.emulator.who_login(request))
        return Response.json({}, 201)

    # ------------------------------------------------------------------ the runner's side

    def run_state(self, run_id: int) -> WorkflowRunState | None:
        """Return run *run_id* (for tests and the runner; read it under ``lock``)."""
        with self.lock:
            return next((r for r in self.runs if r.id == run_id), None)

    def _attempt(self, run_id: int, number: int) -> tuple[WorkflowRunState, RunAttempt]:
        run = next(r for r in self.runs if r.id == run_id)
        attempt = run.attempt(number)
        if attempt is None:
            msg = f"run {run_id} has no attempt {number}"
            raise KeyError(msg)
        return run, attempt

    def start_attempt(self, ticket: RunTicket, *, runner_name: str, runner_id: int, steps: Sequence[str]) -> bool:
        """Mark *ticket*'s attempt in progress on *runner_name*; False when it was cancelled before it started."""
        with self.lock:
            run, attempt = self._attempt(ticket.run_id, ticket.attempt)
            if attempt.status == "completed":
                return False
            at = iso(self.clock())
            attempt.status, attempt.run_started_at, attempt.updated_at = "in_progress", at, at
            job = attempt.jobs[0]
            job.status, job.started_at = "in_progress", at
            job.runner_name, job.runner_id = runner_name, runner_id
            job.steps = [ActionsStep(name, i) for i, name in enumerate(steps, start=1)]
            if self._knobs(run).cancel_runs:
                attempt.cancel_requested = True
            return True

    def step_started(self, ticket: RunTicket, number: int) -> None:
        """Mark step *number* of *ticket*'s job in progress."""
        with self.lock:
            _run, attempt = self._attempt(ticket.run_id, ticket.attempt)
            step = attempt.jobs[0].steps[number - 1]
            step.status, step.started_at = "in_progress", iso(self.clock())
            attempt.updated_at = step.started_at

    def step_finished(self, ticket: RunTicket, number: int, conclusion: str) -> None:
        """Mark step *number* of *ticket*'s job completed with *conclusion*."""
        with self.lock:
            _run, attempt = self._attempt(ticket.run_id, ticket.attempt)
            step = attempt.jobs[0].steps[number - 1]
            at = iso(self.clock())
            step.status, step.conclusion, step.completed_at = "completed", conclusion, at
            step.started_at = step.started_at or at
            attempt.updated_at = at

    def is_open(self, ticket: RunTicket) -> bool:
        """Whether *ticket*'s attempt has not completed (e.g. it was not cancelled while queued)."""
        with self.lock:
            return self._attempt(ticket.run_id, ticket.attempt)[1].status != "completed"

    def mark_pending(self, ticket: RunTicket) -> None:
        """Mark *ticket*'s attempt ``pending``: it waits for its concurrency group."""
        with self.lock:
            attempt = self._attempt(ticket.run_id, ticket.attempt)[1]
            if attempt.status in {"queued", "pending"}:
                attempt.status = "pending"
                attempt.jobs[0].status = "pending"

    def cancel_requested(self, ticket: RunTicket) -> bool:
        """Whether someone asked to cancel *ticket*'s attempt."""
        with self.lock:
            return self._attempt(ticket.run_id, ticket.attempt)[1].cancel_requested

    def complete_attempt(
        self,
        ticket: RunTicket,
        conclusion: str,
        *,
        logs: bytes | None = None,
        artifacts: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Complete *ticket*'s attempt with *conclusion*, its logs zip and its uploaded artifacts."""
        import hashlib  # noqa: PLC0415

        with self.lock:
            run, attempt = self._attempt(ticket.run_id, ticket.attempt)
            knobs = self._knobs(run)
            now = self.clock()
            for name, data in artifacts:
                self._next_artifact += 1
                digest = hashlib.sha256(data + (b"\0altered" if knobs.corrupt_digest else b"")).hexdigest()
                self.artifacts.append(
                    ActionsArtifact(
                        id=self._next_artifact,
                        run_id=run.id,
                        attempt=attempt.number,
                        name=name,
                        data=data,
                        digest=f"sha256:{digest}",
                        created_at=now,
                        expires_at=now + knobs.artifact_ttl_seconds,
                    )
                )
            attempt.logs = logs
            self._finish(attempt, knobs.conclusion or conclusion)
            if knobs.rerun_first_attempt and attempt.number == 1 and conclusion != "cancelled":
                self._new_attempt(run, "octo-maintainer")

    def _finish(self, attempt: RunAttempt, conclusion: str) -> None:
        at = iso(self.clock())
        attempt.status, attempt.conclusion, attempt.updated_at = "completed", conclusion, at
        for job in attempt.jobs:
            if job.status != "completed":
                job.status, job.conclusion, job.completed_at = "completed", conclusion, at
            for step in job.steps:
                if step.status != "completed":
                    step.status, step.conclusion = "completed", "skipped" if conclusion != "cancelled" else "cancelled"
