"""Run files: both spellings, the plan's invariants, one clear message per problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from phase4gate.convert import read_json
from phase4gate.errors import ExitCode, InputError
from phase4gate.models import (
    CanaryRunResult,
    Outcome,
    RunFileSpelling,
    ScenarioResult,
    ScenarioStatus,
    parse_cli_version,
    parse_run_file,
    run_number_from_filename,
)


def harness(outcome: str = "pass", statuses: tuple[str, ...] = ("pass",) * 4) -> dict[str, Any]:
    return {
        "run_id": "01JX0000000000000000000000",
        "outcome": outcome,
        "cli_version": "Spec Kitty banner\nspec-kitty-cli version 3.2.0rc16",
        "events_package_version": "5.1.0",
        "evidence_path": "artifacts/sync_identity_boundary/01JX.json",
        "started_at": "2026-05-21T10:00:00+00:00",
        "finished_at": "2026-05-21T10:05:00+00:00",
        "saas_url": "https://saas.invalid",
        "target_environment": "dev",
        "skip_reason": None,
        "scenarios": [
            {
                "scenario_id": i,
                "name": f"scenario-{i}",
                "status": s,
                "started_at": "2026-05-21T10:00:00+00:00",
                "finished_at": "2026-05-21T10:01:00+00:00",
                "duration_seconds": 60.0,
                "failure_reason": None if s == "pass" else "Traceback: boom",
                "boundary_evidence": {"rows": [1, 2, 3]},
            }
            for i, s in enumerate(statuses, 1)
        ],
    }


def plan(outcome: str = "pass", statuses: tuple[str, ...] = ("pass",) * 4, run_number: int = 1) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "run_number": run_number,
        "timestamp": "2026-05-21T10:00:00+00:00",
        "cli_version": "3.2.0rc16",
        "scenarios": [
            {"id": i, "name": f"scenario-{i}", "status": s, "failure_mode": None, "evidence_files": []}
            for i, s in enumerate(statuses, 1)
        ],
    }


def test_both_spellings_read_into_the_same_model() -> None:
    """A plan-spelled and a harness-spelled passing run agree on every field the gate judges."""
    a = parse_run_file(harness(), source="runs/run-1.json", file_run_number=1)
    b = parse_run_file(plan(), source="runs/run-1.json", file_run_number=1)
    assert (a.spelling, b.spelling) == (RunFileSpelling.HARNESS, RunFileSpelling.PLAN)
    for run in (a, b):
        assert run.outcome is Outcome.PASS
        assert run.run_number == 1
        assert run.cli_version_number == "3.2.0rc16"
        assert [s.scenario_id for s in run.scenarios] == [1, 2, 3, 4]
        assert all(s.status is ScenarioStatus.PASS for s in run.scenarios)
    assert a.started_at == b.started_at


def test_harness_file_round_trips_unknown_fields_unchanged() -> None:
    """Unknown keys (and boundary_evidence) are kept and written back as they came."""
    data = harness()
    data["harness_build"] = {"sha": "abc"}
    run = parse_run_file(copy.deepcopy(data), source="latest.json")
    assert run.to_json_dict() == data


def test_plan_file_round_trips() -> None:
    """A plan-spelled file is written back in the plan's spelling."""
    data = plan(run_number=3)
    run = parse_run_file(copy.deepcopy(data), source="run-3.json", file_run_number=3)
    assert run.to_json_dict() == data


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d.update(outcome="passed"),
            "$.outcome: expected one of 'pass', 'fail', 'skipped', 'error', found 'passed'",
        ),
        (lambda d: d["scenarios"][2].update(status="fail"), "$.outcome: 'pass' but not every scenario passed (3=fail)"),
        (
            lambda d: d["scenarios"][1].update(status="skipped"),
            "$.outcome: 'pass' but not every scenario passed (2=skipped)",
        ),
        (lambda d: d["scenarios"].pop(), "$.scenarios: missing scenario(s) [4], expected exactly [1, 2, 3, 4]"),
        (lambda d: d["scenarios"][3].update(scenario_id=1), "$.scenarios: scenario 1 appears 2 times, expected once"),
        (
            lambda d: d["scenarios"][0].update(scenario_id="1"),
            "$.scenarios[0].scenario_id: expected an integer, found string '1'",
        ),
        (lambda d: d.update(started_at="yesterday"), "$.started_at: expected an ISO 8601 timestamp, got 'yesterday'"),
        (lambda d: d.update(scenarios={}), "$.scenarios: expected an array, found object"),
        (lambda d: d.pop("outcome"), "$: missing 'outcome'"),
        (lambda d: d["scenarios"][0].pop("status"), "$.scenarios[0]: missing 'status'"),
        (lambda d: d.update(run_number=2), "$.run_number: 2 disagrees with the file name (run-1.json)"),
        (lambda d: d.update(cli_version=16), "$.cli_version: expected a string or null, found number 16"),
        (
            lambda d: d["scenarios"][0].update(duration_seconds="long"),
            "$.scenarios[0].duration_seconds: expected a number",
        ),
    ],
)
def test_malformed_run_file_names_file_and_field(mutate: Any, expected: str) -> None:
    """Each malformation yields an InputError naming the file and the JSON path."""
    data = harness()
    mutate(data)
    with pytest.raises(InputError) as excinfo:
        parse_run_file(data, source="evidence/rc16-attempt1/runs/run-1.json", file_run_number=1)
    assert excinfo.value.exit_code is ExitCode.STOPPED
    assert any(line.startswith(expected) for line in excinfo.value.problems), excinfo.value.problems
    assert str(excinfo.value).startswith("evidence/rc16-attempt1/runs/run-1.json: ")


