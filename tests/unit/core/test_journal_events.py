"""Journal lines are parsed once into typed events; nothing tests a raw line as text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phase4gate.config import GateConfig
from phase4gate.errors import InputError
from phase4gate.gate import Gate, StepContext
from phase4gate.journal import line_digest, parse_event, parse_events, result_head
from phase4gate.models import StepOutcome, StopKind
from tests.gate_helpers import Recorder


def line(**event: object) -> str:
    return json.dumps(event, sort_keys=True)


def test_each_line_becomes_one_typed_event() -> None:
    lines = [line(event="gate-start", run_id="r"), line(event="wp-start", wp="WP02", attempt=1), line(wp=3)]
    events = parse_events(lines)
    assert [(e.n, e.kind, e.wp) for e in events] == [(1, "gate-start", None), (2, "wp-start", "WP02"), (3, "", None)]
    assert events[1].data["attempt"] == 1
    assert events[1].line == lines[1]


@pytest.mark.parametrize(
    ("bad", "problem"),
    [('{"event": "wp-start"', "line 2: not JSON"), ("[1, 2]", "line 2: not a journal event (a JSON object)")],
)
def test_a_line_that_is_not_an_event_is_named(bad: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem.replace("(", r"\(").replace(")", r"\)")) as caught:
        parse_events([line(event="gate-start"), bad], source="run/journal.jsonl")
    assert str(caught.value).startswith("run/journal.jsonl: line 2")
    assert parse_event(bad, 2) is None


def test_result_head_is_the_last_result_of_that_wp_not_a_line_mentioning_it() -> None:
    """A fact whose text is 'wp-result' is no result; a torn or hand-written line is skipped."""
    first = line(event="wp-result", wp="WP06", result={"facts": {}})
    decoy = line(event="wp-action", wp="WP06", action='"wp-result"', note="wp-result")
    lines = [line(event="gate-start"), first, decoy, "not json", line(event="wp-result", wp="WP08")]
    assert result_head(lines, "WP06") == line_digest(first)
    assert result_head(lines, "WP07") is None


def test_attempt_folders_count_starts_not_lines_that_mention_a_start(evidence_root: Path) -> None:
    """WP02 recorded a fact whose text is "wp-start": its second execution is still wp02/2 (not wp02/3)."""
    steps = Recorder({}).steps()

    def wp02(ctx: StepContext) -> StepOutcome:
        ref = ctx.store.write_text(ctx.evidence_path("evidence.txt"), "WP02\n")
        return StepOutcome.stopped(
            StopKind.WAITING, "no RC", "waiting", facts={"last_event": "wp-start"}, evidence=(ref,)
        )

    steps["WP02"] = wp02
    first = Gate(GateConfig(), evidence_root=evidence_root, steps=steps)
    first.run(until="WP02")
    again = Gate(GateConfig(), evidence_root=evidence_root, steps=steps, resume=first.run_id)
    again.run(until="WP02")
    assert sorted(p.name for p in (first.run_dir / "wp02").iterdir()) == ["1", "2"]
    starts = [e for e in parse_events(again.store.read_journal()) if e.kind == "wp-start" and e.wp == "WP02"]
    assert [e.data["attempt"] for e in starts] == [1, 2]
