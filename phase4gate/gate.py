"""The gate engine: eight work packages, their dependencies, stops, journal and resume.

The WPs form a dependency graph (WP01 -> WP02 -> WP04 -> WP05 -> WP06 -> WP07 ->
WP08, and WP03 needed by WP04).  WP03 starts once WP01 has passed and runs beside
WP02.  The engine:

* never starts a WP whose dependencies did not pass;
* halts at the first stop or error (a WP already running finishes and is recorded);
* marks every WP not reached ``skipped``, never ``passed``;
* appends every event, fsync'd, to ``journal.jsonl`` in the run folder; the report
  (``report.json``/``report.md``) is a projection of that journal.

Each WP's work is a function ``run(ctx: StepContext) -> StepOutcome`` in
``phase4gate.steps.wpNN``; the engine only wires them.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import datetime as dt
import importlib
import logging
import os
import secrets as _secrets
import signal
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs
from attrs import field, frozen

# The journal's readers live in phase4gate.journal; re-exported here for existing imports.
from phase4gate.clients import Clients
from phase4gate.errors import (
    ExitCode,
    InputError,
    NotImplementedStepError,
    Phase4GateError,
    UsageError,
    redact,
)
from phase4gate.journal import config_from_journal, report_from_journal
from phase4gate.models import (
    WP_IDS,
    EvidenceRef,
    FactValue,
    GateReport,
    StepOutcome,
    StepResult,
    StepStatus,
    StopKind,
)

if TYPE_CHECKING:
    from phase4gate.adapters.store import EvidenceStore
    from phase4gate.config import GateConfig
    from phase4gate.progress import Progress

__all__ = [
    "WORK_PACKAGES",
    "Gate",
    "Step",
    "StepContext",
    "WorkPackage",
    "config_from_journal",
    "find_run",
    "new_run_id",
    "report_from_journal",
    "work_package",
]

log = logging.getLogger("phase4gate")
# How often the scheduler looks for a stop request, and how long running steps get to notice one.
_STOP_POLL_SECONDS: Final = 0.2
_WIND_DOWN_SECONDS: Final = 15.0


@frozen
class WorkPackage:
    """One WP: what it does, what it needs, when it stops."""

    id: str
    title: str
    needs: tuple[str, ...]
    stop_conditions: tuple[str, ...]
    # Ordering only: start after these passed, without being a dependency (WP03 after WP01).
    starts_after: tuple[str, ...] = ()


WORK_PACKAGES: Final = (
    WorkPackage(
        "WP01",
        "Blockers #1141 and #1182 closed by substantive, test-backed fixes",
        (),
        (
            "a blocker is still open (waiting)",
            "a blocker was closed as not planned or duplicate, or without a linked change (failed)",
            "a blocker's fix is logging-only, docs-only, or does not touch its focus (failed)",
            "no test fails without the fix and passes with it (failed)",
        ),
    ),
    WorkPackage(
        "WP02",
        "Newest RC after the baseline installed in isolation and verified",
        ("WP01",),
        (
            "no RC newer than the baseline on the index (waiting: an operator must cut one)",
            "the RC does not contain a blocker's fix commit (waiting)",
            "the RC breaks as users install it: dependency drift or broken (failed)",
        ),
    ),
    WorkPackage(
        "WP03",
        "Read-only SaaS preflight: health, readiness, drain counts",
        (),
        (
            "/health/ready/ is not 200 or the drain queue is degraded (waiting)",
            "events package older than required (waiting)",
            "drain counts differ from 0 and exactly 22 (failed)",
        ),
        starts_after=("WP01",),
    ),
    WorkPackage(
        "WP04",
        "One canary run: all four scenarios pass",
        ("WP02", "WP03"),
        (
            "any scenario fails, is skipped or missing (failed; the mapped blocker is re-opened)",
            "the run file was not written by this run, or contradicts the runner's exit (failed)",
            "the SaaS was redeployed since the preflight, checked before run 1 and after the run (waiting)",
        ),
    ),
    WorkPackage(
        "WP05",
        "Four consecutive canary runs: 16 of 16 cells pass",
        ("WP04",),
        (
            "any run does not pass (failed; the mapped blocker is re-opened)",
            "a run file was not written by its run, or contradicts the runner's exit (failed)",
            "the SaaS was redeployed or the RC changed during the gate (waiting)",
        ),
    ),
    WorkPackage(
        "WP06",
        "Evidence bundled; e2e#41 commented and closed",
        ("WP05",),
        (
            "the comment cannot be rendered from observed facts, or was not read back (failed)",
            "the plan's protocol (4 consecutive runs x 4 scenarios) was not what ran (failed; nothing posted)",
        ),
    ),
    WorkPackage(
        "WP07",
        "Teamspace MVP suite passes four times, logs kept",
        ("WP06",),
        (
            "any Teamspace run fails (failed; triaged from its log)",
            "the SaaS was redeployed, checked before run 1 and after every run (waiting)",
        ),
    ),
    WorkPackage(
        "WP08",
        "spec-kitty#1038 commented, never closed",
        ("WP07",),
        (
            "the comment cannot be rendered, or #1038 is not open after posting (failed)",
            "the plan's protocol (4 canary runs, 4 Teamspace runs) was not what ran (failed; nothing posted)",
        ),
    ),
)


def work_package(wp: str) -> WorkPackage:
    """Return the WP named *wp* (case-insensitive).

    Raises:
        UsageError: no such WP.
    """
    key = wp.upper()
    for w in WORK_PACKAGES:
        if w.id == key:
            return w
    msg = f"unknown work package {wp!r}; expected one of {', '.join(WP_IDS)}"
    raise UsageError(msg)


def _dependents(wp: str) -> set[str]:
    """Every WP that needs *wp*, directly or not."""
    out: set[str] = set()
    frontier = [wp]
    while frontier:
        cur = frontier.pop()
        for w in WORK_PACKAGES:
            if cur in w.needs and w.id not in out:
                out.add(w.id)
                frontier.append(w.id)
    return out


@attrs.define
class StepContext:
    """What a WP step gets: configuration, its evidence store, earlier results, knobs."""

    wp: str
    config: GateConfig
    run_id: str
    store: EvidenceStore
    evidence_root: Path
    results: Mapping[str, StepResult]
    progress: Progress
    dry_run: bool = False
    environ: Mapping[str, str] = field(factory=dict, repr=False)
    # Folder (relative to the run folder) for this execution of this WP: "wp03/1".
    prefix: str = ""
    # Free-form knobs from the CLI for one step (e.g. install mode), not persisted.
    options: Mapping[str, str] = field(factory=dict)
    # The clients this step may use (GitHub, SaaS), with the gate's sleep and clock.
    clients: Clients = field(
        default=attrs.Factory(lambda self: Clients(self.config, self.environ), takes_self=True), repr=False
    )

    @property
    def token(self) -> str | None:
        """The GitHub token from the environment, if any."""
        return self.config.token(self.environ)

    def fact(self, wp: str, key: str) -> FactValue:
        """Return a fact recorded by an earlier WP of this run.

        Raises:
            InputError: the WP did not pass or did not record *key*.
        """
        result = self.results.get(wp)
        if result is None or result.status is not StepStatus.PASSED:
            raise InputError(f"journal of {self.run_id}", [f"{wp} has not passed; {self.wp} needs its facts"])
        if key not in result.facts:
            raise InputError(f"journal of {self.run_id}", [f"$.{wp}.facts: missing {key!r}"])
        return result.facts[key]

    def note(self, message: str) -> None:
        """Show progress for this WP."""
        self.progress.update(self.wp, message)

    def evidence_path(self, name: str) -> str:
        """Return *name* inside this WP execution's evidence folder."""
        return f"{self.prefix}/{name}" if self.prefix else name


