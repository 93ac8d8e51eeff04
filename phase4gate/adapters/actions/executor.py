"""Canary and Teamspace runs on GitHub Actions (``[canary] executor = "github-actions"``).

Implements the canary seam (:mod:`phase4gate.executor`) over :class:`ActionsClient`:

**Slots.**  Each run the gate asks for is a *slot* with a correlation id
``<gate run id>-<WP>-<n>-<8 random hex>`` (n counts this WP's slots in this gate run; the
random part, journalled before the dispatch, cannot be guessed ahead), sent as the
``correlation_id`` input beside ``cli_version`` (the RC) and the configured extras;
the workflow's ``run-name`` carries it.  The slot is journalled (``wp-action`` with an
``actions`` object) *before* the dispatch (``dispatching``), its run id right after
(``dispatched``), before any waiting, and its end (``closed``: collected, undecided
or cancelled).  A gate that resumes re-attaches to the first slot that was never
closed instead of dispatching again: by its journalled run id, else (killed between
dispatch and journal write) by listing the workflow's runs for its correlation id;
only a slot whose dispatch never landed is dispatched (once) again.

**Follow.**  ``GET /actions/runs/{id}`` with its ETag, every ``poll`` interval (backing
off, capped); a progress line whenever the status or the current step changes (status,
jobs, current step, URL).  Queued past ``queue_timeout_seconds`` or running past
``run_timeout_seconds``: the run is cancelled and the gate could not decide (exit 3).
A stop request (SIGINT/SIGTERM) cancels the run, journals it, and stops the gate.

**Collect.**  The run's metadata (ids, attempt, commit, event, actors, times,
conclusion, jobs with their steps and runner names) and its logs zip are kept beside
the run file (``<attempt>/runs/run-k.actions.json``, ``run-k.logs.zip``; WP07:
``wp07/<k>/actions/teamspace-run-n.*``); the named artifact is downloaded (GitHub's 302 followed
without ``Authorization``), its sha256 checked against its ``digest`` (absent:
recorded as absent), the zip kept write-once (``run-k.artifact.zip``), and the run file extracted as
``<attempt>/runs/run-k.json``.  The run file must belong to the run (its time stamps
inside the run's ``run_started_at``..``updated_at``, its ``run_id`` never counted);
the verdicts of :mod:`phase4gate.checks.actions` go into ``CapturedRun.problems``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import secrets
import zipfile
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from attrs import define

from phase4gate.adapters.actions.client import ActionsClient, ArtifactGoneError
from phase4gate.adapters.actions.transport import Transport
from phase4gate.adapters.github_app import AppTokenSource, StaticToken, token_source
from phase4gate.checks.actions import (
    RunFacts,
    conclusion_problem,
    digest_verdict,
    run_facts,
    run_problems,
    undecided_reason,
)
from phase4gate.errors import AdapterError, ConfigError, GitHubError, InputError
from phase4gate.executor import CapturedRun, RunCitation, TeamspaceCapture
from phase4gate.models import EvidenceRef, RunWindow, parse_run_file
from phase4gate.retry import RetryPolicy

if TYPE_CHECKING:
    from phase4gate.adapters.store import EvidenceStore
    from phase4gate.clients import Clients
    from phase4gate.config import ActionsConfig, GateConfig, TeamspaceActionsConfig

__all__ = [
    "ACTIONS_EXECUTOR",
    "RUN_WINDOW_TOLERANCE_SECONDS",
    "ActionsCanaryExecutor",
    "ActionsTeamspaceExecutor",
    "ActionsUndecidedError",
    "Slot",
    "journal_slots",
]

ACTIONS_EXECUTOR: Final = "github-actions"
# GitHub's time stamps are whole seconds, the harness's are not: a little slack either side.
RUN_WINDOW_TOLERANCE_SECONDS: Final = 5.0
# After a stop request the sleep is cut into slices this long, so a stop is seen quickly.
_STOP_SLICE_SECONDS: Final = 0.25
_WAITING: Final = frozenset({"queued", "waiting", "pending", "requested"})
_RUN_KEYS: Final = (
    "id",
    "name",
    "display_title",
    "run_number",
    "run_attempt",
    "html_url",
    "head_sha",
    "head_branch",
    "event",
    "status",
    "conclusion",
    "created_at",
    "run_started_at",
    "updated_at",
)
_STEP_KEYS: Final = ("number", "name", "status", "conclusion", "started_at", "completed_at")
_JOB_KEYS: Final = (
    "id",
    "name",
    "status",
    "conclusion",
    "started_at",
    "completed_at",
    "runner_id",
    "runner_name",
    "runner_group_name",
    "labels",
    "html_url",
)


class ActionsUndecidedError(AdapterError):
    """A run ended without a verdict (cancelled, timed out, startup failure, stuck queued, no artifact): exit 3."""


@define
class Slot:
    """One dispatch slot of a WP, as the journal tells it."""

    correlation_id: str
    number: int
    dispatched_at: float
    run_id: int | None = None
    url: str = ""
    closed: str | None = None


def journal_slots(lines: list[str], wp: str) -> list[Slot]:
    """Return the Actions slots of *wp* journalled in *lines* (the run folder's journal), in order."""
    slots: dict[str, Slot] = {}
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue  # not an event: the journal's own reader reports it; it names no slot
        info = event.get("actions")
        if event.get("event") != "wp-action" or event.get("wp") != wp or not isinstance(info, dict):
            continue
        corr, state = str(info.get("slot") or ""), info.get("state")
        if not corr:
            continue
        if state == "dispatching" and corr not in slots:
            n, at = info.get("n"), info.get("at")
            number = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else len(slots) + 1
            when = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0
            slots[corr] = Slot(corr, number, when)
        slot = slots.get(corr)
        if slot is None:
            continue
        run_id = info.get("run_id")
        if isinstance(run_id, int) and not isinstance(run_id, bool):
            slot.run_id = run_id
            slot.url = str(info.get("url") or slot.url)
        if state == "closed":
            slot.closed = str(info.get("why") or "closed")
    return list(slots.values())


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _metadata(run: Mapping[str, Any], jobs: list[dict[str, Any]], extra: Mapping[str, object]) -> dict[str, object]:
    """Return the run's metadata as kept: the run's fields, actors, jobs with steps and runner names."""
    doc: dict[str, object] = {k: run.get(k) for k in _RUN_KEYS}
    for who in ("actor", "triggering_actor"):
        person = run.get(who)
        doc[who] = person.get("login") if isinstance(person, dict) else None
    doc["jobs"] = [
        {
            **{k: job.get(k) for k in _JOB_KEYS},
            "steps": [{k: s.get(k) for k in _STEP_KEYS} for s in job.get("steps") or [] if isinstance(s, dict)],
        }
        for job in jobs
    ]
    doc.update(extra)
    return doc


def _progress(run: RunFacts, jobs: list[dict[str, Any]]) -> str:
    parts = [run.status or "?"]
    if run.conclusion:
        parts.append(run.conclusion)
    for job in jobs:
        current = next(
            (s.get("name") for s in job.get("steps") or [] if isinstance(s, dict) and s.get("status") == "in_progress"),
            None,
        )
        text = f"job {job.get('name')}: {job.get('status')}"
        if current:
            text += f", step {current!r}"
        if job.get("runner_name"):
            text += f" on {job.get('runner_name')}"
        parts.append(text)
    return "; ".join(parts) + f"; {run.html_url}"


class _ActionsRuns:
    """Dispatch, follow and collect runs of one workflow for one WP (shared by both executors)."""

    def __init__(  # noqa: PLR0913 - the executor's whole context, each a keyword
        self,
        config: GateConfig,
        settings: ActionsConfig | TeamspaceActionsConfig,
        *,
        field: str,
        store: EvidenceStore,
        wp: str,
        gate_run_id: str,
        environ: Mapping[str, str],
        clients: Clients,
        note: Callable[[str], None],
        cli_version: str | None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.field = field
        self.store = store
        self.wp = wp
        self.gate_run_id = gate_run_id
        self.repo = settings.repo or config.github.e2e_repo
        self.note = note
        self.cli_version = cli_version
        self._sleep = clients.sleep
        self._clock = clients.clock
        self._epoch = clients.epoch
        policy = RetryPolicy(max_retries=config.github.max_retries, deadline=config.github.deadline_seconds)
        self.transport = Transport(
            policy,
            timeout=config.github.timeout_seconds,
            sleep=clients.sleep,
            clock=clients.clock,
            epoch=clients.epoch,
            secrets=self._secrets,
        )
        self.tokens = token_source(config, self.repo, environ, transport=self.transport, epoch=clients.epoch)
        self.client = ActionsClient(
            api_url=config.github.api_url,
            repo=self.repo,
            token=self.tokens,
            api_version=settings.api_version,
            transport=self.transport,
            field_prefix=field,
        )
        # Runs this executor dispatched or re-attached and has not closed: cancel() cancels them.
        self.live: dict[str, Slot] = {}
        # The request counts when each slot was dispatched or re-attached (the bench's requests per run).
        self._counts_at: dict[str, dict[str, int]] = {}

    def _secrets(self) -> tuple[str, ...]:
        return self.client.secrets()

    # ----------------------------------------------------------------- readiness

    def describe(self, what: str, runs: int) -> str:
        """Return the dry-run line."""
        return (
            f"dry run: would dispatch {self.settings.workflow} at {self.settings.ref!r} in {self.repo} on GitHub "
            f"Actions {runs} time(s) for {what}, one after another, each cited by run id, and collect the "
            f"{self.settings.artifact!r} artifact"
        )

    def check_ready(self) -> None:
        """Refuse a configuration without a token or without Actions: write, before anything is dispatched.

        Raises:
            ConfigError: no token, no RC, or (GitHub App) Actions: write missing.
        """
        if isinstance(self.tokens, StaticToken) and self.tokens.token() is None:
            raise ConfigError(
                f"GitHub Actions in {self.repo} needs a token; {self.tokens.where} is not set",
                field="github.tokens",
                hint=f"export {self.tokens.where} (Actions: write on {self.repo}), map the repository to another "
                "variable in [github] tokens, or configure [github.app]",
            )
        if isinstance(self.tokens, AppTokenSource):
            self.tokens.check_permission("actions", "write", needed_for=f"dispatching {self.settings.workflow}")
        if not self.cli_version:
            raise ConfigError("the RC to run is not known (WP02's rc_version)", field=self.field)

    # ----------------------------------------------------------------- journal

    def _journal(self, slot: Slot, state: str, **extra: object) -> None:
        info: dict[str, object] = {"slot": slot.correlation_id, "n": slot.number, "state": state, "repo": self.repo}
        info.update(extra)
        if slot.run_id is not None:
            info["run_id"] = slot.run_id
            info["url"] = slot.url
        action = {
            "dispatching": f"dispatching {self.settings.workflow} (correlation id {slot.correlation_id})",
            "dispatched": f"dispatched GitHub Actions run {slot.run_id} ({slot.url})",
            "closed": f"GitHub Actions run {slot.run_id}: {extra.get('why', 'closed')}",
        }.get(state, state)
        self.store.append_event({"event": "wp-action", "wp": self.wp, "action": action, "actions": info})

    def close(self, slot: Slot, why: str) -> None:
        """Journal that *slot* is done with (it is never re-attached)."""
        if slot.closed is None:
            slot.closed = why
            self._journal(slot, "closed", why=why, requests=self.requests_since(slot))
        self.live.pop(slot.correlation_id, None)

    def requests_since(self, slot: Slot) -> dict[str, int]:
        """Return the GitHub requests sent since *slot* was dispatched or re-attached, by kind (304s apart).

        Exact for the canary (one run at a time); with Teamspace runs in parallel they overlap.
        """
        before = self._counts_at.get(slot.correlation_id, {})
        return {k: n - before.get(k, 0) for k, n in sorted(self.transport.counts.items()) if n - before.get(k, 0)}

    # ----------------------------------------------------------------- dispatch or re-attach

    def acquire(self, label: str) -> Slot:
        """Return the next slot with its run: an open journalled slot re-attached, else a new dispatch.

        Raises:
            ConfigError: the dispatch was refused (404/422/permissions).
            ActionsUndecidedError: no run carries the correlation id within the queue timeout.
        """
        slots = journal_slots(self.store.read_journal(), self.wp)
        open_slots = [s for s in slots if s.closed is None and s.correlation_id not in self.live]
        if open_slots:
            slot = open_slots[0]
            if slot.run_id is None:
                found = self._lookup(slot, wait=min(30.0, self.settings.queue_timeout_seconds))
                if found is not None:
                    self._dispatched(slot, found)
            if slot.run_id is not None:
                self.note(
                    f"{label}: re-attached to GitHub Actions run {slot.run_id} ({slot.url}), not dispatched again"
                )
                self.live[slot.correlation_id] = slot
                self._counts_at.setdefault(slot.correlation_id, dict(self.transport.counts))
                return slot
            self.note(f"{label}: slot {slot.correlation_id} was never dispatched; dispatching it now")
            return self._dispatch(slot, label, journalled=True)
        n = 1 + max((s.number for s in slots), default=0)
        # A random part nobody can guess before the dispatch: a run dispatched ahead of the gate with
        # a predicted correlation id cannot pass for the gate's (see _lookup).
        slot = Slot(f"{self.gate_run_id}-{self.wp}-{n}-{secrets.token_hex(4)}", n, self._epoch())
        return self._dispatch(slot, label, journalled=False)

    def _inputs(self, slot: Slot) -> dict[str, str]:
        return {**self.settings.inputs, "cli_version": str(self.cli_version), "correlation_id": slot.correlation_id}

    def _dispatch(self, slot: Slot, label: str, *, journalled: bool) -> Slot:
        if not journalled:
            self._journal(slot, "dispatching", at=slot.dispatched_at, workflow=self.settings.workflow)
        self.live[slot.correlation_id] = slot
        self._counts_at[slot.correlation_id] = dict(self.transport.counts)
        try:
            answer = self.client.dispatch(self.settings.workflow, ref=self.settings.ref, inputs=self._inputs(slot))
        except ConfigError as exc:
            # Refused (404/422/401/403): no run was created; a resume never waits for one.
            self.close(slot, f"refused: {exc}")
            raise
        except GitHubError:
            # No answer (5xx, dropped connection): the POST may have landed. Never dispatched twice:
            # look for the run; if it is not there the slot stays open and a resume looks again.
            found = self._lookup(slot, wait=min(30.0, self.settings.queue_timeout_seconds))
            if found is None:
                raise
            self._dispatched(slot, found)
            self.note(f"{label}: dispatched GitHub Actions run {slot.run_id} (found by correlation id): {slot.url}")
            return slot
        if answer.run_id is not None:
            slot.run_id = answer.run_id
            slot.url = answer.html_url or answer.run_url or ""
            self._journal(slot, "dispatched")
        else:
            found = self._lookup(slot, wait=self.settings.queue_timeout_seconds)
            if found is None:
                self.close(slot, "undecided: no run found")
                raise ActionsUndecidedError(
                    f"{label}: dispatched {self.settings.workflow} in {self.repo}, but no workflow_dispatch run "
                    f"carries correlation id {slot.correlation_id} after {self.settings.queue_timeout_seconds:g}s",
                    hint="the workflow's run-name must carry ${{ inputs.correlation_id }}; re-run with --resume",
                )
            self._dispatched(slot, found)
        self.note(f"{label}: dispatched GitHub Actions run {slot.run_id}: {slot.url}")
        return slot

    def _dispatched(self, slot: Slot, run: Mapping[str, Any]) -> None:
        slot.run_id = int(run["id"])
        slot.url = str(run.get("html_url") or "")
        self._journal(slot, "dispatched", found_by="correlation id")

    def _lookup(self, slot: Slot, *, wait: float) -> dict[str, Any] | None:
        """Look for the slot's run by correlation id, polling up to *wait* seconds (GitHub lists runs with a lag)."""
        start = self._clock()
        reads = 0
        while True:
            reads += 1
            found = self.client.find_runs(
                self.settings.workflow, correlation_id=slot.correlation_id, since_epoch=slot.dispatched_at
            )
            if len(found) > 1:
                # Somebody else dispatched with this slot's correlation id: neither run can be attributed.
                ids = ", ".join(f"{r.get('id')} (actor {(r.get('actor') or {}).get('login', '?')})" for r in found)
                self.close(slot, f"refused: {len(found)} runs carry its correlation id")
                raise InputError(
                    f"GitHub Actions runs of {self.settings.workflow} in {self.repo}",
                    [
                        (
                            f"$.workflow_runs: {len(found)} workflow_dispatch runs carry correlation id "
                            f"{slot.correlation_id} ({ids}); the gate dispatched one, so another was dispatched "
                            "by somebody else and neither run's evidence can be attributed"
                        )
                    ],
                    hint="find out who dispatched the other run; re-run the gate (a new slot gets a new id)",
                )
            if found:
                return found[0]
            pause = self.settings.poll.interval(reads)
            if self._clock() - start + pause > wait:
                return None
            self._pause(pause, slot)

    # ----------------------------------------------------------------- follow

    def _pause(self, seconds: float, slot: Slot) -> None:
        """Sleep *seconds* through the injected sleep, in slices; on a stop request cancel *slot* and stop."""
        from phase4gate.adapters.proc import stop_requested  # noqa: PLC0415

        left = seconds
        while True:
            stop = stop_requested()
            if stop is not None:
                self.cancel_slot(slot, f"cancelled: the gate was stopped ({stop.signal_name})")
                raise stop
            if left <= 0:
                return
            step = min(left, _STOP_SLICE_SECONDS)
            self._sleep(step)
            left -= step

    def follow(self, slot: Slot, label: str) -> dict[str, Any]:
        """Poll the run until it completed; return its last JSON.

        Raises:
            ActionsUndecidedError: queued past the queue timeout or running past the run timeout (cancelled).
            StopRequested: the gate was stopped (the run cancelled and journalled).
        """
        assert slot.run_id is not None  # noqa: S101 - acquire() set it
        start = self._clock()
        started: float | None = None
        reads = 0
        shown = ""
        while True:
            reads += 1
            data = self.client.get_run(slot.run_id)
            run = run_facts(data)
            if run.status == "completed":
                return data
            now = self._clock()
            if run.status not in _WAITING and started is None:
                started = now
            jobs = self.client.jobs(slot.run_id) if run.status == "in_progress" else []
            line = _progress(run, jobs)
            if line != shown:
                shown = line
                self.note(f"{label}: {line}")
            if started is None and now - start > self.settings.queue_timeout_seconds:
                self.cancel_slot(slot, "undecided: queued past the queue timeout")
                raise ActionsUndecidedError(
                    f"{label}: GitHub Actions run {slot.run_id} stayed {run.status} for more than "
                    f"{self.settings.queue_timeout_seconds:g}s ({self.field}.queue_timeout_seconds); it was cancelled",
                    hint="no runner took the run (runner labels, concurrency group, billing); re-run with --resume",
                )
            if started is not None and now - started > self.settings.run_timeout_seconds:
                self.cancel_slot(slot, "undecided: ran past the run timeout")
                raise ActionsUndecidedError(
                    f"{label}: GitHub Actions run {slot.run_id} ran for more than "
                    f"{self.settings.run_timeout_seconds:g}s ({self.field}.run_timeout_seconds); it was cancelled",
                    hint="a hung canary is never a pass; read the run's logs, then re-run with --resume",
                )
            self._pause(self.settings.poll.interval(reads), slot)

    # ----------------------------------------------------------------- cancel

    def cancel_slot(self, slot: Slot, why: str) -> None:
        """Ask GitHub to cancel *slot*'s run and journal the slot closed.

        When the cancel itself fails (GitHub unreachable), the run may still be running:
        the slot stays open in the journal, so a resume re-attaches to that run instead of
        dispatching another.
        """
        if slot.run_id is None:
            # Dispatched without an answer yet: left open, a resume looks for its run by correlation id.
            self.live.pop(slot.correlation_id, None)
            return
        if slot.closed is None:
            try:
                status = self.client.cancel(slot.run_id)
            except (GitHubError, ConfigError) as exc:
                self.note(f"GitHub Actions run {slot.run_id}: could not cancel ({exc}); a resume re-attaches to it")
                self.live.pop(slot.correlation_id, None)
                return
            why = f"{why} (cancel answered {status})"
            self.note(f"GitHub Actions run {slot.run_id}: {why}")
        self.close(slot, why)

    def cancel_all(self) -> None:
        """Cancel every run this executor dispatched and did not close."""
        from phase4gate.adapters.proc import stop_requested  # noqa: PLC0415

        stop = stop_requested()
        why = (
            f"cancelled: the gate was stopped ({stop.signal_name})"
            if stop is not None
            else "cancelled: the gate stopped before collecting it"
        )
        for slot in list(self.live.values()):
            self.cancel_slot(slot, why)

    # ----------------------------------------------------------------- collect

    def collect_common(
        self, slot: Slot, data: dict[str, Any], *, folder: str, stem: str, label: str
    ) -> tuple[RunFacts, bytes, str, list[EvidenceRef], list[str], dict[str, str]]:
        """Keep metadata and logs; judge the run; download and check the artifact.

        Returns the run, the artifact zip, its evidence path, the refs, the Actions
        problems, and the citation's details.

        Raises:
            ActionsUndecidedError: cancelled/timed out/startup failure, artifact missing or expired.
        """
        assert slot.run_id is not None  # noqa: S101 - acquire() set it
        run = run_facts(data)
        refs: list[EvidenceRef] = []
        jobs = self.client.jobs(slot.run_id)
        artifacts = self.client.artifacts(slot.run_id)
        art = next((a for a in artifacts if a.get("name") == self.settings.artifact), None)
        zip_bytes: bytes | None = None
        gone: str | None = None
        if art is not None and not art.get("expired"):
            try:
                zip_bytes = self.client.download_artifact(int(art["id"]))
            except ArtifactGoneError as exc:
                gone = str(exc)
            except GitHubError as exc:
                # Any other failed download (a signed URL answering 403, a dropped connection): no verdict,
                # and the run's metadata and logs are still kept below before the gate says so.
                gone = f"artifact {self.settings.artifact!r} of run {slot.run_id} could not be downloaded: {exc}"
        elif art is not None:
            gone = f"artifact {self.settings.artifact!r} of run {slot.run_id} has expired"
        verdict = digest_verdict(art.get("digest") if art else None, hashlib.sha256(zip_bytes or b"").hexdigest())
        extra: dict[str, object] = {
            "correlation_id": slot.correlation_id,
            "repo": self.repo,
            "workflow": self.settings.workflow,
            "artifact": {
                "name": self.settings.artifact,
                "id": art.get("id") if art else None,
                "digest": art.get("digest") if art else None,
                "sha256": verdict.actual if zip_bytes is not None else None,
                "digest_check": verdict.state if zip_bytes is not None else "not downloaded",
                "expired": bool(art.get("expired")) if art else None,
            },
        }
        refs.append(self.store.write_json(f"{folder}/{stem}.actions.json", _metadata(data, jobs, extra)))
        try:
            refs.append(self.store.write_bytes(f"{folder}/{stem}.logs.zip", self.client.logs(slot.run_id)))
        except GitHubError as exc:
            self.note(f"{label}: the run's logs could not be kept: {exc}")
        undecided = undecided_reason(run)
        if undecided is None and art is None:
            names = ", ".join(repr(a.get("name")) for a in artifacts) or "none"
            undecided = f"run {slot.run_id} uploaded no artifact named {self.settings.artifact!r} (artifacts: {names})"
        if undecided is None and (gone is not None or zip_bytes is None):
            undecided = gone or f"artifact {self.settings.artifact!r} could not be downloaded"
        if undecided is not None:
            self.close(slot, f"undecided: {undecided}")
            raise ActionsUndecidedError(
                f"{label}: {undecided}; {run.html_url or slot.url}; metadata kept at {folder}/{stem}.actions.json",
                hint="a run without a verdict is never a pass; the protocol starts again in a new attempt "
                "folder on --resume",
            )
        assert zip_bytes is not None  # noqa: S101 - undecided otherwise
        zip_rel = f"{folder}/{stem}.artifact.zip"
        refs.append(self.store.write_bytes(zip_rel, zip_bytes))
        problems = list(
            run_problems(
                run,
                label=label,
                dispatched_id=slot.run_id,
                correlation_id=slot.correlation_id,
                pinned_sha=self.settings.pinned_sha,
            )
        )
        if verdict.problem is not None:
            problems.append(f"{label}: {verdict.problem}")
        details = {
            "run_number": str(run.run_number),
            "run_attempt": str(run.run_attempt),
            "head_sha": run.head_sha,
            "artifact_digest": verdict.actual,
            "artifact_digest_check": verdict.state,
            "artifact_zip": zip_rel,
            "correlation_id": slot.correlation_id,
            "conclusion": str(run.conclusion),
        }
        if verdict.state == "absent":
            self.note(f"{label}: the artifact has no digest on GitHub (recorded as absent); its sha256 is kept")
        return run, zip_bytes, zip_rel, refs, problems, details

    def window(self, run: RunFacts, label: str) -> RunWindow:
        """Return the run's window (``run_started_at``..``updated_at``) for its run file's time stamps."""
        begin = _parse_time(run.run_started_at) or _parse_time(run.created_at)
        end = _parse_time(run.updated_at)
        if begin is None or end is None:
            raise InputError(
                f"GitHub Actions run {run.id}",
                [f"$.run_started_at/$.updated_at: missing ({run.run_started_at!r}, {run.updated_at!r})"],
            )
        return RunWindow(begin, end, tolerance_seconds=RUN_WINDOW_TOLERANCE_SECONDS, label=label)


def _members(zip_bytes: bytes, source: str) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            return {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir() and info.file_size < 64 * 1024 * 1024
            }
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(source, [f"$: not a readable zip ({exc})"]) from None


def _run_file_member(members: Mapping[str, bytes]) -> tuple[str, bytes] | None:
    """Return an artifact's run file: ``latest.json``, else the one ``runs/run-N.json``, else the one ``*.json``."""
    for name in sorted(members):
        if name.rsplit("/", 1)[-1] == "latest.json":
            return name, members[name]
    runs = [n for n in members if "/runs/" in f"/{n}" and n.endswith(".json")]
    if len(runs) == 1:
        return runs[0], members[runs[0]]
    jsons = [n for n in members if n.endswith(".json")]
    if len(jsons) == 1:
        return jsons[0], members[jsons[0]]
    return None


class ActionsCanaryExecutor:
    """Each canary run is one GitHub Actions run of ``[canary.actions] workflow`` (the canary seam)."""

    kind = ACTIONS_EXECUTOR

    def __init__(  # noqa: PLR0913 - the executor's whole context, each a keyword
        self,
        config: GateConfig,
        *,
        store: EvidenceStore,
        wp: str,
        gate_run_id: str,
        environ: Mapping[str, str],
        clients: Clients,
        cli_version: str | None,
        note: Callable[[str], None] = lambda _m: None,
    ) -> None:
        self.config = config
        self.store = store
        self.runs = _ActionsRuns(
            config,
            config.canary.actions,
            field="canary.actions",
            store=store,
            wp=wp,
            gate_run_id=gate_run_id,
            environ=environ,
            clients=clients,
            note=note,
            cli_version=cli_version,
        )
        self.attempt = ""
        self.total_runs = 0
        self.counted: dict[str, str] = {}

    @property
    def request_counts(self) -> dict[str, int]:
        """Return the GitHub requests sent so far, by kind (``run_304`` apart)."""
        return dict(self.runs.transport.counts)

    def describe(self, runs: int, attempt_tag: str) -> tuple[str, ...]:
        """Return the dry-run lines."""
        return (f"dry run: would reserve {attempt_tag}-attempt<N>", self.runs.describe("the canary", runs))

    def check_ready(self) -> None:
        """Refuse a configuration that cannot dispatch (no token, Actions: write missing)."""
        self.runs.check_ready()

    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Nothing held here: the workflow's ``concurrency`` group keeps two canaries off the SaaS at once."""
        return contextlib.nullcontext()

    def begin(self, attempt: str, *, total_runs: int, counted: Mapping[str, str]) -> tuple[EvidenceRef, ...]:
        """Remember the attempt folder and every run id counted before."""
        self.attempt = attempt
        self.total_runs = total_runs
        self.counted = dict(counted)
        return ()

    def run(self, k: int) -> CapturedRun:
        """Dispatch (or re-attach to) canary run *k*, follow it, collect its evidence, and return it.

        Raises:
            ActionsUndecidedError: the run ended without a verdict (exit 3).
            InputError: the run file is missing from the artifact, malformed, or not this run's.
            ConfigError: the dispatch was refused.
        """
        label = f"run {k} of {self.total_runs}"
        slot = self.runs.acquire(label)
        data = self.runs.follow(slot, label)
        # Beside the run file, as checks.citations reads them: run-k.actions.json, run-k.artifact.zip, run-k.logs.zip.
        folder = f"{self.attempt}/runs"
        run, zip_bytes, zip_rel, refs, problems, details = self.runs.collect_common(
            slot, data, folder=folder, stem=f"run-{k}", label=label
        )
        run_file = f"{self.attempt}/runs/run-{k}.json"
        member = _run_file_member(_members(zip_bytes, zip_rel))
        if member is None:
            self.runs.close(slot, "collected: no run file in the artifact")
            raise InputError(
                zip_rel,
                [
                    (
                        f"{label}: the artifact holds no run file (latest.json or runs/run-N.json); "
                        "a run without a result is never a pass"
                    )
                ],
            )
        name, raw = member
        # Closed first: a gate killed between the two never re-attaches to a run whose file it kept
        # (that run id would count twice); it dispatches a new run on resume instead.
        self.runs.close(slot, "collected")
        refs.append(self.store.write_bytes(run_file, raw))
        ownership: list[str] = []
        try:
            parsed: object = json.loads(raw)
        except ValueError as exc:
            raise InputError(run_file, [f"$: not JSON ({exc}); extracted from {zip_rel}:{name}"]) from None
        run_id = parsed.get("run_id") if isinstance(parsed, dict) else None
        if isinstance(run_id, str) and run_id in self.counted:
            ownership.append(
                f"$.run_id: {run_id!r} was already counted ({self.counted[run_id]}); "
                "a run file counts once, for the run that wrote it"
            )
        try:
            result = parse_run_file(
                parsed,
                source=run_file,
                expected_scenarios=tuple(self.config.canary.scenarios),
                window=self.runs.window(run, f"GitHub Actions run {run.id}"),
            )
        except InputError as exc:
            raise InputError(run_file, [*ownership, *exc.problems]) from None
        if ownership:
            raise InputError(run_file, ownership)
        if result.run_id is not None:
            self.counted[result.run_id] = run_file
        inconsistent = conclusion_problem(run.conclusion, run_file_passed=result.passed, label=label)
        if inconsistent is not None:
            problems.append(inconsistent)
        citation = RunCitation(ACTIONS_EXECUTOR, str(run.id), run.html_url or slot.url, details)
        return CapturedRun(k, result, run_file, tuple(refs), "artifact", citation=citation, problems=tuple(problems))

    def cancel(self) -> None:
        """Cancel every run this executor dispatched and did not collect (idempotent)."""
        self.runs.cancel_all()


class ActionsTeamspaceExecutor:
    """Each Teamspace run is one GitHub Actions run of ``[teamspace.actions] workflow``.

    With ``parallel = N`` the runs ``n..n+N-1`` are dispatched together and collected in order.
    """

    kind = ACTIONS_EXECUTOR

    def __init__(  # noqa: PLR0913 - the executor's whole context, each a keyword
        self,
        config: GateConfig,
        *,
        store: EvidenceStore,
        wp: str,
        gate_run_id: str,
        environ: Mapping[str, str],
        clients: Clients,
        cli_version: str | None,
        evidence_path: Callable[[str], str],
        note: Callable[[str], None] = lambda _m: None,
    ) -> None:
        self.config = config
        self.store = store
        self.runs = _ActionsRuns(
            config,
            config.teamspace.actions,
            field="teamspace.actions",
            store=store,
            wp=wp,
            gate_run_id=gate_run_id,
            environ=environ,
            clients=clients,
            note=note,
            cli_version=cli_version,
        )
        self._evidence_path = evidence_path
        self._ahead: dict[int, Slot] = {}
        self._ready_checked = False

    def describe(self, runs: int) -> tuple[str, ...]:
        """Return the dry-run line."""
        parallel = self.config.teamspace.actions.parallel
        return (self.runs.describe("the Teamspace suite" + (f", {parallel} at a time" if parallel > 1 else ""), runs),)

    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Nothing held here (the workflow's ``concurrency`` group)."""
        return contextlib.nullcontext()

    def run(self, n: int, *, total_runs: int) -> TeamspaceCapture:
        """Run (or collect the already dispatched) Teamspace run *n*; its log and JUnit report kept.

        Raises:
            ActionsUndecidedError: the run ended without a verdict (exit 3).
            ConfigError: no token or the dispatch was refused.
        """
        if not self._ready_checked:
            self.runs.check_ready()
            self._ready_checked = True
        upto = min(total_runs, n + self.config.teamspace.actions.parallel - 1)
        for m in range(n, upto + 1):
            if m not in self._ahead:
                self._ahead[m] = self.runs.acquire(f"Teamspace run {m} of {total_runs}")
        slot = self._ahead.pop(n)
        label = f"Teamspace run {n} of {total_runs}"
        data = self.runs.follow(slot, label)
        run, zip_bytes, zip_rel, refs, problems, details = self.runs.collect_common(
            slot, data, folder=self._evidence_path("actions"), stem=f"teamspace-run-{n}", label=label
        )
        members = _members(zip_bytes, zip_rel)
        self.runs.close(slot, "collected")
        junit_name = next((k for k in sorted(members) if k.endswith(".xml")), None)
        log_name = next((k for k in sorted(members) if k.endswith(".log")), None)
        junit_rel = self._evidence_path(f"teamspace-run-{n}.junit.xml")
        junit_text = members[junit_name].decode("utf-8", "replace") if junit_name else None
        if junit_text is not None:
            refs.append(self.store.write_text(junit_rel, junit_text))
        log_rel: str | None = None
        log_text = ""
        if log_name is not None:
            log_text = members[log_name].decode("utf-8", "replace")
            log_rel = self._evidence_path(f"teamspace-run-{n}.log")
            refs.append(self.store.write_text(log_rel, log_text))
        # A conclusion contradicting the report: returncode 1 beside an all-pass report fails the run (WP07).
        return TeamspaceCapture(
            number=n,
            returncode=0 if run.conclusion == "success" else 1,
            timed_out=False,
            log_rel=log_rel,
            log_text=log_text,
            junit_rel=junit_rel,
            junit_text=junit_text,
            refs=tuple(refs),
            citation=RunCitation(ACTIONS_EXECUTOR, str(run.id), run.html_url or slot.url, details),
            problems=tuple(problems),
        )

    def cancel(self) -> None:
        """Cancel every run dispatched ahead or in flight and not collected (idempotent)."""
        self.runs.cancel_all()
        self._ahead.clear()
