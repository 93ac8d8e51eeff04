"""The GitHub Actions state of the GitHub emulator, its JSON shapes, and a reader of workflow files.

Plain mutable data (change it under ``GitHubEmulator.lock``): a :class:`WorkflowRunState`
has one :class:`RunAttempt` per attempt, each with its jobs (:class:`ActionsJob`, steps
:class:`ActionsStep`), its logs zip and its artifacts (:class:`ActionsArtifact`).  The
``*_json`` functions build the objects of GitHub's REST API (2022-11-28 description:
``workflow``, ``workflow-run``, ``job``, ``artifact``), with URLs under the emulator.

:func:`read_workflow` is a purpose-made reader of the few workflow-file keys the emulator
needs (``name``, ``run-name``, ``on.workflow_dispatch.inputs``, ``concurrency``); it is
not a YAML parser and reads only block mappings of plain or quoted scalars.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

from attrs import define, field, frozen

__all__ = [
    "ActionsArtifact",
    "ActionsJob",
    "ActionsStep",
    "InputSpec",
    "RunAttempt",
    "WorkflowFile",
    "WorkflowRunState",
    "artifact_json",
    "display_title",
    "iso",
    "job_json",
    "read_workflow",
    "run_json",
    "stable_id",
    "substitute",
    "workflow_json",
]

_EXPR_RE: Final = re.compile(r"\$\{\{\s*(?:github\.event\.)?inputs\.(?P<name>[A-Za-z0-9_-]+)\s*\}\}")
_KEY_RE: Final = re.compile(r"^(?P<indent> *)(?P<key>[^\s:#'\"][^:#]*?|'[^']*'|\"[^\"]*\")\s*:(?:\s+(?P<value>.*))?$")
_BLOCK_SCALARS: Final = frozenset({"|", ">", "|-", ">-", "|+", ">+"})


def iso(epoch: float) -> str:
    """Return *epoch* as GitHub's UTC timestamp (``2026-05-12T12:00:00Z``)."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_id(text: str, base: int) -> int:
    """Return a stable numeric id for *text* (``base`` plus a hash)."""
    return base + int(hashlib.sha256(text.encode()).hexdigest()[:7], 16)


# ---------------------------------------------------------------------- workflow files


@frozen
class InputSpec:
    """One ``workflow_dispatch`` input."""

    required: bool = False
    default: str | None = None
    type: str = "string"


@frozen
class WorkflowFile:
    """What the emulator reads from a workflow file."""

    name: str
    run_name: str | None
    dispatch: bool
    inputs: Mapping[str, InputSpec]
    concurrency: str | None


