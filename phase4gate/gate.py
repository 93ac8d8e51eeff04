"""The gate engine: plan the WP graph and run it, journalling every decision.

The WPs form a dependency graph (WP01 -> WP02 -> WP04 -> WP05 -> WP06 -> WP07 ->
WP08, and WP03 needed by WP04).  WP03 starts once WP01 has passed and runs beside
WP02.  The engine:

* never starts a WP whose dependencies did not pass;
* halts at the first stop or error (a WP already running finishes and is recorded);
* marks every WP not reached ``skipped``, never ``passed``;
* appends every event, fsync'd, to ``journal.jsonl`` in the run folder; the report
  (``report.json``/``report.md``) is a projection of that journal.

What each WP is, and where its step and its resume rule live, is the registry
(:mod:`phase4gate.registry`); what a resume may reuse is :mod:`phase4gate.resume`; the
journal's readers are :mod:`phase4gate.journal` and the report's projections
:mod:`phase4gate.report`.  Their public names are re-exported here for existing imports.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import datetime as dt
import logging
import os
import secrets as _secrets
import signal
import socket
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs
from attrs import field

from phase4gate.clients import Clients, stoppable_sleep
from phase4gate.errors import ExitCode, InputError, Phase4GateError, UsageError, redact
from phase4gate.journal import config_from_journal, report_from_journal
from phase4gate.models import WP_IDS, FactValue, GateReport, StepOutcome, StepResult, StepStatus, StopKind
from phase4gate.registry import WORK_PACKAGES, Step, StillValid, WorkPackage, resolve, work_package
from phase4gate.report import render_report_markdown, write_report_files

if TYPE_CHECKING:
    from phase4gate.adapters.store import EvidenceStore
    from phase4gate.config import GateConfig
    from phase4gate.progress import Progress
    from phase4gate.warm import Warmer

__all__ = [
    "WORK_PACKAGES",
    "Gate",
    "Step",
    "StepContext",
    "StillValid",
    "WorkPackage",
    "config_from_journal",
    "find_run",
    "new_run_id",
    "render_report_markdown",
    "report_from_journal",
    "work_package",
    "write_report_files",
]

log = logging.getLogger("phase4gate")
# How often the scheduler looks for a stop request, and how long running steps get to notice one.
_STOP_POLL_SECONDS: Final = 0.2
_WIND_DOWN_SECONDS: Final = 15.0


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
        steps: Mapping[str, Step | str] | None = None,
        options: Mapping[str, str] | None = None,
        clock: Callable[[], dt.datetime] = _now,
        sleep: Callable[[float], None] = stoppable_sleep,
    ) -> None:
        """Prepare a run (a new one, or the run *resume* names).

        *steps* replaces WPs' steps (tests, embedding): a callable, or a ``"module:function"``
        reference resolved like the registry's.  A replaced step brings its own resume rule
        (its ``still_valid`` attribute) or none.  *sleep* is what every client's retry waits
        with (tests pass one that records the delays asked for instead of sleeping).

        Raises:
            UsageError: *resume* names no run.
            InputError: the resumed run's journal cannot be read.
        """
        from phase4gate.adapters.store import EvidenceStore  # noqa: PLC0415
        from phase4gate.progress import NullProgress  # noqa: PLC0415
        from phase4gate.resume import load_previous  # noqa: PLC0415

        self.config = config
        self.evidence_root = evidence_root or Path(config.evidence.root)
        self.dry_run = dry_run
        self.environ = dict(environ) if environ is not None else {}
        self.progress = progress or NullProgress()
        self._steps = dict(steps or {})
        self._options = dict(options or {})
        self._clock = clock
        # One factory of clients for every step and resume rule of this gate.
        self.clients = Clients(config, self.environ, sleep=sleep)
        if resume:
            self.run_dir = find_run(self.evidence_root, resume)
            self.run_id = self.run_dir.name
        else:
            self.run_id = new_run_id(clock())
            self.run_dir = self.evidence_root / self.run_id
        self.store = EvidenceStore(self.run_dir)
        self._resuming = bool(resume)
        self._previous = load_previous(self.run_dir) if resume else None
        self._thread_wp = threading.local()
        self._in_progress: set[str] = set()
        # Executions of each WP in this run so far (the next one's folder is wpNN/<count + 1>).
        self._attempts: Counter[str] = Counter()

    # ----------------------------------------------------------------- journal

    def _journal(self, event: dict[str, Any]) -> None:
        from phase4gate import convert  # noqa: PLC0415

        # The store chains every event to the previous line ("prev") and appends whole lines only.
        self.store.append_event(convert.unstructure(event))

    def _count_attempts(self, lines: list[str]) -> None:
        """Count every earlier execution of each WP in *lines* (the whole journal, sealed or not)."""
        from phase4gate.journal import parse_event  # noqa: PLC0415

        events = (parse_event(line, n) for n, line in enumerate(lines, 1))
        # A line that is not an event (appended by hand) starts nothing; verify reports it.
        self._attempts = Counter(e.wp for e in events if e is not None and e.kind == "wp-start" and e.wp)

    # ----------------------------------------------------------------- resume

    def _still_valid(self, wp: str) -> StillValid | None:
        """Return *wp*'s resume rule: the registry's, or a replaced step's own ``still_valid``."""
        if wp not in self._steps:
            return work_package(wp).load_still_valid()
        hook = getattr(self._steps[wp], "still_valid", None)
        return hook if callable(hook) else None

    def _reused_results(self, wanted: set[str]) -> dict[str, StepResult]:
        """Return the previous run's passed results that stay valid (and whose needs stay valid)."""
        from phase4gate.resume import ResumeCheck, reusable, reused_results  # noqa: PLC0415

        previous = self._previous
        if previous is None:
            return {}

        def judge(result: StepResult) -> tuple[bool, str]:
            check = ResumeCheck(self.config, result, previous, self._clock(), self.environ, self.clients)
            rule = self._still_valid(result.wp) if result.status is StepStatus.PASSED else None
            return reusable(self.run_dir, check, rule)

        return reused_results(previous, wanted, judge)

    # ----------------------------------------------------------------- running

    def _step_fn(self, wp: str) -> Step:
        given = self._steps.get(wp)
        if given is None:
            return work_package(wp).load_step()
        if isinstance(given, str):
            step: Step = resolve(given, wp=wp)  # type: ignore[assignment]
            return step
        return given

    def _begin(self, wp: str) -> tuple[int, dt.datetime]:
        """Journal the start of *wp* (in the scheduling thread, so the journal order is the decision order)."""
        started = self._clock()
        self._attempts[wp] += 1
        n = self._attempts[wp]
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
            clients=self.clients,
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

        # The whole journal, read once: every earlier invocation's children and executions.
        earlier = self.store.read_journal() if self._resuming else []
        self._count_attempts(earlier)

        guard = RunGuard(
            self.run_dir,
            self.run_id,
            config=self.config,
            environ=self.environ,
            journal=self._journal,
            # Every earlier invocation's children are ended, sealed or not (a SIGKILL seals nothing).
            earlier=earlier,
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
            with self._warmer(requested, results):
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

    def _warmer(self, requested: tuple[str, ...], results: Mapping[str, StepResult]) -> Warmer:
        """Return the warm-up of the registry steps still to run (their imports, while children run)."""
        from phase4gate.warm import Warmer, warm_list  # noqa: PLC0415

        todo = [wp for wp in requested if wp not in results and wp not in self._steps]
        # WP01 reads GitHub before it starts any child: its adapter (github3) is imported beside the gate's start.
        now = ("phase4gate.adapters.github",) if "WP01" in todo else ()
        steps = [work_package(wp).step.partition(":")[0] for wp in todo]
        return Warmer(lambda: warm_list(steps), now=now)  # the list is read in the warm-up's thread

    def _project(self) -> GateReport:
        """Write the report files and the attestation for the journal as it stands, sealing its head."""
        from phase4gate.attest import write_statement  # noqa: PLC0415
        from phase4gate.report import project_run  # noqa: PLC0415

        report = project_run(self.run_dir)
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
