"""Values, the signed-URL host and helpers of the GitHub Actions emulator (:mod:`phase4gate.sandbox.github_actions`).

:class:`ActionsBehaviour` holds the scenario knobs, :class:`BlobFetch` records a fetch
of a signed URL, :class:`RunTicket` is what the sandbox runner gets for a queued run,
:class:`BlobServer` serves the signed URLs on an origin of its own (as GitHub's blob
host is another host), and :func:`error` answers GitHub's error body.
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from attrs import evolve, field, frozen

from phase4gate.sandbox._server import EmulatorServer, Request, Response

if TYPE_CHECKING:
    from phase4gate.sandbox.github_actions import ActionsService

__all__ = [
    "ARTIFACT_RETENTION_SECONDS",
    "BLOB_PREFIX",
    "DOC_URL",
    "ActionsBehaviour",
    "BlobFetch",
    "BlobServer",
    "RunTicket",
    "error",
]

BLOB_PREFIX: Final = "/_blobs/"
DOC_URL: Final = "https://docs.github.com/rest/actions"
_DOC: Final = DOC_URL
ARTIFACT_RETENTION_SECONDS: Final = 90 * 24 * 3600.0


@frozen
class ActionsBehaviour:
    """Scenario knobs of the Actions emulator and runner (set with ``ActionsService.behaviour``).

    ``run_details`` False: dispatch refuses ``return_run_details`` like an older GitHub
    Enterprise Server (422 "... is not a permitted key."), and 2026-03-10 answers 204.
    (Under 2026-03-10 the key is never permitted: that version's body has no such key.)
    ``rerun_first_attempt``: when attempt 1 completes, the run is re-run once (it ends with
    ``run_attempt`` 2).  ``corrupt_digest``: an artifact's ``digest`` is not its zip's sha256.
    ``head_sha``: runs check out and report this commit instead of the dispatched ref's.
    ``cancel_runs``: every run is cancelled once it is in progress.  ``queued_forever``: no
    runner ever takes a run.  ``artifact_ttl_seconds``: artifact retention (0: expired as
    soon as uploaded; the download answers 410).  ``signed_url_ttl_seconds``: the life of a
    signed download URL.  ``rate_limited``: the first reads of each dispatched run answer a
    secondary limit (429, then 403, both with ``Retry-After``) and then a primary limit (403,
    ``x-ratelimit-remaining: 0``).  ``dispatch_error``: every dispatch answers 422 with it.
    ``queue_seconds``: how long a run stays queued before a free runner takes it.
    ``conclusion``: the run reports this conclusion whatever its job did (e.g. ``success`` for
    a failed canary: evidence that contradicts itself; or ``startup_failure``).
    ``lose_dispatch_answers``: that many dispatches create their run but answer 502 (the answer
    lost on the way back: a client that retries the POST dispatches a second run).

    The per-run knobs (re-run, digest, head SHA, cancel, queued forever, artifact TTL, rate
    limits, conclusion) apply to the runs of ``workflow`` (a file name; None: every workflow) whose
    ``run_number`` is in ``runs`` (empty: every run).
    """

    run_details: bool = True
    rerun_first_attempt: bool = False
    corrupt_digest: bool = False
    head_sha: str | None = None
    cancel_runs: bool = False
    queued_forever: bool = False
    artifact_ttl_seconds: float = ARTIFACT_RETENTION_SECONDS
    signed_url_ttl_seconds: float = 60.0
    rate_limited: bool = False
    rate_limit_retry_after: int = 1
    dispatch_error: str | None = None
    queue_seconds: float = 0.05
    conclusion: str | None = None
    lose_dispatch_answers: int = 0
    workflow: str | None = None
    runs: tuple[int, ...] = ()

    def applies(self, workflow_path: str, run_number: int) -> bool:
        """Whether the per-run knobs apply to run *run_number* of *workflow_path*."""
        if self.workflow is not None and workflow_path.rsplit("/", 1)[-1] != self.workflow:
            return False
        return not self.runs or run_number in self.runs

    def for_run(self, workflow_path: str, run_number: int) -> ActionsBehaviour:
        """Return this behaviour as it applies to one run (the per-run knobs off when it does not)."""
        if self.applies(workflow_path, run_number):
            return self
        return evolve(
            self,
            rerun_first_attempt=False,
            corrupt_digest=False,
            head_sha=None,
            cancel_runs=False,
            queued_forever=False,
            artifact_ttl_seconds=ARTIFACT_RETENTION_SECONDS,
            rate_limited=False,
            conclusion=None,
        )


@frozen
class BlobFetch:
    """One request to a signed URL: which blob, whether it carried ``Authorization``, the answer."""

    path: str
    authorization: bool
    status: int
    kind: str


@frozen
class RunTicket:
    """What a runner needs to execute one attempt of a run."""

    run_id: int
    attempt: int
    repo: str
    workflow_path: str
    head_sha: str
    head_branch: str | None
    inputs: Mapping[str, str]
    source: str
    concurrency: str | None


@frozen
class _Blob:
    data: bytes = field(repr=False)
    expires: float
    kind: str
    filename: str
    sig: str


class BlobServer(EmulatorServer):
    """The signed-URL host of one Actions service (artifact and log zips)."""

    name = "github-blobs"

    def __init__(self, actions: ActionsService) -> None:
        super().__init__()
        self.actions = actions

    def handle(self, request: Request) -> Response:
        """Answer a signed URL."""
        if not request.path.startswith(BLOB_PREFIX):
            return _blob_error(404, "ResourceNotFound", "The specified resource does not exist.")
        return self.actions.serve_blob(request)


def error(status: int, message: str, headers: Mapping[str, str] | None = None, doc: str = _DOC) -> Response:
    """Answer GitHub's error body (``message``, ``documentation_url``, ``status``)."""
    return Response.json({"message": message, "documentation_url": doc, "status": str(status)}, status, headers)


def _invalid(text: str) -> Response:
    return error(422, f"Invalid request.\n\n{text}", doc=f"{_DOC}/workflows#create-a-workflow-dispatch-event")


# ---------------------------------------------------------------------- helpers


def _minimal_repo(full: dict[str, Any]) -> dict[str, Any]:
    """Return a ``minimal-repository`` from a ``full-repository`` (the keys a run carries)."""
    drop = {"parent", "source", "organization", "network_count", "subscribers_count", "permissions"}
    return {k: v for k, v in full.items() if k not in drop}


def _bearer(request: Request) -> str | None:
    value = request.header("Authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() in {"token", "bearer"} else value.strip()


def _input_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _created_window(spec: str) -> Callable[[float], bool]:
    """Return a test of a run's creation time against GitHub's ``created`` qualifier.

    Raises:
        ValueError: *spec* is not ``>=X``, ``>X``, ``<=X``, ``<X``, ``X..Y`` or ``X``.
    """
    import datetime as dt  # noqa: PLC0415

    def parse(text: str) -> float:
        stamp = dt.datetime.fromisoformat(text.strip())
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).timestamp()

    ops: dict[str, Callable[[float, float], bool]] = {
        ">=": operator.ge,
        "<=": operator.le,
        ">": operator.gt,
        "<": operator.lt,
    }
    for op, compare in ops.items():
        if spec.startswith(op):
            bound = parse(spec[len(op) :])
            return functools.partial(lambda c, b, f: f(c, b), b=bound, f=compare)
    if ".." in spec:
        lo, hi = spec.split("..", 1)
        low = parse(lo) if lo != "*" else None
        high = parse(hi) if hi != "*" else None
        return lambda c: (low is None or c >= low) and (high is None or c <= high)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec.strip()):
        start = parse(spec.strip() + "T00:00:00Z")
        return lambda c: start <= c < start + 86400
    exact = parse(spec)
    return lambda c: int(c) == int(exact)


def _blob_error(status: int, code: str, message: str) -> Response:
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    ).encode()
    return Response(status, body, {"Content-Type": "application/xml"})