def _scalar(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = raw.strip()
    if text[:1] in {"'", '"'}:
        end = text.find(text[0], 1)
        if end > 0:  # a quoted scalar, perhaps followed by a comment
            return text[1:end]
    # A trailing comment on a plain scalar.
    return re.sub(r"\s+#.*$", "", text)


def _mapping_paths(text: str) -> dict[tuple[str, ...], str | None]:
    """Return every block-mapping key path of *text* with its scalar value (None: a nested mapping)."""
    paths: dict[tuple[str, ...], str | None] = {}
    stack: list[tuple[int, str]] = []
    skip_deeper_than: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if skip_deeper_than is not None:
            if indent > skip_deeper_than:
                continue
            skip_deeper_than = None
        if stripped.startswith("- ") or stripped == "-":
            # Sequences (steps, lists) carry nothing the emulator reads: skip them whole.
            skip_deeper_than = indent
            continue
        m = _KEY_RE.match(line)
        if m is None:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = _scalar(m["key"]) or ""
        value = m["value"]
        path = (*(k for _, k in stack), key)
        if value is not None and value.strip() in _BLOCK_SCALARS:
            paths[path] = ""
            skip_deeper_than = indent
            continue
        paths[path] = _scalar(value) if value is not None and value.strip() else None
        stack.append((indent, key))
    return paths


def read_workflow(text: str, *, path: str) -> WorkflowFile:
    """Read a workflow file's ``name``, ``run-name``, dispatch inputs and concurrency group."""
    paths = _mapping_paths(text)
    on = paths.get(("on",)) or paths.get(("true",))  # YAML 1.1 reads a bare `on` as true
    dispatch = any(p[:2] in {("on", "workflow_dispatch"), ("true", "workflow_dispatch")} for p in paths)
    if on is not None and "workflow_dispatch" in on:
        dispatch = True
    inputs: dict[str, InputSpec] = {}
    for p in paths:
        if len(p) == 4 and p[1:3] == ("workflow_dispatch", "inputs"):
            name = p[3]
            base = (*p[:4],)
            required = (paths.get((*base, "required")) or "false").lower() == "true"
            inputs[name] = InputSpec(required, paths.get((*base, "default")), paths.get((*base, "type")) or "string")
    concurrency = paths.get(("concurrency", "group")) or paths.get(("concurrency",))
    return WorkflowFile(
        name=paths.get(("name",)) or path,
        run_name=paths.get(("run-name",)),
        dispatch=dispatch,
        inputs=inputs,
        concurrency=concurrency,
    )


def display_title(workflow: WorkflowFile, inputs: Mapping[str, str]) -> str:
    """Return a dispatched run's ``display_title``: the ``run-name`` with its inputs substituted."""
    if not workflow.run_name:
        return workflow.name
    return substitute(workflow.run_name, workflow, inputs)


def substitute(text: str, workflow: WorkflowFile, inputs: Mapping[str, str]) -> str:
    """Return *text* with every ``${{ inputs.X }}`` replaced by the input's value (or its default)."""

    def sub(m: re.Match[str]) -> str:
        name = m["name"]
        if name in inputs:
            return inputs[name]
        spec = workflow.inputs.get(name)
        return spec.default or "" if spec else ""

    return _EXPR_RE.sub(sub, text)


# ---------------------------------------------------------------------- state


@define
class ActionsStep:
    """One step of a job."""

    name: str
    number: int
    status: str = "queued"
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None


@define
class ActionsJob:
    """One job of an attempt."""

    id: int
    name: str
    created_at: str
    status: str = "queued"
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    steps: list[ActionsStep] = field(factory=list)
    runner_id: int | None = None
    runner_name: str | None = None
    labels: list[str] = field(factory=lambda: ["ubuntu-latest"])


@define
class ActionsArtifact:
    """One uploaded artifact (a zip) of an attempt."""

    id: int
    run_id: int
    attempt: int
    name: str
    data: bytes = field(repr=False)
    digest: str | None
    created_at: float
    expires_at: float


@define
class RunAttempt:
    """One attempt of a workflow run."""

    number: int
    created_at: str
    triggering_actor: str | None
    status: str = "queued"
    conclusion: str | None = None
    run_started_at: str | None = None
    updated_at: str = ""
    jobs: list[ActionsJob] = field(factory=list)
    logs: bytes | None = field(default=None, repr=False)
    cancel_requested: bool = False


@define
class WorkflowRunState:
    """A workflow run: what was dispatched, and its attempts (the last one is the run's state)."""

    id: int
    repo: str
    workflow_id: int
    workflow_path: str
    workflow_name: str
    run_number: int
    head_branch: str | None
    head_sha: str
    event: str
    inputs: dict[str, str]
    display_title: str
    actor: str | None
    created_at: str
    created_epoch: float
    concurrency: str | None = None
    attempts: list[RunAttempt] = field(factory=list)

    @property
    def latest(self) -> RunAttempt:
        """The latest attempt."""
        return self.attempts[-1]

    def attempt(self, number: int) -> RunAttempt | None:
        """Return attempt *number* (None: no such attempt)."""
        return next((a for a in self.attempts if a.number == number), None)


# ---------------------------------------------------------------------- JSON shapes


def workflow_json(  # noqa: PLR0913, PLR0917 - a workflow's fields
    api_url: str, origin: str, repo: str, wid: int, path: str, name: str, at: str
) -> dict[str, Any]:
    """Return a ``workflow``."""
    base = f"{api_url}/repos/{repo}/actions/workflows/{wid}"
    file = path.rsplit("/", 1)[-1]
    return {
        "id": wid,
        "node_id": f"W_{wid}",
        "name": name,
        "path": path,
        "state": "active",
        "created_at": at,
        "updated_at": at,
        "url": base,
        "html_url": f"{origin}/{repo}/blob/main/{path}",
        "badge_url": f"{origin}/{repo}/workflows/{file}/badge.svg",
    }


def run_json(  # noqa: PLR0913 - the run's whole context
    api_url: str,
    origin: str,
    run: WorkflowRunState,
    attempt: RunAttempt,
    *,
    repository: dict[str, Any],
    head_commit: dict[str, Any] | None,
    user: Any,  # noqa: ANN401 - a callable login -> simple-user
) -> dict[str, Any]:
    """Return a ``workflow-run`` as of *attempt*."""
    base = f"{api_url}/repos/{run.repo}/actions/runs/{run.id}"
    previous = f"{base}/attempts/{attempt.number - 1}" if attempt.number > 1 else None
    return {
        "id": run.id,
        "name": run.workflow_name,
        "node_id": f"WFR_{run.id}",
        "check_suite_id": run.id + 7,
        "check_suite_node_id": f"CS_{run.id + 7}",
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": run.workflow_path,
        "display_title": run.display_title,
        "run_number": run.run_number,
        "run_attempt": attempt.number,
        "event": run.event,
        "status": attempt.status,
        "conclusion": attempt.conclusion,
        "workflow_id": run.workflow_id,
        "url": base,
        "html_url": f"{origin}/{run.repo}/actions/runs/{run.id}",
        "pull_requests": [],
        "created_at": run.created_at,
        "updated_at": attempt.updated_at or run.created_at,
        "actor": user(run.actor),
        "triggering_actor": user(attempt.triggering_actor),
        "run_started_at": attempt.run_started_at or attempt.created_at,
        "jobs_url": f"{base}/jobs",
        "logs_url": f"{base}/logs",
        "check_suite_url": f"{api_url}/repos/{run.repo}/check-suites/{run.id + 7}",
        "artifacts_url": f"{base}/artifacts",
        "cancel_url": f"{base}/cancel",
        "rerun_url": f"{base}/rerun",
        "previous_attempt_url": previous,
        "workflow_url": f"{api_url}/repos/{run.repo}/actions/workflows/{run.workflow_id}",
        "head_commit": head_commit,
        "repository": repository,
        "head_repository": repository,
        "head_repository_id": repository["id"],
        "referenced_workflows": [],
    }


def job_json(api_url: str, origin: str, run: WorkflowRunState, attempt: RunAttempt, job: ActionsJob) -> dict[str, Any]:
    """Return a ``job``."""
    return {
        "id": job.id,
        "run_id": run.id,
        "run_url": f"{api_url}/repos/{run.repo}/actions/runs/{run.id}",
        "run_attempt": attempt.number,
        "node_id": f"CR_{job.id}",
        "head_sha": run.head_sha,
        "head_branch": run.head_branch,
        "url": f"{api_url}/repos/{run.repo}/actions/jobs/{job.id}",
        "html_url": f"{origin}/{run.repo}/actions/runs/{run.id}/job/{job.id}",
        "status": job.status,
        "conclusion": job.conclusion,
        "created_at": job.created_at,
        "started_at": job.started_at or job.created_at,
        "completed_at": job.completed_at,
        "name": job.name,
        "steps": [
            {
                "name": s.name,
                "number": s.number,
                "status": s.status,
                "conclusion": s.conclusion,
                "started_at": s.started_at,
                "completed_at": s.completed_at,
            }
            for s in job.steps
        ],
        "check_run_url": f"{api_url}/repos/{run.repo}/check-runs/{job.id}",
        "labels": list(job.labels),
        "runner_id": job.runner_id,
        "runner_name": job.runner_name,
        "runner_group_id": 1 if job.runner_name else None,
        "runner_group_name": "GitHub Actions" if job.runner_name else None,
        "workflow_name": run.workflow_name,
    }


def artifact_json(
    api_url: str, run: WorkflowRunState, art: ActionsArtifact, *, now: float, repo_id: int
) -> dict[str, Any]:
    """Return an ``artifact`` (``expired`` as of *now*)."""
    base = f"{api_url}/repos/{run.repo}/actions/artifacts/{art.id}"
    return {
        "id": art.id,
        "node_id": f"MDg6QXJ0aWZhY3Q{art.id}",
        "name": art.name,
        "size_in_bytes": len(art.data),
        "url": base,
        "archive_download_url": f"{base}/zip",
        "expired": now >= art.expires_at,
        "created_at": iso(art.created_at),
        "updated_at": iso(art.created_at),
        "expires_at": iso(art.expires_at),
        "digest": art.digest,
        "workflow_run": {
            "id": run.id,
            "repository_id": repo_id,
            "head_repository_id": repo_id,
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
        },
    }
