"""A resume trusts only what a sealed journal head vouches for (forged or SIGKILL-left results run again)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from phase4gate import convert
from phase4gate.config import GateConfig
from phase4gate.gate import Gate
from phase4gate.models import StepResult, StepStatus
from phase4gate.verify import verify_run
from tests.gate_helpers import Recorder


def _forge(gate: Gate, wps: tuple[str, ...]) -> None:
    """Append correctly chained wp-result lines saying *wps* passed, after the sealed head."""
    at = dt.datetime(2026, 5, 20, 9, 0, tzinfo=dt.UTC)
    for wp in wps:
        result = StepResult(wp=wp, status=StepStatus.PASSED, reason="forged pass", started_at=at, finished_at=at)
        gate.store.append_event(convert.unstructure({"event": "wp-result", "wp": wp, "result": result, "time": at}))


def test_results_appended_after_the_seal_are_never_reused(evidence_root: Path) -> None:
    first = Gate(GateConfig(), evidence_root=evidence_root, steps=Recorder({}).steps())
    first.run(until="WP05")
    _forge(first, ("WP06", "WP07", "WP08"))
    forged = verify_run(first.run_dir)
    assert not forged.ok
    assert any("3 result event(s) after the sealed head, not vouched for" in p for p in forged.journal_problems)

    rec = Recorder({})
    report = Gate(GateConfig(), evidence_root=evidence_root, steps=rec.steps(), resume=first.run_id).run()

    assert sorted(rec.calls) == ["WP06", "WP07", "WP08"]  # run for real; WP01-WP05 reused from the seal
    assert all("forged" not in s.reason for s in report.steps)
    assert verify_run(first.run_dir).ok


def test_a_sigkill_left_journal_reuses_only_the_sealed_invocation(evidence_root: Path) -> None:
    """No seal after the first invocation's events (as after a SIGKILL): nothing of it is reused."""
    first = Gate(GateConfig(), evidence_root=evidence_root, steps=Recorder({}).steps())
    first.run(until="WP02")
    _forge(first, ("WP03", "WP04"))  # what a killed invocation would have left, unsealed

    rec = Recorder({})
    Gate(GateConfig(), evidence_root=evidence_root, steps=rec.steps(), resume=first.run_id).run(until="WP04")

    assert sorted(rec.calls) == ["WP03", "WP04"]
