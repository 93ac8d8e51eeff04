"""Issue 20, case 9: the audit's open holes, on fixture commits with real uv builds and pytest runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from phase4gate.adapters.proof import AuditResult, ProofSettings, audit_commit, project_install_mode, run_proof
from phase4gate.checks.fix_substance import Focus, TestJudgement, TestOutcome, Verdict
from phase4gate.errors import ExitCode, ProcessError
from phase4gate.sandbox.repos import commit_files, git
from tests.conftest import HANG_GUARD_SECONDS
from tests.integration.audit.conftest import FOCUS_1141, AuditWorld

Q = "src/specify_cli/sync/queue.py"


def audit(world: AuditWorld, name: str, tmp_path: Path, focus: Focus = FOCUS_1141) -> AuditResult:
    return audit_commit(
        world.cli.path, world.cli.commits[name], focus=focus, proof=world.proof(), work_dir=tmp_path / "work"
    )


def runs(result: AuditResult) -> list[tuple[str, TestOutcome, TestOutcome]]:
    assert result.proof is not None
    return [(t.id.rsplit("::", 1)[-1], t.with_fix, t.without_fix) for t in result.proof.tests]


def test_9a_a_non_focus_symbol_s_test_cannot_prove_the_focus(audit_world: AuditWorld, tmp_path: Path) -> None:
    """queue_event (focus) changes untested, peek (not focus, same file) changes with a test: #1141 is not proven."""
    result = audit(audit_world, "squash-focus-untested", tmp_path)
    assert result.classification.verdict is Verdict.SUBSTANTIVE  # behavioural in the focus: goes to the proof
    assert result.classification.restore_symbols == (f"{Q}:OfflineQueue.queue_event",)
    assert result.classification.outside_focus == (f"{Q}:OfflineQueue.peek",)
    assert result.verdict is Verdict.TEST_PASSES_WITHOUT_FIX
    assert runs(result) == [("test_peek_returns_the_oldest_pending_row", TestOutcome.PASSED, TestOutcome.PASSED)]


def test_9a_a_files_only_focus_still_reverts_the_whole_file(audit_world: AuditWorld, tmp_path: Path) -> None:
    """Without focus symbols the focus file is the focus: both changes are reverted and peek's test proves it."""
    result = audit(audit_world, "squash-focus-untested", tmp_path, Focus(files=(Q,)))
    assert result.verdict is Verdict.SUBSTANTIVE
    assert runs(result) == [("test_peek_returns_the_oldest_pending_row", TestOutcome.PASSED, TestOutcome.FAILED)]


def test_9a_moved_verdict_counter_created_outside_the_focus(audit_world: AuditWorld, tmp_path: Path) -> None:
    """Moved verdict: with #1141's focus symbols only queue_event's counting is reverted; the counter stays 0.

    ``__init__`` and ``stats`` (outside the focus) keep the new attribute and key, so the tests fail on their
    assertions, not on a missing name: the proof comes from queue_event's own change.  Judged as a whole
    commit (no focus) the same commit is still ``proof-only-missing-name``.
    """
    result = audit(audit_world, "missing-name-outside-focus", tmp_path)
    assert result.verdict is Verdict.SUBSTANTIVE
    assert result.proof is not None
    assert [(t.without_fix, t.failure_class) for t in result.proof.tests] == [
        (TestOutcome.FAILED, "AssertionError"),
        (TestOutcome.FAILED, "AssertionError"),
    ]
    whole = audit(audit_world, "missing-name-outside-focus", tmp_path / "whole", Focus())
    assert whole.verdict is Verdict.PROOF_ONLY_MISSING_NAME


def test_9a_a_name_missing_elsewhere_does_not_prove(audit_world: AuditWorld, tmp_path: Path) -> None:
    """queue_event (focus) creates the counter, stats (kept as at the fix) reads it: without the fix stats fails
    only because a name the fix added is missing there, and that does not count."""
    result = audit(audit_world, "missing-name", tmp_path)
    assert result.classification.restore_symbols == (f"{Q}:OfflineQueue.queue_event",)
    assert result.verdict is Verdict.PROOF_ONLY_MISSING_NAME
    assert result.proof is not None
    assert [(t.without_fix, t.failure_class) for t in result.proof.tests] == [
        (TestOutcome.FAILED, "AttributeError"),
        (TestOutcome.FAILED, "AttributeError"),
    ]
    assert "replaced_count" in result.reason


def test_9b_a_failure_that_reads_only_captured_logs_never_proves(audit_world: AuditWorld, tmp_path: Path) -> None:
    """The new log line reads a name only the fix binds, so it is dropped without the fix; its caplog test flips.

    The failing assertion reads only ``caplog.records``: that is not a proof.
    """
    result = audit(audit_world, "caplog-new-name", tmp_path)
    assert result.verdict is Verdict.PROOF_ONLY_LOGS
    assert result.proof is not None
    (test,) = result.proof.tests
    assert (test.with_fix, test.without_fix, test.failure_class) == (
        TestOutcome.PASSED,
        TestOutcome.FAILED,
        "AssertionError",
    )
    assert test.failure_locations == (("tests/sync/test_queue_position_log.py", 13),)
    assert result.judgement is not None
    assert [j for _, j in result.judgement.judgements] == [TestJudgement.LOG_ONLY]
    assert "tests/sync/test_queue_position_log.py:13" in result.reason
    assert result.to_json_dict()["tests"][0]["judgement"] == "log-only"  # type: ignore[index]


