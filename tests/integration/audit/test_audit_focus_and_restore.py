"""Reviewer findings H4/H5 on the real fixture repository, with real pytest runs for the proof."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phase4gate.adapters.proof import AuditResult, audit_commit
from phase4gate.checks.fix_substance import Focus, TestOutcome, Verdict
from phase4gate.cli import main
from phase4gate.errors import ExitCode
from tests.integration.audit.conftest import FOCUS_1141, AuditWorld

Q = "src/specify_cli/sync/queue.py"


def audit(world: AuditWorld, name: str, tmp_path: Path, focus: Focus = FOCUS_1141) -> AuditResult:
    return audit_commit(
        world.cli.path, world.cli.commits[name], focus=focus, proof=world.proof(), work_dir=tmp_path / "work"
    )


def test_caplog_test_of_a_log_line_in_a_behavioural_function_does_not_prove(
    audit_world: AuditWorld, tmp_path: Path
) -> None:
    """H4: queue_event stops de-duplicating and logs; the only test asserts the log text -> passes without the fix."""
    result = audit(audit_world, "caplog-in-behaviour", tmp_path)
    assert result.classification.verdict is Verdict.SUBSTANTIVE  # behavioural in the focus, so it goes to the proof
    assert result.verdict is Verdict.TEST_PASSES_WITHOUT_FIX
    assert result.proof is not None
    assert [(t.id, t.with_fix, t.without_fix) for t in result.proof.tests] == [
        (
            "tests/sync/test_queue_breadcrumb.py::test_queue_event_logs_breadcrumb",
            TestOutcome.PASSED,
            TestOutcome.PASSED,
        )
    ]


def test_behaviour_test_still_proves_a_fix_that_also_logs(audit_world: AuditWorld, tmp_path: Path) -> None:
    """The kept log line does not hide the behaviour: the rollback test still fails without the fix."""
    result = audit(audit_world, "logging-and-behaviour", tmp_path)
    assert result.verdict is Verdict.SUBSTANTIVE
    assert result.proof is not None
    assert [(t.without_fix, t.failure_class) for t in result.proof.tests] == [(TestOutcome.FAILED, "AssertionError")]


def test_squash_other_symbol_in_focus_file_is_logging_only_for_1141(audit_world: AuditWorld, tmp_path: Path) -> None:
    """H5: #1142's peek() change in focus file sync/queue.py is outside #1141's focus; queue_event only logs."""
    result = audit(audit_world, "squash-other-symbol", tmp_path)
    assert result.verdict is Verdict.LOGGING_ONLY
    assert result.proof is None
    assert result.classification.outside_focus == (f"{Q}:OfflineQueue.peek",)
    assert result.classification.closes == (1142, 1141)
    focus = {s.qualname: s.in_focus for s in result.classification.changed_symbols if s.behavioural}
    assert focus == {"OfflineQueue.peek": False}


def test_squash_other_symbol_with_a_files_only_focus_judges_the_whole_file(
    audit_world: AuditWorld, tmp_path: Path
) -> None:
    """Without focus symbols the focus file counts whole, as before: the peek test proves it (for #1142)."""
    result = audit(audit_world, "squash-other-symbol", tmp_path, Focus(files=(Q,)))
    assert result.verdict is Verdict.SUBSTANTIVE
    assert result.proof is not None
    assert [(t.without_fix, t.failure_class) for t in result.proof.tests] == [(TestOutcome.FAILED, "AssertionError")]


def test_cli_json_for_both_variants(
    audit_world: AuditWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`audit-fix --json` with #1141's focus: both variants exit 1 with their verdicts."""
    focus = ["--focus", Q, "--focus", "src/specify_cli/status/adapters.py"]
    for s in FOCUS_1141.symbols:
        focus += ["--focus-symbol", s]
    verdicts = {}
    for name in ("squash-other-symbol", "caplog-in-behaviour"):
        argv = ["audit-fix", "--repo", str(audit_world.cli.path), audit_world.cli.commits[name], *focus, "--json"]
        code = main([*argv, "--cache-dir", str(audit_world.cache), "--logs", str(tmp_path / name)])
        data = json.loads(capsys.readouterr().out)
        assert code == ExitCode.STOPPED
        verdicts[name] = (data["verdict"], data["outside_focus"])
    assert verdicts == {
        "squash-other-symbol": ("logging-only", [f"{Q}:OfflineQueue.peek"]),
        "caplog-in-behaviour": ("test-passes-without-fix", []),
    }
