"""The gate engine: order, stops, journal, report, resume, --only/--until."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path

import pytest

from phase4gate.adapters.store import EvidenceStore
from phase4gate.config import GateConfig
from phase4gate.errors import NotImplementedStepError, UsageError
from phase4gate.gate import (
    WORK_PACKAGES,
    Gate,
    Step,
    StepContext,
    find_run,
    report_from_journal,
    work_package,
)
from phase4gate.models import StepOutcome, StepStatus, StopKind
from phase4gate.resume import ResumeCheck
from phase4gate.steps import wp01, wp03
from tests.conftest import HANG_GUARD_SECONDS
from tests.gate_helpers import Recorder


def run_gate(root: Path, outcomes: dict[str, str], **kwargs: object) -> tuple[Gate, Recorder]:
    rec = Recorder(outcomes)
    gate = Gate(GateConfig(), evidence_root=root, steps=rec.steps(), **kwargs)  # type: ignore[arg-type]
    gate.run()
    return gate, rec


def test_green_gate_runs_every_wp_once(evidence_root: Path) -> None:
    """All eight WPs pass: verdict passed, exit 0, each ran once."""
    gate, rec = run_gate(evidence_root, {})
    report = report_from_journal(gate.store.read_journal())
    assert report.verdict is StepStatus.PASSED
    assert report.exit_code == 0
    assert sorted(rec.calls) == sorted(w.id for w in WORK_PACKAGES)
    assert rec.calls[0] == "WP01"
    assert rec.calls.index("WP04") > max(rec.calls.index("WP02"), rec.calls.index("WP03"))


def test_stop_skips_every_later_wp(evidence_root: Path) -> None:
    """WP04 fails: WP05-WP08 never run and are reported skipped, never passed."""
    gate, rec = run_gate(evidence_root, {"WP04": "failed"})
    report = report_from_journal(gate.store.read_journal())
    assert report.exit_code == 1
    assert "WP05" not in rec.calls
    statuses = {s.wp: s.status for s in report.steps}
    assert statuses["WP04"] is StepStatus.STOPPED
    assert all(statuses[w] is StepStatus.SKIPPED for w in ("WP05", "WP06", "WP07", "WP08"))
    assert report.step("WP05") is not None
    assert "WP04 stopped" in report.step("WP05").reason  # type: ignore[union-attr]


def test_wp01_stop_prevents_wp03(evidence_root: Path) -> None:
    """WP03 starts only after WP01 passed, so a WP01 stop runs nothing else."""
    _, rec = run_gate(evidence_root, {"WP01": "waiting"})
    assert rec.calls == ["WP01"]


def test_error_is_exit_3(evidence_root: Path) -> None:
    """A step that could not decide gives exit 3, never a pass."""
    gate, _ = run_gate(evidence_root, {"WP02": "error"})
    report = report_from_journal(gate.store.read_journal())
    assert report.verdict is StepStatus.ERROR
    assert report.exit_code == 3


def test_unimplemented_step_is_exit_3(evidence_root: Path) -> None:
    """A WP whose step reference names nothing is 'could not decide' (exit 3), through the real resolution."""
    calls: list[str] = []

    def blockers(ctx: StepContext) -> StepOutcome:
        calls.append(ctx.wp)
        return StepOutcome.passed("ok")

    steps: dict[str, Step | str] = {"WP01": blockers, "WP02": "phase4gate.steps.wp02:not_there"}
    report = Gate(GateConfig(), evidence_root=evidence_root, steps=steps).run(until="WP02")
    assert calls == ["WP01"]
    assert report.exit_code == 3
    wp02 = report.step("WP02")
    assert wp02 is not None
    assert (wp02.status, wp02.facts["error"]) == (StepStatus.ERROR, "NotImplementedStepError")
    assert "WP02 is not implemented yet" in wp02.reason
    assert "'phase4gate.steps.wp02:not_there' does not exist" in wp02.reason


@pytest.mark.parametrize(
    "ref",
    ["phase4gate.steps.wp99:run", "phase4gate.steps.wp04:nope", "phase4gate.steps.wp04", "phase4gate.models:WP_IDS"],
)
def test_a_reference_naming_nothing_callable_is_not_implemented(ref: str) -> None:
    """A missing module, a missing or non-callable name, or no ':function' is NotImplementedStepError."""
    from phase4gate.registry import resolve

    with pytest.raises(NotImplementedStepError, match="WP04 is not implemented yet"):
        resolve(ref, wp="WP04")


def test_an_import_error_inside_a_step_module_is_not_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step module that exists but fails to import is a real error (exit 70 in the gate), never 'not implemented'."""
    from phase4gate.registry import resolve

    (tmp_path / "broken_step_probe.py").write_text("import not_a_module_of_phase4gate\n\ndef run(ctx):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="not_a_module_of_phase4gate"):
        resolve("broken_step_probe:run", wp="WP02")


def test_every_registered_reference_resolves() -> None:
    """Each WP's step and resume rule are the functions the registry names (no module-name convention)."""
    from phase4gate.steps import wp05

    by_id = {w.id: w for w in WORK_PACKAGES}
    assert [w.id for w in WORK_PACKAGES] == ["WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07", "WP08"]
    for w in WORK_PACKAGES:
        assert callable(w.load_step()), w.id
    assert by_id["WP05"].load_step() is wp05.run
    assert by_id["WP01"].load_still_valid() is wp01.still_valid
    assert by_id["WP03"].load_still_valid() is wp03.still_valid
    assert {w.id for w in WORK_PACKAGES if w.still_valid is not None} == {"WP01", "WP03"}


def test_crashing_step_is_exit_70(evidence_root: Path) -> None:
    """An unexpected exception is recorded as an internal error (exit 70), not a pass."""

    def boom(ctx: StepContext) -> StepOutcome:
        raise ZeroDivisionError("division by zero")

    g = Gate(GateConfig(), evidence_root=evidence_root, steps={"WP01": boom})
    report = g.run(until="WP01")
    assert report.exit_code == 70
    assert "ZeroDivisionError" in report.steps[0].reason


def test_input_error_in_step_is_a_failed_stop(evidence_root: Path) -> None:
    """A malformed file read by a step stops the gate (failed), naming the file."""
    from phase4gate.errors import InputError

    def bad(ctx: StepContext) -> StepOutcome:
        raise InputError("runs/run-3.json", ["$.outcome: expected one of 'pass', found 'ok'"])

    report = Gate(GateConfig(), evidence_root=evidence_root, steps={"WP01": bad}).run(until="WP01")
    step = report.steps[0]
    assert (step.status, step.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "runs/run-3.json: $.outcome" in step.reason


def test_wp02_and_wp03_really_overlap(evidence_root: Path) -> None:
    """WP02 waits for WP03 to start: only possible if they run at the same time."""
    wp03_started = threading.Event()
    wp02_started = threading.Event()

    def wp02(ctx: StepContext) -> StepOutcome:
        wp02_started.set()
        assert wp03_started.wait(HANG_GUARD_SECONDS), "WP03 did not run beside WP02"
        return StepOutcome.passed("rc ok")

    def wp03(ctx: StepContext) -> StepOutcome:
        wp03_started.set()
        assert wp02_started.wait(HANG_GUARD_SECONDS), "WP02 did not run beside WP03"
        return StepOutcome.passed("saas ok")

    ok = lambda ctx: StepOutcome.passed("ok")  # noqa: E731
    steps = {"WP01": ok, "WP02": wp02, "WP03": wp03, "WP04": ok}
    report = Gate(GateConfig(), evidence_root=evidence_root, steps=steps).run(until="WP04")
    assert report.verdict is StepStatus.PASSED
    starts = [json.loads(ln) for ln in (report_dir(evidence_root) / "journal.jsonl").read_text().splitlines()]
    events = [(e["event"], e.get("wp")) for e in starts]
    # Both started before either finished.
    first_result = min(i for i, e in enumerate(events) if e[0] == "wp-result" and e[1] in {"WP02", "WP03"})
    assert events.index(("wp-start", "WP02")) < first_result
    assert events.index(("wp-start", "WP03")) < first_result


def report_dir(root: Path) -> Path:
    (run,) = [p for p in root.iterdir() if p.is_dir()]
    return run


def test_report_files_match_the_journal(evidence_root: Path) -> None:
    """report.json is exactly the journal's projection; report.md has a row per WP."""
    from phase4gate import convert

    gate, _ = run_gate(evidence_root, {"WP05": "failed"})
    report = report_from_journal(gate.store.read_journal())
    assert (gate.run_dir / "report.json").read_text() == convert.dumps(report)
    md = (gate.run_dir / "report.md").read_text()
    assert md.count("\n| WP0") == 8
    assert "| WP05 | stopped | failed | WP05 stop condition: WP05 observed failed |" in md


def test_until_runs_wps_in_plan_order(evidence_root: Path) -> None:
    """--until WP03 runs WP01 to WP03 in plan order: blockers, RC and preflight."""
    rec = Recorder({})
    gate = Gate(GateConfig(), evidence_root=evidence_root, steps=rec.steps())
    report = gate.run(until="WP03")
    assert sorted(rec.calls) == ["WP01", "WP02", "WP03"]
    assert report.verdict is StepStatus.PASSED
    assert report.requested == ("WP01", "WP02", "WP03")


def test_only_refuses_without_dependencies(evidence_root: Path) -> None:
    """--only WP05 in a fresh run is refused, naming what is missing."""
    gate = Gate(GateConfig(), evidence_root=evidence_root, steps=Recorder({}).steps())
    with pytest.raises(UsageError, match="WP05 needs WP04 to have passed"):
        gate.run(only="WP05")


def test_only_with_resume_runs_one_wp(evidence_root: Path) -> None:
    """After --until WP04 passed, --only WP05 --resume runs WP05 and nothing else."""
    rec = Recorder({})
    Gate(GateConfig(), evidence_root=evidence_root, steps=rec.steps()).run(until="WP04")
    rec2 = Recorder({})
    report = Gate(GateConfig(), evidence_root=evidence_root, steps=rec2.steps(), resume="latest").run(only="WP05")
    assert rec2.calls == ["WP05"]
    assert report.verdict is StepStatus.PASSED


def test_resume_skips_intact_and_reruns_tampered(evidence_root: Path) -> None:
    """Resume re-runs a passed WP whose evidence changed, and everything depending on it."""
    gate, _ = run_gate(evidence_root, {"WP05": "failed"})
    tampered = gate.run_dir / "wp02" / "1" / "evidence.txt"
    os.chmod(tampered, 0o644)
    tampered.write_text("edited\n")
    rec = Recorder({})
    report = Gate(GateConfig(), evidence_root=evidence_root, steps=rec.steps(), resume=gate.run_id).run()
    assert sorted(rec.calls) == ["WP02", "WP04", "WP05", "WP06", "WP07", "WP08"]
    assert report.verdict is StepStatus.PASSED
    # The second execution wrote into its own folder; the first is untouched.
    assert (gate.run_dir / "wp02" / "2" / "evidence.txt").exists()


def test_resume_reruns_stale_preflight(evidence_root: Path) -> None:
    """A WP03 result older than max_preflight_age_hours is re-run on resume."""
    start = dt.datetime(2026, 5, 20, 10, tzinfo=dt.UTC)
    now = [start]
    rec = Recorder({"WP04": "waiting"})
    Gate(GateConfig(), evidence_root=evidence_root, steps=rec.steps(), clock=lambda: now[0]).run()
    now[0] = start + dt.timedelta(hours=25)
    rec2 = Recorder({})
    steps = rec2.steps()
    # WP03's own age rule (its still_valid also reads /health/, which this stand-in WP03 never recorded).
    steps["WP03"].still_valid = wp03.preflight_too_old  # type: ignore[attr-defined]
    Gate(GateConfig(), evidence_root=evidence_root, steps=steps, resume="latest", clock=lambda: now[0]).run()
    assert "WP03" in rec2.calls
    assert "WP02" not in rec2.calls


def test_find_run(evidence_root: Path) -> None:
    """Runs are found by id, path or 'latest'; an unknown one is a usage error."""
    gate, _ = run_gate(evidence_root, {})
    assert find_run(evidence_root, "latest") == gate.run_dir
    assert find_run(evidence_root, gate.run_id) == gate.run_dir
    assert find_run(evidence_root, str(gate.run_dir)) == gate.run_dir
    with pytest.raises(UsageError, match="no gate run 'nope'"):
        find_run(evidence_root, "nope")
    with pytest.raises(UsageError, match="no gate run under"):
        find_run(evidence_root / "empty", "latest")


def test_work_package_lookup() -> None:
    """WPs are looked up case-insensitively; an unknown one is a usage error."""
    assert work_package("wp05").needs == ("WP04",)
    with pytest.raises(UsageError, match="unknown work package 'WP09'"):
        work_package("WP09")


def test_only_and_until_together_refused(evidence_root: Path) -> None:
    """--only and --until cannot be combined."""
    with pytest.raises(UsageError):
        Gate(GateConfig(), evidence_root=evidence_root).plan(only="WP01", until="WP02")


def test_context_fact_errors(evidence_root: Path) -> None:
    """A step asking for a fact of a WP that did not pass gets a clear InputError."""
    from phase4gate.errors import InputError
    from phase4gate.progress import NullProgress

    ctx = StepContext(
        wp="WP04",
        config=GateConfig(),
        run_id="r",
        store=EvidenceStore(evidence_root / "r"),
        evidence_root=evidence_root,
        results={},
        progress=NullProgress(),
    )
    with pytest.raises(InputError, match="WP02 has not passed; WP04 needs its facts"):
        ctx.fact("WP02", "rc_version")
    assert ctx.token is None
    assert ctx.evidence_path("x") == "x"


def test_dry_run_results_are_never_reused_or_a_pass(evidence_root: Path) -> None:
    """A dry run decides nothing: verdict skipped (exit 0), and a real resume runs every WP."""
    gate = Gate(GateConfig(), evidence_root=evidence_root, steps=Recorder({}).steps(), dry_run=True)
    dry = gate.run()
    assert dry.verdict is StepStatus.SKIPPED
    assert dry.exit_code == 0
    assert all(s.dry_run for s in dry.steps)
    rec = Recorder({})
    real = Gate(GateConfig(), evidence_root=evidence_root, steps=rec.steps(), resume=gate.run_id).run()
    assert sorted(rec.calls) == sorted(w.id for w in WORK_PACKAGES)
    assert real.verdict is StepStatus.PASSED


def test_a_blocker_reopened_by_the_gate_invalidates_wp01(evidence_root: Path) -> None:
    """After WP04 re-opened a blocker, a resume re-checks WP01 (and everything after it)."""
    rec = Recorder({})
    steps = rec.steps()

    def wp04(ctx: StepContext) -> StepOutcome:
        return StepOutcome.stopped(
            StopKind.FAILED, "any scenario fails", "scenario 4 failed", facts={"reopened": "1141"}
        )

    steps["WP04"] = wp04
    first = Gate(GateConfig(), evidence_root=evidence_root, steps=steps)
    first.run()
    rec2 = Recorder({})
    steps2 = rec2.steps()
    # WP01's own rule.
    steps2["WP01"].still_valid = wp01.still_valid  # type: ignore[attr-defined]
    Gate(GateConfig(), evidence_root=evidence_root, steps=steps2, resume=first.run_id).run()
    assert "WP01" in rec2.calls
    assert "WP03" not in rec2.calls


def test_still_valid_hook_reruns_a_wp_and_its_dependents(evidence_root: Path) -> None:
    """A step's still_valid hook (WP03: the SaaS redeployed) makes resume re-run it and what needs it."""
    rec = Recorder({"WP05": "waiting"})
    first = Gate(GateConfig(), evidence_root=evidence_root, steps=rec.steps())
    first.run()
    rec2 = Recorder({})
    steps = rec2.steps()
    seen: list[str] = []

    def redeployed(check: ResumeCheck) -> str | None:
        seen.append(check.result.wp)
        return "SaaS redeployed since the preflight: git_sha a -> b"

    steps["WP03"].still_valid = redeployed  # type: ignore[attr-defined]
    Gate(GateConfig(), evidence_root=evidence_root, steps=steps, resume=first.run_id).run()
    assert seen == ["WP03"]
    assert sorted(rec2.calls) == ["WP03", "WP04", "WP05", "WP06", "WP07", "WP08"]