Step = Callable[[StepContext], StepOutcome]
# still_valid(config, earlier result, environ) -> why it no longer holds, or None.
StillValid = Callable[["GateConfig", StepResult, Mapping[str, str]], "str | None"]


def _load_step(wp: str) -> Step:
    module = importlib.import_module(f"phase4gate.steps.{wp.lower()}")
    run = getattr(module, "run", None)
    if run is None:
        msg = f"{wp} is not implemented yet; the gate cannot decide it"
        raise NotImplementedStepError(msg, hint="run the WPs before it with --until, or wait for the implementation")
    step: Step = run
    return step


def new_run_id(now: dt.datetime | None = None) -> str:
    """Return a sortable run id: ``20261125T101500Z-3f9a``."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{_secrets.token_hex(2)}"


def find_run(evidence_root: Path, run: str) -> Path:
    """Return the folder of run *run* (an id, a path, or ``latest``).

    Raises:
        UsageError: no such run.
    """
    candidate = Path(run)
    if candidate.is_dir() and (candidate / "journal.jsonl").exists():
        return candidate
    if run == "latest":
        runs = sorted(p for p in evidence_root.glob("*/journal.jsonl"))
        if not runs:
            msg = f"no gate run under {evidence_root}"
            raise UsageError(msg, hint="start one with `phase4gate run`")
        return runs[-1].parent
    path = evidence_root / run
    if not (path / "journal.jsonl").exists():
        msg = f"no gate run {run!r} under {evidence_root}"
        raise UsageError(msg, hint="`phase4gate status` lists the runs")
    return path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Gate:
    """Run the WPs of one gate run, in dependency order, halting at the first stop."""

    def __init__(  # noqa: PLR0913 - the knobs of `phase4gate run`
        self,
        config: GateConfig,
        *,
        evidence_root: Path | None = None,
        resume: str | None = None,
        dry_run: bool = False,
        environ: Mapping[str, str] | None = None,
        progress: Progress | None = None,
        steps: Mapping[str, Step] | None = None,
        options: Mapping[str, str] | None = None,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        from phase4gate.adapters.store import EvidenceStore  # noqa: PLC0415
        from phase4gate.progress import NullProgress  # noqa: PLC0415

        self.config = config
        self.evidence_root = evidence_root or Path(config.evidence.root)
        self.dry_run = dry_run
        self.environ = dict(environ) if environ is not None else {}
        self.progress = progress or NullProgress()
        self._steps = dict(steps or {})
        self._options = dict(options or {})
        self._clock = clock
        if resume:
            self.run_dir = find_run(self.evidence_root, resume)
            self.run_id = self.run_dir.name
        else:
            self.run_id = new_run_id(clock())
            self.run_dir = self.evidence_root / self.run_id
        self.store = EvidenceStore(self.run_dir)
        self._resuming = bool(resume)
        self._previous = self._load_previous() if resume else None
        self._thread_wp = threading.local()
        self._in_progress: set[str] = set()

    # ----------------------------------------------------------------- journal

    def _journal(self, event: dict[str, Any]) -> None:
        from phase4gate import convert  # noqa: PLC0415

        # The store chains every event to the previous line ("prev") and appends whole lines only.
        self.store.append_event(convert.unstructure(event))

    def _load_previous(self) -> GateReport | None:
        """Return what earlier invocations decided, as far as a sealed journal head vouches for it.

        Only the prefix a finished (or cleanly interrupted) invocation sealed is trusted: events
        after it, whether left by a SIGKILL or appended by hand, are never reused (their WPs run
        again), so a resume never seals or signs results it cannot vouch for.
        """
        from phase4gate.adapters.store import load_manifest  # noqa: PLC0415
        from phase4gate.journal import line_digest, read_journal_file  # noqa: PLC0415

        journal = read_journal_file(self.run_dir / "journal.jsonl")
        if journal.torn_note:
            log.warning("%s; it is moved aside before the next event is appended", journal.torn_note)
        if not journal.lines:
            return None
        sealed = load_manifest(self.run_dir).sealed
        lines = list(journal.lines)
        if sealed is None or sealed[0] > len(lines) or line_digest(lines[sealed[0] - 1]) != sealed[1]:
            log.warning("%s: no sealed journal head matches: nothing earlier is reused", self.run_dir.name)
            return None
        if len(lines) > sealed[0]:
            log.warning(
                "%s: %d journal event(s) after the sealed head are not reused (their WPs run again)",
                self.run_dir.name,
                len(lines) - sealed[0],
            )
        return report_from_journal(lines[: sealed[0]], source=journal.source)

    def _starts(self, wp: str) -> int:
        return sum(1 for ln in self.store.read_journal() if f'"wp": "{wp}"' in ln and '"wp-start"' in ln)

    # ----------------------------------------------------------------- resume

    def _evidence_intact(self, result: StepResult) -> bool:
        from phase4gate.adapters.store import sha256_file  # noqa: PLC0415

        for ref in result.evidence:
            p = self.run_dir / ref.path
            if not p.is_file() or sha256_file(p) != ref.sha256:
                return False
        return True

    def _reusable(self, result: StepResult, previous: GateReport) -> tuple[bool, str]:
        if result.status is not StepStatus.PASSED:
            return False, f"{result.status.value} before"
        if result.dry_run:
            return False, "only described by a dry run; running it for real"
        if not self._evidence_intact(result):
            return False, "its evidence changed since; re-running"
        if result.wp == "WP01":
            reopened = [f"{s.wp} re-opened #{s.facts['reopened']}" for s in previous.steps if s.facts.get("reopened")]
            if reopened:
                return False, f"the gate itself re-opened a blocker since ({'; '.join(reopened)}); re-checking"
        if result.wp == "WP03":
            max_age = dt.timedelta(hours=self.config.saas.max_preflight_age_hours)
            if self._clock() - result.finished_at > max_age:
                return False, f"preflight older than {self.config.saas.max_preflight_age_hours:g} h; re-running"
        still_valid = self._still_valid_hook(result.wp)
        if still_valid is not None:
            changed = still_valid(self.config, result, self.environ)
            if changed:
                return False, f"{changed}; re-running"
        return True, "passed before with intact evidence"

    def _still_valid_hook(self, wp: str) -> StillValid | None:
        """A step may say whether its earlier result still holds (WP03: the SaaS was not redeployed)."""
        if wp in self._steps:
            hook = getattr(self._steps[wp], "still_valid", None)
        else:
            try:
                hook = getattr(importlib.import_module(f"phase4gate.steps.{wp.lower()}"), "still_valid", None)
            except ImportError:  # pragma: no cover - every WP module exists
                hook = None
        return hook if callable(hook) else None

    def _reused_results(self, wanted: set[str]) -> dict[str, StepResult]:
        """Return the previous run's passed results that stay valid (and whose needs stay valid)."""
        if self._previous is None:
            return {}
        keep: dict[str, StepResult] = {}
        invalid: set[str] = set()
        for wp in WP_IDS:
            prev = self._previous.step(wp)
            if prev is None:
                continue
            ok, why = self._reusable(prev, self._previous)
            if not ok and prev.status is StepStatus.PASSED:
                log.info("%s: %s", wp, why)
                invalid |= {wp} | _dependents(wp)
            if ok and wp not in invalid:
                keep[wp] = prev
        return {wp: r for wp, r in keep.items() if wp in wanted or r.status is StepStatus.PASSED}

    # ----------------------------------------------------------------- running

    def _step_fn(self, wp: str) -> Step:
        if wp in self._steps:
            return self._steps[wp]
        return _load_step(wp)

    def _begin(self, wp: str) -> tuple[int, dt.datetime]:
        """Journal the start of *wp* (in the scheduling thread, so the journal order is the decision order)."""
        started = self._clock()
        n = self._starts(wp) + 1
        self._journal({"event": "wp-start", "wp": wp, "time": started, "attempt": n})
        return n, started

    def _execute(self, wp: str, results: Mapping[str, StepResult], n: int, started: dt.datetime) -> StepResult:
        self._thread_wp.wp = wp  # the children this thread starts are journalled as this WP's
        self.progress.start(wp, work_package(wp).title)
        ctx = StepContext(
            wp=wp,
            config=self.config,
            run_id=self.run_id,
            store=self.store,
            evidence_root=self.evidence_root,
            results=dict(results),
            progress=self.progress,
            dry_run=self.dry_run,
            environ=self.environ,
            prefix=f"{wp.lower()}/{n}",
            options=self._options,
        )
        code: ExitCode | None = None
        try:
            outcome = self._step_fn(wp)(ctx)
        except InputError as exc:
            code = exc.exit_code
            outcome = StepOutcome.stopped(
                StopKind.FAILED,
                "evidence malformed or inconsistent",
                str(exc),
                facts={"error": type(exc).__name__},
            )
        except Phase4GateError as exc:
            # The exception's own ExitCode is kept in the result: a ConfigError in a step is exit 2, not 3.
            code = exc.exit_code
            reason = str(exc) + (f" (hint: {exc.hint})" if exc.hint else "")
            outcome = StepOutcome.error(reason, facts={"error": type(exc).__name__, "exit_code": int(code)})
        except Exception as exc:  # noqa: BLE001 - recorded as an internal error (exit 70)
            code = ExitCode.INTERNAL
            log.error("%s crashed: %s", wp, redact(f"{type(exc).__name__}: {exc}"))  # noqa: TRY400 - no raw traceback
            outcome = StepOutcome.error(
                redact(f"internal error: {type(exc).__name__}: {exc}"),
                facts={"error": type(exc).__name__, "exit_code": int(code)},
            )
        from phase4gate.adapters.proc import stop_requested  # noqa: PLC0415

        stop = stop_requested()
        if stop is not None:
            # Ended while a stop was requested (its children were signalled): never a verdict.
            raise stop
        # The journal boundary: no credential (URL userinfo, token) reaches a reason or a fact.
        outcome = attrs.evolve(
            outcome,
            reason=redact(outcome.reason),
            facts={k: redact(v) if isinstance(v, str) else v for k, v in outcome.facts.items()},
        )
        from phase4gate.textcap import cap_outcome  # noqa: PLC0415 - bounded reasons (issue 20, case 8)

        outcome = cap_outcome(outcome, lambda text: self.store.write_text(ctx.evidence_path("reason.txt"), text))
        result = StepResult.from_outcome(
            wp, outcome, started, max(self._clock(), started), dry_run=self.dry_run, exit_code=code
        )
        self._journal({"event": "wp-result", "wp": wp, "result": result, "time": result.finished_at})
        self.progress.done(wp, f"{result.status.value}" + (f" ({result.stop_kind.value})" if result.stop_kind else ""))
        return result

    def plan(self, *, only: str | None = None, until: str | None = None) -> tuple[str, ...]:
        """Return the WPs this invocation is asked for, in order.

        Raises:
            UsageError: ``--only`` and ``--until`` together, or an unknown WP.
        """
        if only and until:
            msg = "--only and --until cannot be combined"
            raise UsageError(msg)
        if only:
            return (work_package(only).id,)
        if until:
            # "Until WP03" means WP01 to WP03 in plan order (blockers, RC and preflight).
            return WP_IDS[: WP_IDS.index(work_package(until).id) + 1]
        return WP_IDS

    def run(self, *, only: str | None = None, until: str | None = None) -> GateReport:
        """Run the requested WPs and return the report (also written beside the journal).

        Raises:
            UsageError: ``--only WPxx`` whose dependencies have not passed in this run.
        """
        requested = self.plan(only=only, until=until)
        from phase4gate.adapters.guard import RunGuard  # noqa: PLC0415

        guard = RunGuard(
            self.run_dir,
            self.run_id,
            config=self.config,
            environ=self.environ,
            journal=self._journal,
            # Every earlier invocation's children are ended, sealed or not (a SIGKILL seals nothing).
            earlier=self.store.read_journal() if self._resuming else (),
            current_wp=lambda: getattr(self._thread_wp, "wp", None),
        )
        with guard:
            return self._run_guarded(requested, guard.marker, only=only)

    def _run_guarded(self, requested: tuple[str, ...], marker: str, *, only: str | None) -> GateReport:
        reused = self._reused_results(set(requested))
        if only:
            package = work_package(only)
            missing = [d for d in package.needs if d not in reused]
            if missing:
                msg = f"{package.id} needs {', '.join(missing)} to have passed in run {self.run_id}, and they have not"
                raise UsageError(
                    msg,
                    hint=f"run `phase4gate run --until {missing[-1]}` first, "
                    "or pass --resume with a run where they passed",
                )
        start = self._clock()
        self._journal(
            {
                "event": "gate-start",
                "run_id": self.run_id,
                "time": start,
                "dry_run": self.dry_run,
                "requested": list(requested),
                "resumed": self._resuming,
                # Who writes this run: a later resume ends what this gate's children left running.
                "child_marker": marker,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                # The effective configuration (it holds no secret: tokens come from the environment).
                "config": self.config,
            }
        )
        results: dict[str, StepResult] = {}
        for wp, prev in reused.items():
            if wp in requested or only:
                results[wp] = prev
                self._journal({"event": "wp-reused", "wp": wp, "time": self._clock()})
                self._journal({"event": "wp-result", "wp": wp, "result": prev, "time": prev.finished_at})
        try:
            self._run_graph(requested, results)
        except KeyboardInterrupt as exc:
            from phase4gate.adapters.proc import StopRequested, terminate_all  # noqa: PLC0415

            stop = exc if isinstance(exc, StopRequested) else StopRequested(signal.SIGINT)
            terminate_all(grace=1.0)
            self._journal(
                {
                    "event": "interrupted",
                    "time": self._clock(),
                    "signal": stop.signal_name,
                    "in_progress": sorted(self._in_progress),
                    "exit_code": stop.exit_code,
                }
            )
            try:
                self._project()  # what this invocation wrote is sealed: a resume reuses it, verify checks it
            except (Phase4GateError, OSError) as exc:  # the stop wins; a resume re-runs what is unsealed
                log.warning("could not seal the interrupted run: %s", redact(str(exc)))
            raise stop from None
        halted = next((r for r in results.values() if r.status in {StepStatus.STOPPED, StepStatus.ERROR}), None)
        for wp in requested:
            if wp not in results:
                t = self._clock()
                why = (
                    f"not started: {halted.wp} {halted.status.value}"
                    if halted
                    else "not started: its dependencies did not pass"
                )
                skipped = StepResult(wp=wp, status=StepStatus.SKIPPED, reason=why, started_at=t, finished_at=t)
                results[wp] = skipped
                self._journal({"event": "wp-result", "wp": wp, "result": skipped, "time": t})
        self._journal({"event": "gate-end", "time": self._clock()})
        return self._project()

    def _project(self) -> GateReport:
        """Write the report files and the attestation for the journal as it stands, sealing its head."""
        from phase4gate.attest import write_statement  # noqa: PLC0415

        report = report_from_journal(self.store.read_journal(), source=str(self.run_dir / "journal.jsonl"))
        write_report_files(self.run_dir, report)
        write_statement(self.run_dir, report, environ=self.environ)
        return report

    @staticmethod
    def _ready(wp: str, requested: tuple[str, ...], results: Mapping[str, StepResult]) -> bool:
        w = work_package(wp)
        gates = (*w.needs, *(d for d in w.starts_after if d in requested))
        return all(d in results and results[d].status is StepStatus.PASSED for d in gates)

    def _run_graph(self, requested: tuple[str, ...], results: dict[str, StepResult]) -> None:
        """Run the pending WPs; on a stop request (SIGINT/SIGTERM) start nothing more and raise it.

        Raises:
            StopRequested: the gate was asked to stop; ``self._in_progress`` names the WPs cut short.
        """
        from phase4gate.adapters.proc import StopRequested, request_stop, stop_requested  # noqa: PLC0415

        pending = [wp for wp in requested if wp not in results]
        halted = False
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="wp")
        running: dict[concurrent.futures.Future[StepResult], str] = {}
        stopped = False
        try:
            while True:
                stop = stop_requested()
                if stop is not None:
                    stopped = True
                    self._wind_down(running, results)
                    raise stop
                if not halted:
                    ready = [wp for wp in pending if self._ready(wp, requested, results)]
                    # Journal every start decided now before any of them can finish.
                    begun = [(wp, *self._begin(wp)) for wp in ready]
                    for wp, n, started in begun:
                        pending.remove(wp)
                        self._in_progress.add(wp)
                        # In a copy of this context: the step's children carry this gate's marker.
                        ctx = contextvars.copy_context()
                        running[pool.submit(ctx.run, self._execute, wp, dict(results), n, started)] = wp
                if not running:
                    return
                done, _ = concurrent.futures.wait(
                    running, timeout=_STOP_POLL_SECONDS, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for fut in done:
                    wp = running.pop(fut)
                    exc = fut.exception()
                    if isinstance(exc, KeyboardInterrupt):
                        # A step cut short by a stop (or a Ctrl-C raised in it): stop everything.
                        request_stop(exc.signum if isinstance(exc, StopRequested) else signal.SIGINT)
                        continue
                    result = fut.result()
                    results[wp] = result
                    self._in_progress.discard(wp)
                    if result.status is not StepStatus.PASSED:
                        halted = True
        finally:
            # After a stop, a step stuck outside a child process is abandoned, not waited for.
            pool.shutdown(wait=not stopped, cancel_futures=stopped)

    def _wind_down(
        self, running: dict[concurrent.futures.Future[StepResult], str], results: dict[str, StepResult]
    ) -> None:
        """Give the running steps a bounded time to notice the stop; keep the results of those that finished."""
        done, _ = concurrent.futures.wait(running, timeout=_WIND_DOWN_SECONDS)
        for fut in done:
            if fut.exception() is None:
                results[running[fut]] = fut.result()
                self._in_progress.discard(running[fut])


def render_report_markdown(report: GateReport) -> str:
    """Render the report as Markdown: WP x status x stop kind x reason x duration."""
    lines = [
        f"# phase4gate report — run {report.run_id}",
        "",
        f"Verdict: **{report.verdict.value}**"
        + (" (DRY RUN: nothing was written or installed)" if report.dry_run else ""),
        "",
        "| WP | status | stop kind | reason | duration |",
        "|---|---|---|---|---|",
    ]
    for s in report.steps:
        reason = s.reason.replace("|", "\\|").replace("\n", " ")
        if s.stop_condition:
            reason = f"{s.stop_condition}: {reason}"
        kind = s.stop_kind.value if s.stop_kind else ""
        lines.append(f"| {s.wp} | {s.status.value} | {kind} | {reason} | {s.duration_seconds:.1f}s |")
    from phase4gate.checks.citations import report_citation_lines  # noqa: PLC0415

    lines += report_citation_lines(report.steps)  # executor runs (GitHub Actions); none for local runs
    return "\n".join(lines) + "\n"


def write_report_files(run_dir: Path, report: GateReport) -> None:
    """Write ``report.json`` and ``report.md`` beside the journal.

    The report is a projection of the append-only journal (``phase4gate status``
    re-derives it), so it is replaced atomically on each invocation rather than
    being write-once evidence; ``phase4gate verify`` checks it against the journal.
    """
    from phase4gate import convert  # noqa: PLC0415
    from phase4gate.adapters.store import EvidenceStore, replace_projection  # noqa: PLC0415
    from phase4gate.journal import read_journal_file  # noqa: PLC0415

    # Seal the journal prefix this report projects (verify checks the report against it).
    journal = read_journal_file(run_dir / "journal.jsonl")
    if journal.lines and report_from_journal(journal.lines, source=journal.source) == report:
        EvidenceStore(run_dir).seal_head(len(journal.lines), journal.head)
    from phase4gate.checks.citations import report_json_data  # noqa: PLC0415

    replace_projection(run_dir / "report.json", convert.dumps(report_json_data(report)))
    replace_projection(run_dir / "report.md", render_report_markdown(report))


def evidence_refs(*refs: EvidenceRef | Iterable[EvidenceRef]) -> tuple[EvidenceRef, ...]:
    """Flatten references for a :class:`StepOutcome`."""
    out: list[EvidenceRef] = []
    for r in refs:
        if isinstance(r, EvidenceRef):
            out.append(r)
        else:
            out.extend(r)
    return tuple(out)
