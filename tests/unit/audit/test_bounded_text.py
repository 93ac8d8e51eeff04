"""Issue 20, case 8 (pure parts and the gate): capped text with the full text kept in evidence."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from phase4gate.config import GateConfig
from phase4gate.errors import EvidenceError
from phase4gate.gate import Gate, StepContext
from phase4gate.models import EvidenceRef, StepOutcome, StepStatus, StopKind
from phase4gate.textcap import REASON_LIMIT, cap, cap_json, cap_lines, cap_outcome, needs_cap

SHA = "0" * 64


def test_cap_keeps_short_text_and_marks_long_text() -> None:
    """Short text is untouched; long text keeps its start and says how much is left out and where."""
    assert cap("short", 10) == "short"
    out = cap("x" * 1000, 100, full_text="wp01/1/reason.txt")
    # 47 kept: room for the marker counting 1000; it then counts 953, one digit shorter (99, not 100).
    assert out == "x" * 47 + "… 953 more characters (full text: wp01/1/reason.txt)"
    kept = out.split("…", 1)[0]
    assert out == kept + f"… {1000 - len(kept)} more characters (full text: wp01/1/reason.txt)"
    assert cap("y" * 50, 10) == "… 50 more characters"


@given(st.text(), st.integers(min_value=0, max_value=300), st.sampled_from([None, "a/b.txt"]))
def test_cap_is_bounded_and_loses_nothing_it_does_not_count(text: str, limit: int, full: str | None) -> None:
    """The result is at most *limit* long (or the marker alone) and kept + counted == the original."""
    out = cap(text, limit, full_text=full)
    if len(text) <= limit:
        assert out == text
        return
    kept, _, marker = out.partition("… ")
    more = int(marker.split(" ", 1)[0])
    assert text.startswith(kept)
    assert len(kept) + more == len(text)
    assert len(out) <= max(limit, len(out) - len(kept))


def test_cap_lines_counts_what_it_leaves_out() -> None:
    """A listing keeps its first entries and one indented "… N more" line."""
    lines = [f"  file {i}" for i in range(250)]
    out = cap_lines(lines, limit=100, what="files", full_text="out.txt")
    assert out[:100] == lines[:100]
    assert out[100:] == ["  … 150 more files (full text: out.txt)"]
    assert cap_lines(lines[:3], limit=100, what="files", full_text=None) == lines[:3]


def test_cap_json_cuts_lists_and_strings_and_records_the_cut() -> None:
    """Top-level lists are cut with their count under "truncated"; every string is capped."""
    data = {"reason": "r" * 5000, "files": [{"path": "p" * 5000} for _ in range(120)], "n": 3}
    assert needs_cap(data)
    out = cap_json(data, text_limit=100, list_limit=10, full_text="full.json")
    assert isinstance(out, dict)
    assert out["n"] == 3
    assert len(out["files"]) == 10
    assert out["truncated"] == {"files": 110, "full_text": "full.json"}
    assert len(out["reason"]) == 100
    assert all(len(f["path"]) == 100 for f in out["files"])
    assert not needs_cap({"reason": "ok", "files": [1, 2]})
    assert cap_json({"reason": "ok", "files": [1, 2]}) == {"reason": "ok", "files": [1, 2]}


def test_cap_outcome_writes_the_full_reason_once() -> None:
    """A long reason is written through the writer, capped, and the evidence is added; a short one is untouched."""
    written: list[str] = []

    def write(text: str) -> EvidenceRef:
        written.append(text)
        return EvidenceRef("wp01/1/reason.txt", SHA)

    short = StepOutcome.passed("fine")
    assert cap_outcome(short, write) is short
    assert written == []
    long = StepOutcome.stopped(StopKind.FAILED, "cond", "z" * 100_000)
    out = cap_outcome(long, write)
    assert written == ["z" * 100_000]
    assert len(out.reason) <= REASON_LIMIT
    assert out.reason.endswith("more characters (full text: wp01/1/reason.txt)")
    assert out.evidence == (EvidenceRef("wp01/1/reason.txt", SHA),)
    assert (out.status, out.stop_kind, out.stop_condition) == (long.status, long.stop_kind, long.stop_condition)


def test_cap_outcome_still_caps_when_the_full_text_cannot_be_kept() -> None:
    """The writer failing is said in the reason; the reason is still bounded."""

    def write(text: str) -> EvidenceRef:
        raise EvidenceError("disk full", path="wp01/1/reason.txt")

    out = cap_outcome(StepOutcome.error("e" * 50_000), write)
    assert len(out.reason) <= REASON_LIMIT
    assert "(full text: not kept: disk full" in out.reason
    assert out.evidence == ()


def test_gate_caps_a_step_s_reason_in_journal_and_report(tmp_path: Path) -> None:
    """A 1.5 MB reason: the journal and report carry a capped one; the full text is evidence in the manifest."""
    huge = "src/pkg/mod.py:handler, " * 62_500  # 1.5 MB on one line

    def wp01(ctx: StepContext) -> StepOutcome:
        return StepOutcome.stopped(StopKind.FAILED, "fix not substantive", huge)

    gate = Gate(GateConfig(), evidence_root=tmp_path / "ev", steps={"WP01": wp01})
    report = gate.run(only="WP01")
    step = report.step("WP01")
    assert step is not None
    assert step.status is StepStatus.STOPPED
    assert len(step.reason) <= REASON_LIMIT
    assert step.reason.endswith("(full text: wp01/1/reason.txt)")
    assert (gate.run_dir / "wp01/1/reason.txt").read_text(encoding="utf-8") == huge
    assert "wp01/1/reason.txt" in [e.path for e in step.evidence]
    assert "wp01/1/reason.txt" in (gate.run_dir / "MANIFEST.sha256").read_text(encoding="utf-8")
    for name in ("journal.jsonl", "report.json", "report.md"):
        assert (gate.run_dir / name).stat().st_size < 64 * 1024, name
    events = [json.loads(line) for line in (gate.run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()]
    results = [e for e in events if e["event"] == "wp-result"]
    assert len(results[0]["result"]["reason"]) <= REASON_LIMIT
