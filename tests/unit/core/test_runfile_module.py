"""The run file apart from the gate's models (issue 21): ``phase4gate.runfile``, re-exported by ``models``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import phase4gate
from phase4gate import models, runfile
from phase4gate.errors import InputError

RUN_FILE_NAMES = (
    "DEFAULT_SCENARIO_IDS",
    "CanaryRunResult",
    "Outcome",
    "RunFileSpelling",
    "RunOutcome",
    "RunWindow",
    "ScenarioResult",
    "ScenarioStatus",
    "parse_cli_version",
    "parse_run_file",
    "run_number_from_filename",
)


@pytest.mark.parametrize("name", RUN_FILE_NAMES)
def test_models_re_exports_the_run_file(name: str) -> None:
    """``from phase4gate.models import X`` keeps working for every run-file name, and is the same object."""
    assert name in models.__all__
    assert getattr(models, name) is getattr(runfile, name)


def test_run_outcome_is_named_apart_from_step_outcome() -> None:
    """A run file's outcome is ``RunOutcome``; ``Outcome`` stays an alias, also on the package."""
    assert runfile.RunOutcome.__name__ == "RunOutcome"
    assert phase4gate.Outcome is runfile.RunOutcome is models.Outcome
    run = runfile.parse_run_file(
        {"outcome": "pass", "scenarios": [{"scenario_id": i, "status": "pass"} for i in (1, 2, 3, 4)]},
        source="run-1.json",
        file_run_number=1,
    )
    assert run.outcome is runfile.RunOutcome.PASS
    assert run.run_number == 1


def test_the_run_file_module_stands_alone() -> None:
    """``runfile`` imports nothing of the gate but its errors (the models import it, not the other way round)."""
    tree = ast.parse(Path(runfile.__file__).read_text(encoding="utf-8"))
    ours = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("phase4gate")
    }
    assert ours == {"phase4gate.errors"}


def test_models_hold_no_run_file_reader() -> None:
    """The hand-written reader (``parse_run_file`` and its helpers) is defined in ``runfile``, not ``models``."""
    assert models.parse_run_file.__module__ == "phase4gate.runfile"
    assert models.CanaryRunResult.__module__ == "phase4gate.runfile"
    assert models.RunWindow.__module__ == "phase4gate.runfile"
    assert not [n for n in vars(models) if n.startswith(("_parse_", "_opt_", "_check_window"))]


def test_the_reader_still_names_the_file_and_every_path() -> None:
    """Behaviour is unchanged: problems are collected and named by ``$.path``, prefixed with the file."""
    with pytest.raises(InputError) as excinfo:
        runfile.parse_run_file({"outcome": "PASS", "scenarios": {}}, source="runs/run-2.json")
    assert excinfo.value.problems == (
        "$.outcome: expected one of 'pass', 'fail', 'skipped', 'error', found 'PASS'",
        "$.scenarios: expected an array, found object",
    )
    assert str(excinfo.value).startswith("runs/run-2.json: $.outcome")
