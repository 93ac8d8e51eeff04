"""The GitHub Actions REST calls the executor makes, for one repository.

Every call sends ``Accept: application/vnd.github+json`` and ``X-GitHub-Api-Version``
(``[canary.actions] api_version``), and the repository's token
(:func:`phase4gate.adapters.github_app.token_source`).  Errors are mapped once:

* 401 and a 403 that is no rate limit are :class:`ConfigError` naming the permission
  the call needs (Actions: write to dispatch, Actions: read for runs and artifacts);
* a dispatch answered 404 (no such workflow, or no access) or 422 (no
  ``workflow_dispatch`` trigger, unexpected inputs, unknown ref) is a
  :class:`ConfigError` with GitHub's message;
* anything else GitHub does not answer is a :class:`GitHubError` (could not decide).

Every GET sends the last ETag of its URL (a 304 costs no rate limit and is counted apart);
artifact and log downloads follow GitHub's 302 to a short-lived signed URL *without*
the ``Authorization`` header (410 there, or at GitHub: expired).  A renamed
repository's 301/307 is followed to the same origin only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode, urlsplit

from attrs import frozen

from phase4gate.checks.actions import carries_correlation
from phase4gate.errors import ConfigError, GitHubError, redact

if TYPE_CHECKING:
    from phase4gate.adapters.actions.transport import Answer, Transport
    from phase4gate.adapters.github_app import TokenSource

__all__ = ["ActionsClient", "ArtifactGoneError", "Dispatched"]

_MAX_PAGES: Final = 10
_MAX_HOPS: Final = 3
_LINK_NEXT_RE: Final = re.compile(r'<([^>]+)>;\s*rel="next"')
# Under this REST API version a dispatch always answers 200 with the run's details.
RUN_DETAILS_ALWAYS_VERSION: Final = "2026-03-10"
_NOT_PERMITTED_RE: Final = re.compile(
    r"return_run_details.{0,40}not a permitted key|not a permitted key", re.IGNORECASE
)
# A dispatch listed in the runs may lag the dispatch a little; the created>= filter allows for clock skew.
CREATED_SLACK_SECONDS: Final = 120


class ArtifactGoneError(GitHubError):
    """The artifact (or its signed URL) has expired: 410, or the artifact says ``expired``."""


@frozen
class Dispatched:
    """A dispatch's answer: the run's id and URLs when GitHub returned them (None after a 204)."""

    run_id: int | None
    run_url: str | None
    html_url: str | None
    status: int


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ActionsClient:
    """Actions calls for one repository, over one :class:`Transport`."""

    def __init__(  # noqa: PLR0913 - the client's whole context, each a keyword
        self,
        *,
        api_url: str,
        repo: str,
        token: TokenSource,
        api_version: str,
        transport: Transport,
        field_prefix: str = "canary.actions",
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.repo = repo
        self.token_source = token
        self.api_version = api_version
        self.transport = transport
        self._field = field_prefix
        # GET url -> its last 200 with an ETag: every GET is conditional (a 304 is counted apart).
        self._etags: dict[str, Answer] = {}

    # ----------------------------------------------------------------- plumbing

    def secrets(self) -> tuple[str, ...]:
        """Return every secret the token source holds (for redaction)."""
        return self.token_source.secrets()

    def _url(self, sub: str, params: Mapping[str, str | int] | None = None) -> str:
        url = f"{self.api_url}/repos/{self.repo}{sub}"
        return url + ("?" + urlencode(params) if params else "")

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": self.api_version,
            "User-Agent": "phase4gate",
            **(extra or {}),
        }
        token = self.token_source.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _send(
        self,
        method: str,
        url: str,
        *,
        kind: str,
        body: object = None,
        extra: Mapping[str, str] | None = None,
    ) -> Answer:
        data = None if body is None else json.dumps(body).encode("utf-8")
        cached = self._etags.get(url) if method == "GET" else None
        conditional = {"If-None-Match": cached.header("etag") or ""} if cached is not None else {}
        headers = self._headers(
            {**({"Content-Type": "application/json"} if data is not None else {}), **conditional, **(extra or {})}
        )
        answer = self.transport.request(method, url, kind=kind, headers=headers, body=data)
        if cached is not None and answer.status == 304:
            return cached  # unchanged: GitHub does not count a 304 against the rate limit
        if method == "GET" and answer.status == 200 and answer.header("etag"):
            self._etags[url] = answer
        for _hop in range(_MAX_HOPS):
            location = answer.header("location")
            if answer.status not in {301, 307, 308} or not location or not self._same_api(location):
                break
            # A renamed repository: the same call under the new name (same origin, still the API).
            answer = self.transport.request(method, location, kind=kind, headers=headers, body=data)
        return answer

    def _same_api(self, location: str) -> bool:
        here, there = urlsplit(self.api_url), urlsplit(location)
        return (here.scheme, here.netloc) == (there.scheme, there.netloc) and there.path.startswith(here.path + "/")

    def _refused(self, answer: Answer, what: str, needs: str) -> ConfigError | None:
        """Return the ConfigError of a 401, or of a 403 (not a rate limit: those were waited out)."""
        if answer.status not in {401, 403}:
            return None
        message = redact(answer.message(), *self.secrets())
        accepted = answer.header("x-accepted-github-permissions")
        more = f" (GitHub accepts: {accepted})" if accepted else ""
        return ConfigError(
            f"{what} in {self.repo} was refused: HTTP {answer.status} {message!r}{more}; it needs {needs}",
            field=f"github.tokens[{self.repo!r}]",
            hint=f"the token from {self.token_source.where} needs {needs} on {self.repo} "
            "(a fine-grained token or the GitHub App's installation permissions)",
        )

    def _error(self, answer: Answer, what: str, url: str) -> GitHubError:
        message = redact(answer.message(), *self.secrets())
        return GitHubError(f"{what} in {self.repo}: HTTP {answer.status} {message!r}", url=url, status=answer.status)

    def _get_json(self, sub: str, *, kind: str, params: Mapping[str, str | int] | None = None) -> Any:  # noqa: ANN401 - JSON
        url = self._url(sub, params)
        answer = self._send("GET", url, kind=kind)
        refused = self._refused(answer, f"GET {sub}", "Actions: read")
        if refused is not None:
            raise refused
        if answer.status != 200:
            raise self._error(answer, f"GET {sub}", url)
        return answer.json()

    def _pages(self, sub: str, key: str, *, kind: str, params: Mapping[str, str | int]) -> Iterator[dict[str, Any]]:
        url: str | None = self._url(sub, {**params, "per_page": 100})
        for _page in range(_MAX_PAGES):
            if url is None:
                return
            answer = self._send("GET", url, kind=kind)
            refused = self._refused(answer, f"GET {sub}", "Actions: read")
            if refused is not None:
                raise refused
            if answer.status != 200:
                raise self._error(answer, f"GET {sub}", url)
            data = answer.json()
            items = data.get(key) if isinstance(data, dict) else None
            yield from (i for i in (items if isinstance(items, list) else []) if isinstance(i, dict))
            link = answer.header("link") or ""
            m = _LINK_NEXT_RE.search(link)
            url = m.group(1) if m and self._same_api(m.group(1)) else None

    # ----------------------------------------------------------------- calls

    def dispatch(self, workflow: str, *, ref: str, inputs: Mapping[str, str]) -> Dispatched:
        """Dispatch *workflow* at *ref* with *inputs*, asking for the run's details.

        A server that refuses ``return_run_details`` (400/422 "not a permitted key": no
        run was created) is asked again without it; a 204 carries no run id (the
        caller finds the run through its correlation id).

        Raises:
            ConfigError: 404 (no such workflow, or no access), 422 (no workflow_dispatch trigger,
                unexpected inputs, unknown ref), 401/403 (Actions: write missing).
            GitHubError: any other answer (the dispatch may have landed: the caller reconciles).
        """
        sub = f"/actions/workflows/{quote(workflow, safe='')}/dispatches"
        url = self._url(sub)
        body: dict[str, object] = {"ref": ref, "inputs": dict(inputs)}
        if self.api_version != RUN_DETAILS_ALWAYS_VERSION:
            # 2022-11-28 answers the run's details only when asked; 2026-03-10 always does and knows no such key.
            body["return_run_details"] = True
        answer = self._send("POST", url, kind="dispatch", body=body)
        if "return_run_details" in body and answer.status in {400, 422} and _NOT_PERMITTED_RE.search(answer.message()):
            del body["return_run_details"]
            answer = self._send("POST", url, kind="dispatch", body=body)
        refused = self._refused(answer, f"dispatching {workflow}", "Actions: write")
        if refused is not None:
            raise refused
        message = redact(answer.message(), *self.secrets())
        if answer.status == 404:
            raise ConfigError(
                f"dispatching {workflow} in {self.repo}: HTTP 404 {message!r}: no such workflow, or the token "
                "cannot see the repository",
                field=f"{self._field}.workflow",
                hint="name a workflow file of .github/workflows on the default branch; the token needs Actions: write",
            )
        if answer.status == 422:
            raise ConfigError(
                f"dispatching {workflow} at {ref!r} in {self.repo}: HTTP 422 {message!r}",
                field=self._field,
                hint="the workflow needs a workflow_dispatch trigger declaring cli_version, correlation_id and every "
                "extra input; ref must be a branch or tag of the repository",
            )
        if answer.status == 204:
            return Dispatched(None, None, None, 204)
        data = answer.json()
        if answer.status == 200 and isinstance(data, dict):
            run_id = data.get("workflow_run_id")
            return Dispatched(
                run_id if isinstance(run_id, int) and not isinstance(run_id, bool) else None,
                str(data.get("run_url") or "") or None,
                str(data.get("html_url") or "") or None,
                200,
            )
        raise self._error(answer, f"dispatching {workflow}", url)

    def find_runs(self, workflow: str, *, correlation_id: str, since_epoch: float) -> list[dict[str, Any]]:
        """Return every ``workflow_dispatch`` run of *workflow* created since *since_epoch* whose title carries the id.

        Oldest first.  More than one means somebody else dispatched with this gate's
        correlation id: the caller refuses to attribute either run.
        """
        params: dict[str, str | int] = {
            "event": "workflow_dispatch",
            "created": f">={_iso(since_epoch - CREATED_SLACK_SECONDS)}",
        }
        sub = f"/actions/workflows/{quote(workflow, safe='')}/runs"
        found = [
            run
            for run in self._pages(sub, "workflow_runs", kind="list_runs", params=params)
            if carries_correlation(str(run.get("display_title") or ""), correlation_id)
        ]
        return sorted(found, key=lambda r: int(r.get("id") or 0))

    def get_run(self, run_id: int) -> dict[str, Any]:
        """Return the run (its latest attempt); an unchanged run answers 304 and the last body is used.

        Raises:
            ConfigError: Actions: read missing.
            GitHubError: no such run, or GitHub did not answer.
        """
        url = self._url(f"/actions/runs/{run_id}")
        answer = self._send("GET", url, kind="run")
        refused = self._refused(answer, f"GET /actions/runs/{run_id}", "Actions: read")
        if refused is not None:
            raise refused
        if answer.status != 200:
            raise self._error(answer, f"reading run {run_id}", url)
        body = answer.body
        data = json.loads(body)
        if not isinstance(data, dict):
            raise GitHubError(f"reading run {run_id} in {self.repo}: not a JSON object", url=url)
        return data

    def jobs(self, run_id: int) -> list[dict[str, Any]]:
        """Return the jobs of the run's latest attempt, with their steps."""
        return list(self._pages(f"/actions/runs/{run_id}/jobs", "jobs", kind="jobs", params={"filter": "latest"}))

    def artifacts(self, run_id: int) -> list[dict[str, Any]]:
        """Return the run's artifacts (each with ``digest`` where upload-artifact v4+ set one)."""
        return list(self._pages(f"/actions/runs/{run_id}/artifacts", "artifacts", kind="artifacts", params={}))

    def _download(self, sub: str, *, kind: str, what: str) -> bytes:
        url = self._url(sub)
        answer = self._send("GET", url, kind=kind)
        refused = self._refused(answer, f"downloading {what}", "Actions: read")
        if refused is not None:
            raise refused
        if answer.status == 410:
            raise ArtifactGoneError(f"{what} in {self.repo} has expired (HTTP 410 at GitHub)", url=url, status=410)
        if answer.status == 200:
            return answer.body
        location = answer.header("location")
        if answer.status not in {302, 303, 307} or not location:
            raise self._error(answer, f"downloading {what}", url)
        # The signed URL carries its own credential: the Authorization header is never sent there.
        blob = self.transport.request("GET", location, kind=f"{kind}_blob", headers={"User-Agent": "phase4gate"})
        if blob.status == 410:
            raise ArtifactGoneError(
                f"{what} in {self.repo}: its signed download URL has expired (HTTP 410)", url=location, status=410
            )
        if blob.status != 200:
            message = redact(blob.message(), *self.secrets())
            raise GitHubError(
                f"downloading {what} in {self.repo}: the signed URL answered HTTP {blob.status} {message!r}",
                url=location,
                status=blob.status,
            )
        return blob.body

    def download_artifact(self, artifact_id: int) -> bytes:
        """Return the artifact's zip.

        Raises:
            ArtifactGoneError: expired (410).
            GitHubError: GitHub or the signed URL did not answer.
        """
        return self._download(f"/actions/artifacts/{artifact_id}/zip", kind="download", what=f"artifact {artifact_id}")

    def logs(self, run_id: int) -> bytes:
        """Return the run's logs zip.

        Raises:
            GitHubError: the logs are gone or GitHub did not answer.
        """
        return self._download(f"/actions/runs/{run_id}/logs", kind="logs", what=f"the logs of run {run_id}")

    def cancel(self, run_id: int) -> int:
        """Ask GitHub to cancel the run; return the status (202 accepted, 409 already completed).

        Raises:
            ConfigError: Actions: write missing.
        """
        url = self._url(f"/actions/runs/{run_id}/cancel")
        answer = self._send("POST", url, kind="cancel")
        refused = self._refused(answer, f"cancelling run {run_id}", "Actions: write")
        if refused is not None:
            raise refused
        return answer.status
