"""Stop semantics over random WP outcomes (hypothesis).

The plan: "The gate must NEVER proceed past a stop condition", and each WP
"depends" on the ones before it. These properties check the engine, not a step.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from phase4gate import convert
from phase4gate.config import GateConfig
from phase4gate.gate import WORK_PACKAGES, Gate, report_from_journal, work_package
from phase4gate.models import WP_IDS, StepStatus
from tests.gate_helpers import OUTCOMES, Recorder

outcomes_st = st.fixed_dictionaries({wp: st.sampled_from(OUTCOMES) for wp in WP_IDS})


def _events(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(ln) for ln in (run_dir / "journal.jsonl").read_text().splitlines()]


@given(outcomes=outcomes_st)
def test_no_wp_starts_after_a_stop_or_before_its_needs(outcomes: dict[str, str]) -> None:
    """No WP starts after any WP stopped; every WP that starts has its needs passed."""
    with tempfile.TemporaryDirectory() as tmp:
        gate = Gate(GateConfig(), evidence_root=Path(tmp), steps=Recorder(outcomes).steps())
        report = gate.run()
        passed: set[str] = set()
        stopped = False
        for event in _events(gate.run_dir):
            if event["event"] == "wp-start":
                wp = str(event["wp"])
                assert not stopped, f"{wp} started after a stop"
                w = work_package(wp)
                assert set(w.needs) | set(w.starts_after) <= passed, f"{wp} started before its needs"
            elif event["event"] == "wp-result":
                result = event["result"]
                assert isinstance(result, dict)
                if result["status"] == "passed":
                    passed.add(str(event["wp"]))
                elif result["status"] in {"stopped", "error"}:
                    stopped = True
        # Nothing that did not run is reported passed; a green verdict needs all eight.
        ran = {str(e["wp"]) for e in _events(gate.run_dir) if e["event"] == "wp-start"}
        for step in report.steps:
            if step.wp not in ran:
                assert step.status is StepStatus.SKIPPED
        assert (report.verdict is StepStatus.PASSED) == all(v == "passed" for v in outcomes.values())
        expected_exit = 0 if report.verdict is StepStatus.PASSED else 3 if report.verdict is StepStatus.ERROR else 1
        assert report.exit_code == expected_exit


@given(outcomes=outcomes_st)
def test_report_equals_the_journal(outcomes: dict[str, str]) -> None:
    """report.json is the journal's fold; every WP appears once, in WP order."""
    with tempfile.TemporaryDirectory() as tmp:
        gate = Gate(GateConfig(), evidence_root=Path(tmp), steps=Recorder(outcomes).steps())
        report = gate.run()
        assert report == report_from_journal(gate.store.read_journal())
        assert (gate.run_dir / "report.json").read_text() == convert.dumps(report)
        assert [s.wp for s in report.steps] == list(WP_IDS)


@given(
    stop_at=st.sampled_from([w.id for w in WORK_PACKAGES if w.id != "WP01"]),
    tamper=st.sampled_from(list(WP_IDS)),
)
def test_resume_reruns_exactly_what_changed(stop_at: str, tamper: str) -> None:
    """Resume never re-runs a passed WP whose evidence is intact, and always one whose evidence changed."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first = Gate(GateConfig(), evidence_root=root, steps=Recorder({stop_at: "failed"}).steps())
        report1 = first.run()
        passed_before = {s.wp for s in report1.steps if s.status is StepStatus.PASSED}
        tampered = False
        if tamper in passed_before:
            target = first.run_dir / tamper.lower() / "1" / "evidence.txt"
            os.chmod(target, 0o644)
            target.write_text("altered\n")
            tampered = True
        rec = Recorder({})
        Gate(GateConfig(), evidence_root=root, steps=rec.steps(), resume=first.run_id).run()
        rerun = set(rec.calls)
        invalid: set[str] = set()
        if tampered:
            invalid = {tamper} | {w.id for w in WORK_PACKAGES if _depends_on(w.id, tamper)}
        for wp in passed_before:
            assert (wp in rerun) == (wp in invalid), (wp, rerun, invalid)
        assert rerun >= set(WP_IDS) - passed_before


def _depends_on(wp: str, other: str) -> bool:
    needs = list(work_package(wp).needs)
    while needs:
        cur = needs.pop()
        if cur == other:
            return True
        needs.extend(work_package(cur).needs)
    return False
