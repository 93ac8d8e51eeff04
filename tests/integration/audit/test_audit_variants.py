"""Every audit variant on the real fixture repository, with real pytest runs for the proof."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase4gate.adapters.proof import AuditResult, audit_commit
from phase4gate.checks.fix_substance import FileKind, Focus, TestOutcome, Verdict
from phase4gate.sandbox.repos import scenario_fixes
from tests.integration.audit.conftest import FOCUS_1141, AuditWorld


def audit(
    world: AuditWorld, name: str, tmp_path: Path, focus: Focus = FOCUS_1141, *, proof: bool = True
) -> AuditResult:
    return audit_commit(
        world.cli.path,
        world.cli.commits[name],
        focus=focus,
        proof=world.proof() if proof else None,
        work_dir=tmp_path / "work",
    )


def outcomes(result: AuditResult) -> list[tuple[str, str, str, str | None]]:
    assert result.proof is not None
    return [
        (t.id.rsplit("::", 1)[-1], t.with_fix.value, t.without_fix.value, t.failure_class) for t in result.proof.tests
    ]


def test_substantive_fix_is_proven_by_a_failing_test(audit_world: AuditWorld, tmp_path: Path) -> None:
    """The silent-replacement fix with a rollback test: passes with the fix, fails without on the assertion."""
    result = audit(audit_world, "substantive", tmp_path)
    assert result.verdict is Verdict.SUBSTANTIVE
    assert outcomes(result) == [("test_rollback_is_queued_not_replaced", "passed", "failed", "AssertionError")]
    assert result.proof is not None
    assert "peeked row is not the rollback we triggered" in result.proof.without_log.read_text()
    assert "1 passed" in result.proof.with_log.read_text()
    changed = [(s.path, s.qualname) for s in result.classification.changed_symbols if s.behavioural]
    assert changed == [("src/specify_cli/sync/queue.py", "OfflineQueue.queue_event")]
    assert result.classification.closes == (1141,)


def test_proof_environment_is_reused_by_lock_hash(audit_world: AuditWorld, tmp_path: Path) -> None:
    """A second audit on the same lock reuses the cached environment."""
    audit(audit_world, "substantive", tmp_path / "a")
    again = audit(audit_world, "logging-and-behaviour", tmp_path / "b")
    assert again.proof is not None
    assert again.proof.env.reused
    assert again.proof.env.how == "uv-sync"


def test_logging_only_fix_with_new_logger_and_caplog_test(audit_world: AuditWorld, tmp_path: Path) -> None:
    """A new logger, a debug line and a breadcrumb, with caplog tests of the new lines: logging-only."""
    result = audit(audit_world, "logging-only", tmp_path)
    assert result.verdict is Verdict.LOGGING_ONLY
    kinds = {f.path: f.kind for f in result.classification.files}
    assert kinds["src/specify_cli/sync/queue.py"] is FileKind.LOGGING_ONLY
    assert kinds["src/specify_cli/status/adapters.py"] is FileKind.LOGGING_ONLY
    assert result.proof is None


def test_two_blocker_squash_is_logging_only_for_1141(audit_world: AuditWorld, tmp_path: Path) -> None:
    """The real squash: #1141 with the plan's focus comes out logging-only; the other fix is outside the focus."""
    result = audit(audit_world, "two-blocker-squash", tmp_path)
    assert result.verdict is Verdict.LOGGING_ONLY
    assert result.classification.outside_focus == ("src/specify_cli/sync/errors.py",)
    assert result.classification.closes == (1142, 1141)


def test_two_blocker_squash_is_substantive_for_the_other_blocker(audit_world: AuditWorld, tmp_path: Path) -> None:
    """The same commit is behavioural and proven for the blocker whose predicate it changed."""
    result = audit(audit_world, "two-blocker-squash", tmp_path, Focus(files=("src/specify_cli/sync/errors.py",)))
    assert result.verdict is Verdict.SUBSTANTIVE
    by_name = {o[0]: o for o in outcomes(result)}
    assert by_name["test_forbidden_key_with_detail_is_forbidden"][1:] == ("passed", "failed", "AssertionError")
    # The 300-line-style regression test passes both ways; the caplog test never flips (logging stays at the fix).
    assert by_name["test_fanout_skips_a_non_move"][1:3] == ("passed", "passed")
    assert by_name["test_fanout_logs_a_breadcrumb"][1:3] == ("passed", "passed")


