"""The canary seam: what runs a canary (or Teamspace) run and hands back its evidence.

:mod:`phase4gate.canary_protocol` owns the protocol (reserve the attempt folder, the
redeploy check before run 1 and after every run, judging, re-opening blockers,
sealing); an executor only *runs* run *k* and returns a :class:`CapturedRun` whose
run file is already kept in the attempt folder.  Two executors exist or are
planned: the local subprocess runner (:class:`phase4gate.adapters.runner.LocalCanaryExecutor`,
``[canary] executor = "local"``) and GitHub Actions (``"github-actions"``).

Contract every executor keeps:

* ``run(k)`` keeps what it collected (run file as ``<attempt>/runs/run-k.json``, logs,
  artifacts) in the evidence store *before* it returns or raises, and never runs
  anything again on its own: a re-run hides a flaky failure.
* A run file that does not belong to this run is an :class:`~phase4gate.errors.InputError`
  (a failed stop); a run that ended without a verdict (timed out, cancelled, no
  artifact) is a :class:`~phase4gate.errors.Phase4GateError` with exit 3.
* Executor-level findings that make a run fail although its run file says pass
  (e.g. a GitHub Actions re-run attempt, a wrong commit, an altered artifact) go into
  :attr:`CapturedRun.problems`; the protocol turns any of them into a failed run.
* ``cancel()`` stops whatever this executor started and is safe to call twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import attrs
from attrs import frozen

if TYPE_CHECKING:
    import contextlib

    from phase4gate.models import CanaryRunResult, EvidenceRef

__all__ = [
    "CanaryExecutor",
    "CapturedRun",
    "RunCitation",
    "TeamspaceCapture",
    "TeamspaceExecutor",
]


@frozen
class RunCitation:
    """Where a run ran, as a reader checks it: the executor, its run id and URL, and details.

    ``details`` holds executor-specific strings (for GitHub Actions: ``run_number``,
    ``run_attempt``, ``head_sha``, ``artifact_digest``); the local executor cites nothing
    but its kind.
    """

    executor: str
    run_id: str = ""
    url: str = ""
    details: Mapping[str, str] = attrs.field(factory=dict)


@frozen
class CapturedRun:
    """One canary run: the run file read back, and what was kept as evidence."""

    number: int
    run: CanaryRunResult
    run_file: str  # relative to the run folder: "<attempt>/runs/run-N.json"
    refs: tuple[EvidenceRef, ...]
    source: str  # "runner" (the harness's file), "junit" (built from the JUnit report) or "artifact"
    disagreement: str | None = None
    citation: RunCitation | None = None
    # Findings that fail the run whatever its run file says (see the module docstring).
    problems: tuple[str, ...] = ()


@frozen
class TeamspaceCapture:
    """One Teamspace run: its log and JUnit report as kept in the evidence."""

    number: int
    returncode: int
    timed_out: bool
    log_rel: str | None  # evidence path of the kept log, if any
    log_text: str  # the log as read (for triage)
    junit_rel: str  # evidence path the JUnit report has (or would have had)
    junit_text: str | None
    refs: tuple[EvidenceRef, ...]
    argv: tuple[str, ...] = ()  # the command that ran, where one ran here
    citation: RunCitation | None = None
    problems: tuple[str, ...] = ()


class CanaryExecutor(Protocol):
    """Runs canary runs for one protocol (WP04's single run or WP05's four)."""

    kind: str

    def describe(self, runs: int, attempt_tag: str) -> tuple[str, ...]:
        """Return what a dry run would do, one line per action."""
        ...

    def check_ready(self) -> None:
        """Refuse a configuration that cannot run (ConfigError) before anything is reserved."""
        ...

    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Hold the canary target (one canary at a time) for the whole protocol."""
        ...

    def begin(self, attempt: str, *, total_runs: int, counted: Mapping[str, str]) -> tuple[EvidenceRef, ...]:
        """Start a protocol in *attempt*; run any one-off setup and return its evidence.

        *counted* maps every run id counted before to where (a run file reusing one never counts).
        """
        ...

    def run(self, k: int) -> CapturedRun:
        """Run canary run *k* of the protocol and return it, its evidence already kept."""
        ...

    def cancel(self) -> None:
        """Stop what this executor started (idempotent)."""
        ...


class TeamspaceExecutor(Protocol):
    """Runs the Teamspace MVP suite (WP07)."""

    kind: str

    def describe(self, runs: int) -> tuple[str, ...]:
        """Return what a dry run would do, one line per action."""
        ...

    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Hold the canary target for every Teamspace run."""
        ...

    def run(self, n: int, *, total_runs: int) -> TeamspaceCapture:
        """Run Teamspace run *n* and return it, its log and report already kept."""
        ...

    def cancel(self) -> None:
        """Stop what this executor started (idempotent)."""
        ...