def test_every_problem_is_reported_at_once() -> None:
    """Several problems in one file come back together, not one per attempt."""
    data = harness()
    data["outcome"] = 7
    data["scenarios"][0]["status"] = "maybe"
    data["scenarios"][1]["scenario_id"] = None
    with pytest.raises(InputError) as excinfo:
        parse_run_file(data, source="run-1.json")
    assert len(excinfo.value.problems) == 3


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    """A file that is not JSON fails with its name, line and column."""
    path = tmp_path / "run-2.json"
    path.write_text('{"outcome": "pass",\n  "scenarios": [', encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        read_json(path)
    assert str(path) in str(excinfo.value)
    assert "line 2 column" in str(excinfo.value)


def test_skipped_outcome_is_never_a_pass() -> None:
    """A run skipped for want of the SaaS variable is not a pass, even with no failures."""
    data = harness(outcome="skipped", statuses=("skipped",) * 4)
    run = parse_run_file(data, source="run-1.json")
    assert run.outcome is Outcome.SKIPPED
    assert not run.passed
    assert len(run.failed_scenarios()) == 4


def test_fail_outcome_with_all_passing_scenarios_is_inconsistent() -> None:
    """outcome == pass iff all scenarios pass: the converse is enforced too."""
    with pytest.raises(InputError, match="every scenario passed, expected 'pass'"):
        parse_run_file(harness(outcome="fail"), source="run-1.json")


def test_invariants_hold_when_built_in_code() -> None:
    """Building an inconsistent run in code fails the same way as reading one."""
    scenarios = tuple(ScenarioResult(scenario_id=i, status="pass") for i in (1, 2, 3))
    with pytest.raises(ValueError, match=r"missing scenario\(s\) \[4\]"):
        CanaryRunResult(outcome="pass", scenarios=scenarios)
    ok = CanaryRunResult(outcome="pass", scenarios=(*scenarios, ScenarioResult(scenario_id=4, status="pass")))
    assert ok.passed


def test_expected_scenarios_are_configurable() -> None:
    """A suite with a different scenario set is checked against that set."""
    data = harness(statuses=("pass",) * 2)
    run = parse_run_file(data, source="run-1.json", expected_scenarios=(1, 2))
    assert run.passed
    with pytest.raises(InputError, match="missing scenario"):
        parse_run_file(data, source="run-1.json")


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("Spec Kitty\n  banner art\nspec-kitty-cli version 3.2.0rc16\n", "3.2.0rc16"),
        ("spec-kitty-cli version v3.2.0rc22", "3.2.0rc22"),
        ("3.2.0rc16", "3.2.0rc16"),
        ("no version here", None),
    ],
)
def test_parse_cli_version(text: str, version: str | None) -> None:
    """The version comes from the `spec-kitty-cli version X` line, after any banner."""
    assert parse_cli_version(text) == version


@pytest.mark.parametrize(
    ("name", "n"), [("run-1.json", 1), ("run-12.json", 12), ("run-0.json", None), ("latest.json", None)]
)
def test_run_number_from_filename(name: str, n: int | None) -> None:
    """The run number comes from run-N.json."""
    assert run_number_from_filename(name) == n


def test_file_round_trip_through_disk(tmp_path: Path) -> None:
    """A run file written and read back is equal."""
    data = harness()
    path = tmp_path / "run-1.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    run = parse_run_file(read_json(path), source=str(path), file_run_number=1)
    assert parse_run_file(run.to_json_dict(), source="again", file_run_number=1) == run