def test_two_blocker_squash_without_focus_covers_the_whole_commit(audit_world: AuditWorld, tmp_path: Path) -> None:
    """Judged as a whole the squash passes, and the report says the verdict covers the whole commit."""
    result = audit(audit_world, "two-blocker-squash", tmp_path, Focus())
    assert result.verdict is Verdict.SUBSTANTIVE
    assert result.classification.notes == ("the message closes #1142, #1141: this verdict covers the whole commit",)


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("no-test", Verdict.NO_TEST),
        ("test-not-referencing", Verdict.TEST_NOT_REFERENCING),
        ("syntax-error", Verdict.UNPARSEABLE),
        ("docs-only", Verdict.DOCS_ONLY),
        ("focus-untouched", Verdict.FOCUS_UNTOUCHED),
        ("logging-side-effect", Verdict.NO_TEST),
    ],
)
def test_verdicts_decided_before_the_proof(
    audit_world: AuditWorld, tmp_path: Path, name: str, verdict: Verdict
) -> None:
    """Verdicts that need no test run."""
    result = audit(audit_world, name, tmp_path)
    assert result.verdict is verdict
    assert result.proof is None


def test_logging_call_with_side_effect_stays_behavioural(audit_world: AuditWorld, tmp_path: Path) -> None:
    """``logger.info(..., self._rows.pop(i))`` changes state: the file is behavioural, not logging-only."""
    result = audit(audit_world, "logging-side-effect", tmp_path, proof=False)
    queue = next(f for f in result.classification.files if f.path.endswith("queue.py"))
    assert queue.kind is FileKind.BEHAVIOURAL
    assert [s.qualname for s in queue.symbols if s.behavioural] == ["OfflineQueue.queue_event"]


def test_unparseable_names_file_and_line(audit_world: AuditWorld, tmp_path: Path) -> None:
    """A syntax error stops the audit with the file and line: an unreadable diff never passes."""
    result = audit(audit_world, "syntax-error", tmp_path)
    assert result.reason.startswith("src/specify_cli/sync/queue.py: does not parse after the fix line 12")


def test_test_passing_without_the_fix_does_not_prove(audit_world: AuditWorld, tmp_path: Path) -> None:
    """A test that passes with and without the fix proves nothing."""
    result = audit(audit_world, "test-passes-without-fix", tmp_path)
    assert result.verdict is Verdict.TEST_PASSES_WITHOUT_FIX
    assert outcomes(result) == [("test_queue_event_accepts_two_aggregates", "passed", "passed", None)]


def test_test_failing_with_the_fix(audit_world: AuditWorld, tmp_path: Path) -> None:
    """A new test that fails with the fix is its own verdict."""
    result = audit(audit_world, "test-fails-with-fix", tmp_path)
    assert result.verdict is Verdict.TEST_FAILS_WITH_FIX
    assert result.proof is not None
    assert result.proof.tests[0].with_fix is TestOutcome.FAILED


def test_failures_only_on_names_the_fix_added(audit_world: AuditWorld, tmp_path: Path) -> None:
    """AttributeError on a new attribute and KeyError on a new report key prove the API grew, not behaviour.

    Judged as a whole commit, so ``stats`` goes back too and fails on its new key; with #1141's focus symbols
    ``stats`` stays as at the fix and fails on the missing attribute instead (see test_audit_holes).
    """
    result = audit(audit_world, "missing-name", tmp_path, Focus())
    assert result.verdict is Verdict.PROOF_ONLY_MISSING_NAME
    assert outcomes(result) == [
        ("test_replacement_is_counted", "passed", "failed", "AttributeError"),
        ("test_stats_report_replacements", "passed", "failed", "KeyError"),
    ]
    assert "replaced_count" in result.reason
    assert "KeyError: replaced" in result.reason


def test_logging_and_behaviour_is_substantive(audit_world: AuditWorld, tmp_path: Path) -> None:
    """Logging added alongside a real fix does not hide the fix."""
    result = audit(audit_world, "logging-and-behaviour", tmp_path)
    assert result.verdict is Verdict.SUBSTANTIVE
    queue = next(s for s in result.classification.changed_symbols if s.qualname == "OfflineQueue.queue_event")
    assert queue.behavioural
    assert queue.in_focus


