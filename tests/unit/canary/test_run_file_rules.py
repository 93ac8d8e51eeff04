"""Run-file rules on data alone: exact spellings, finite durations, time stamps inside the run's own window."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from phase4gate.errors import InputError
from phase4gate.models import RunWindow, parse_run_file

START = dt.datetime(2026, 5, 21, 10, 0, 0, tzinfo=dt.UTC)
WINDOW = RunWindow(START, START + dt.timedelta(minutes=5), tolerance_seconds=2.0, label="run 3")


def run_file(**top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "run_id": "01JX0000000000000000000000",
        "outcome": "pass",
        "cli_version": "spec-kitty-cli version 3.2.0rc16",
        "started_at": (START + dt.timedelta(seconds=1)).isoformat(),
        "finished_at": (START + dt.timedelta(minutes=4)).isoformat(),
        "scenarios": [
            {
                "scenario_id": i,
                "name": f"scenario-{i}",
                "status": "pass",
                "started_at": (START + dt.timedelta(seconds=i)).isoformat(),
                "finished_at": (START + dt.timedelta(seconds=30 * i)).isoformat(),
                "duration_seconds": 12.5,
            }
            for i in range(1, 5)
        ],
    }
    doc.update(top)
    return doc


def problems(data: object, *, window: RunWindow | None = None) -> tuple[str, ...]:
    with pytest.raises(InputError) as excinfo:
        parse_run_file(data, source="rc16-attempt1/runs/run-3.json", window=window)
    assert str(excinfo.value).startswith("rc16-attempt1/runs/run-3.json: $")
    return excinfo.value.problems


def test_a_run_inside_its_window_parses() -> None:
    """Every time stamp inside the window, durations sane: the model, with the window applied."""
    run = parse_run_file(run_file(), source="run-3.json", window=WINDOW)
    assert run.passed


@pytest.mark.parametrize("spelling", ["PASS", "Pass", " pass", "passed"])
def test_outcome_must_be_spelled_as_the_harness_writes_it(spelling: str) -> None:
    """'PASS' is not 'pass': the outcome is read exactly, never case-folded."""
    (line,) = problems(run_file(outcome=spelling))
    assert line == f"$.outcome: expected one of 'pass', 'fail', 'skipped', 'error', found {spelling!r}"


def test_scenario_status_must_be_spelled_as_the_harness_writes_it() -> None:
    """A scenario 'FAIL' is refused with its path."""
    data = run_file(outcome="fail")
    data["scenarios"][2]["status"] = "FAIL"
    (line,) = problems(data)
    assert line.startswith("$.scenarios[2].status: expected one of 'pass', 'fail', 'skipped', 'error', found 'FAIL'")


@pytest.mark.parametrize(
    ("text", "shown"), [("NaN", "nan"), ("Infinity", "inf"), ("-Infinity", "-inf"), ("-0.5", "-0.5")]
)
def test_durations_are_finite_and_non_negative(text: str, shown: str) -> None:
    """NaN, infinities and negative durations (as json.loads reads them) are refused with their path."""
    raw = json.dumps(run_file()).replace('"duration_seconds": 12.5', f'"duration_seconds": {text}', 1)
    (line,) = problems(json.loads(raw))
    assert line == f"$.scenarios[0].duration_seconds: expected a finite, non-negative number, found {shown}"


def test_zero_duration_is_fine() -> None:
    """A scenario that took no measurable time is not a problem."""
    data = run_file()
    data["scenarios"][0]["duration_seconds"] = 0
    assert parse_run_file(data, source="run-3.json").scenarios[0].duration_seconds == 0.0


def test_finished_in_the_year_2000_is_outside_the_window() -> None:
    """A finished_at in 2000 parses, but it is not this run's: refused, naming $.finished_at and the window."""
    lines = problems(run_file(finished_at="2000-01-01T00:00:00+00:00"), window=WINDOW)
    assert lines[0] == (
        "$.finished_at: 2000-01-01T00:00:00+00:00 is before run 3 was started (started 2026-05-21T10:00:00+00:00, "
        "ended 2026-05-21T10:05:00+00:00, tolerance 2s)"
    )


def test_the_tolerance_is_small_and_both_ends_count() -> None:
    """Two seconds either side are tolerated; three are not."""
    inside = run_file(started_at=(START - dt.timedelta(seconds=2)).isoformat())
    assert parse_run_file(inside, source="run-3.json", window=WINDOW).passed
    late = (WINDOW.ended_at + dt.timedelta(seconds=3)).isoformat()
    (line,) = problems(run_file(finished_at=late), window=WINDOW)
    assert line.startswith(f"$.finished_at: {late} is after run 3 ended")


def test_scenario_time_stamps_are_checked_too() -> None:
    """A scenario from another run inside a fresh-looking file is named by its own path."""
    data = run_file()
    data["scenarios"][3]["started_at"] = "2026-05-20T10:00:00+00:00"
    (line,) = problems(data, window=WINDOW)
    assert line.startswith("$.scenarios[3].started_at: 2026-05-20T10:00:00+00:00 is before run 3 was started")


def test_naive_time_stamps_cannot_be_placed() -> None:
    """A time stamp without a time zone cannot be compared with the run's window."""
    (line,) = problems(run_file(started_at="2026-05-21T10:00:01"), window=WINDOW)
    assert line == "$.started_at: 2026-05-21T10:00:01 has no time zone; it cannot be placed in run 3's window"


def test_a_run_file_without_its_start_cannot_be_tied_to_the_run() -> None:
    """With a window, the run's own start time is required."""
    data = run_file()
    del data["started_at"]
    (line,) = problems(data, window=WINDOW)
    assert line == "$.started_at: missing; a run file without its start time cannot be tied to run 3"


def test_finished_before_started_is_refused() -> None:
    """Inside the window but backwards: a scenario that finished before it started."""
    data = run_file()
    data["scenarios"][1]["finished_at"] = START.isoformat()
    (line,) = problems(data, window=WINDOW)
    assert line.startswith("$.scenarios[1].finished_at: 2026-05-21T10:00:00+00:00 is before its start")


def test_the_window_is_optional_for_files_read_back_later() -> None:
    """Without a window (WP06 re-reading kept files), old time stamps are still fine."""
    assert parse_run_file(run_file(finished_at="2000-01-01T00:00:00+00:00"), source="run-3.json").passed