def test_9c_a_test_of_the_project_s_own_metadata_proves(audit_world: AuditWorld, tmp_path: Path) -> None:
    """`__version__` from importlib.metadata: each tree gets the project installed from itself, as CI does."""
    result = audit(audit_world, "version-from-metadata", tmp_path, Focus())
    assert result.verdict is Verdict.SUBSTANTIVE, result.reason
    assert runs(result) == [("test_version_is_the_installed_distribution_s", TestOutcome.PASSED, TestOutcome.FAILED)]
    assert result.proof is not None
    # The without-fix tree's own pyproject (3.2.0rc16, kept) against the reverted hard-coded 3.2.0rc15.
    assert "3.2.0rc15" in result.proof.without_log.read_text()
    assert result.proof.env.how == "uv-sync"


def test_9c_the_lock_says_editable(audit_world: AuditWorld) -> None:
    """The fixture's uv.lock records the project as ``editable = "."``."""
    assert project_install_mode(audit_world.cli.path) == "editable"


def test_9c_the_cached_environment_is_shared_by_processes_and_never_holds_the_project(
    audit_world: AuditWorld, tmp_path: Path
) -> None:
    """Two processes build one lock's environment at once: one builds, one reuses; the project is not in it."""
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from phase4gate.adapters.proof import ProofSettings, build_env
        env = build_env(Path(sys.argv[1]), ProofSettings(cache_dir=Path(sys.argv[2]), timeout_seconds=300),
                        log_path=Path(sys.argv[3]))
        print(json.dumps({"python": str(env.python), "reused": env.reused}))
        """
    )
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(audit_world.cli.path), str(cache), str(tmp_path / f"b{i}.log")],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    out = [json.loads(p.communicate(timeout=HANG_GUARD_SECONDS)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert out[0]["python"] == out[1]["python"]
    assert sorted(o["reused"] for o in out) == [False, True]
    probe = subprocess.run(
        [out[0]["python"], "-c", "import importlib.util as u; print(u.find_spec('specify_cli'))"],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=True,
    )
    assert probe.stdout.strip() == "None"


def test_9c_an_install_command_that_installs_the_project_is_repeated_in_each_tree(
    tmp_path: Path, audit_world: AuditWorld
) -> None:
    """audit.install_command installs the project editable: the shared env drops it, each tree installs itself."""
    repo = tmp_path / "tiny"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    files: dict[str, str | None] = {
        "pyproject.toml": '[project]\nname = "tiny"\nversion = "7"\n',
        "tiny.py": "VALUE = 1\n",
        "tests/test_tiny.py": (
            "from importlib.metadata import version\n\n\ndef test_version():\n    assert version('tiny') == '7'\n"
        ),
    }
    sha = commit_files(repo, files, "tiny", date="2026-05-01T00:00:00+00:00", parent=None)
    command = ("uv", "pip", "install", "--quiet", "--python", "{python}", "-e", ".", "pytest")
    settings = ProofSettings(
        cache_dir=audit_world.cache / "envs", install_command=command, timeout_seconds=HANG_GUARD_SECONDS
    )
    run = run_proof(repo, sha, [], [], ["tests/test_tiny.py::test_version"], settings=settings, work_dir=tmp_path / "w")
    assert run.env.project == "editable"
    assert [(t.with_fix, t.without_fix) for t in run.tests] == [(TestOutcome.PASSED, TestOutcome.PASSED)]
    shared = subprocess.run(
        [str(run.env.python), "-c", "import importlib.util as u; print(u.find_spec('tiny'))"],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=True,
        cwd=run.env.python.parent,
    )
    assert shared.stdout.strip() == "None"


def test_9a_focus_changes_that_cannot_be_kept_apart_cannot_decide(tmp_path: Path, audit_world: AuditWorld) -> None:
    """A module-level focus change beside an added non-focus function: no exact revert, so exit 3, not a guess."""
    repo = tmp_path / "m"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    base = commit_files(repo, {"src/m.py": "LIMIT = 1\n"}, "base", date="2026-05-01T00:00:00+00:00", parent=None)
    fix = commit_files(
        repo,
        {
            "src/m.py": "LIMIT = 2\n\n\ndef peek(rows):\n    return rows[0]\n",
            "tests/test_m.py": "import m\n\n\ndef test_limit():\n    assert m.LIMIT == 2\n",
        },
        "Raise the limit\n\nCloses #7",
        date="2026-05-02T00:00:00+00:00",
        parent=base,
    )
    focus = Focus(files=("src/m.py",), symbols=("helper",))
    with pytest.raises(ProcessError, match=r"src/m\.py: .*cannot be reverted apart from its other changes \(peek\)"):
        audit_commit(repo, fix, focus=focus, proof=audit_world.proof(), work_dir=tmp_path / "w")
    assert ProcessError.exit_code == ExitCode.INFRA