def test_rename_keeps_the_focus_and_proves(audit_world: AuditWorld, tmp_path: Path) -> None:
    """The queue moved to offline_queue.py with the fix: focus follows the old path; the proof restores both."""
    result = audit(audit_world, "rename", tmp_path)
    assert result.verdict is Verdict.SUBSTANTIVE
    moved = next(f for f in result.classification.files if f.path == "src/specify_cli/sync/offline_queue.py")
    assert moved.old_path == "src/specify_cli/sync/queue.py"
    assert moved.status == "renamed"
    assert moved.in_focus
    by_name = {o[0]: o for o in outcomes(result)}
    assert by_name["test_rollback_is_queued_not_replaced"][1:] == ("passed", "failed", "AssertionError")


def test_sibling_repository_fix(audit_world: AuditWorld, tmp_path: Path) -> None:
    """#1141's second closing, in the e2e repository: the CLI focus does not apply there; the harness fix proves."""
    result = audit_commit(
        audit_world.e2e.path,
        audit_world.e2e.commits["harness-fix"],
        focus=FOCUS_1141,
        proof=audit_world.proof(),
        work_dir=tmp_path / "work",
    )
    assert result.verdict is Verdict.SUBSTANTIVE
    assert result.classification.notes == (
        "the configured focus does not exist in this repository; the whole commit is judged",
    )
    assert outcomes(result) == [("test_sync_now_names_the_mission", "passed", "failed", "AssertionError")]


def test_json_shape(audit_world: AuditWorld, tmp_path: Path) -> None:
    """The --json object: verdict, files with path/kind/in_focus, changed symbols, closes, tests."""
    data = audit(audit_world, "substantive", tmp_path).to_json_dict()
    assert data["verdict"] == "substantive"
    assert data["closes"] == [1141]
    files = {f["path"]: (f["kind"], f["in_focus"]) for f in data["files"]}  # type: ignore[attr-defined]
    assert files == {
        "src/specify_cli/sync/queue.py": ("behavioural", True),
        "tests/sync/test_queue_rollback.py": ("test", False),
    }
    assert data["tests"] == [
        {
            "id": "tests/sync/test_queue_rollback.py::test_rollback_is_queued_not_replaced",
            "with_fix": "passed",
            "without_fix": "failed",
            "failure_class": "AssertionError",
            "failure_message": data["tests"][0]["failure_message"],  # type: ignore[index]
            "judgement": "proves",
        }
    ]


@pytest.mark.parametrize(
    ("scenario", "verdicts"),
    [
        ("green", {1141: Verdict.SUBSTANTIVE, 1182: Verdict.SUBSTANTIVE}),
        ("logging-only-fix", {1141: Verdict.LOGGING_ONLY, 1182: Verdict.SUBSTANTIVE}),
        ("two-blocker-squash", {1141: Verdict.LOGGING_ONLY, 1182: Verdict.SUBSTANTIVE}),
        ("test-not-proving", {1141: Verdict.TEST_PASSES_WITHOUT_FIX, 1182: Verdict.SUBSTANTIVE}),
        ("missing-name-proof", {1141: Verdict.SUBSTANTIVE, 1182: Verdict.PROOF_ONLY_MISSING_NAME}),
        ("saas-not-ready", {1141: Verdict.SUBSTANTIVE, 1182: Verdict.SUBSTANTIVE}),
    ],
)
def test_scenario_fixes(audit_world: AuditWorld, tmp_path: Path, scenario: str, verdicts: dict[int, Verdict]) -> None:
    """Each demo scenario's blocker fixes audit to the verdict the scenario is about (#1182 has no focus)."""
    fixes = scenario_fixes(audit_world.cli, scenario)
    got = {
        n: audit_commit(
            audit_world.cli.path,
            sha,
            focus=FOCUS_1141 if n == 1141 else Focus(),
            proof=audit_world.proof(),
            work_dir=tmp_path / str(n),
        ).verdict
        for n, sha in fixes.items()
    }
    assert got == verdicts


def test_caplog_test_of_a_logging_only_function_does_not_prove(audit_world: AuditWorld, tmp_path: Path) -> None:
    """Without the fix only queue_event goes back to the parent; peek()'s new log line stays, so its test never flips."""
    result = audit(audit_world, "caplog-only-proof", tmp_path)
    assert result.verdict is Verdict.TEST_PASSES_WITHOUT_FIX
    assert outcomes(result) == [("test_queue_event_then_peek_logs", "passed", "passed", None)]
