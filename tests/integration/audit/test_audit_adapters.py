"""The git and proof adapters on real repositories and real subprocesses."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from phase4gate.adapters import git
from phase4gate.adapters.proof import (
    ProofSettings,
    build_env,
    classify_files,
    neutralised_addopts,
    parse_junit,
    run_proof,
)
from phase4gate.checks.fix_substance import FileChange, TestOutcome, classify_file
from phase4gate.errors import GitError, ProcessError
from phase4gate.sandbox.repos import commit_files
from tests.integration.audit.conftest import AuditWorld


def small_repo(path: Path) -> tuple[Path, dict[str, str]]:
    """A repository with a merge commit: main adds a.py, a branch adds b.py, then they merge."""
    path.mkdir()
    subprocess.run(("git", "-C", str(path), "init", "-q", "--initial-branch=main"), check=True, timeout=60)
    base = commit_files(path, {"a.py": "x = 1\n"}, "base", date="2026-05-01T00:00:00+00:00", parent=None)
    side = commit_files(path, {"b.py": "y = 1\n"}, "side", date="2026-05-02T00:00:00+00:00", parent=base)
    main = commit_files(path, {"a.py": "x = 2\n"}, "main", date="2026-05-03T00:00:00+00:00", parent=base)
    env = {"GIT_AUTHOR_DATE": "2026-05-04T00:00:00+00:00", "GIT_COMMITTER_DATE": "2026-05-04T00:00:00+00:00"}
    subprocess.run(
        (
            "git",
            "-C",
            str(path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t.invalid",
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "merge",
            side,
        ),
        check=True,
        timeout=60,
        env={**__import__("os").environ, **env},
    )
    merge = git.resolve(path, "HEAD")
    return path, {"base": base, "side": side, "main": main, "merge": merge}


def test_merge_commit_is_diffed_against_its_first_parent(tmp_path: Path) -> None:
    """A merge commit's changes are those against its first parent (what the branch brought)."""
    repo, c = small_repo(tmp_path / "r")
    info, parent, changes = git.read_changes(repo, c["merge"])
    assert info.parents == (c["main"], c["side"])
    assert parent == c["main"]
    assert [(ch.path, ch.before, ch.after) for ch in changes] == [("b.py", None, "y = 1\n")]
    _, parent, changes = git.read_changes(repo, c["merge"], parent=c["side"])
    assert parent == c["side"]
    assert [(ch.path, ch.before, ch.after) for ch in changes] == [("a.py", "x = 1\n", "x = 2\n")]


def test_root_commit_and_ancestry(tmp_path: Path) -> None:
    """A root commit has no parent: every file is added; ancestry is answered by git."""
    repo, c = small_repo(tmp_path / "r")
    _, parent, changes = git.read_changes(repo, c["base"])
    assert parent is None
    assert [(ch.path, ch.status) for ch in changes] == [("a.py", "added")]
    assert git.is_ancestor(repo, c["base"], c["merge"])
    assert not git.is_ancestor(repo, c["side"], c["main"])


def test_blobs_and_errors(tmp_path: Path) -> None:
    """Missing blobs are None; an unknown commit and a non-repository name the path."""
    repo, c = small_repo(tmp_path / "r")
    assert git.read_blobs(repo, [f"{c['base']}:a.py", f"{c['base']}:nope.py"]) == [b"x = 1\n", None]
    assert git.read_blobs(repo, []) == []
    with pytest.raises(GitError, match="no commit 'deadbeef'"):
        git.resolve(repo, "deadbeef")
    with pytest.raises(GitError, match="not a git repository"):
        git.resolve(tmp_path, "HEAD")
    with pytest.raises(GitError, match="newline"):
        git.read_blobs(repo, ["HEAD:a\nb"])
    assert git.read_sources(repo, c["merge"], ["a.py", "b.py", "c.py"]) == {"a.py": "x = 2\n", "b.py": "y = 1\n"}


def test_clone_from_url_and_fetch_again(tmp_path: Path) -> None:
    """A clone URL is cloned into the cache, then fetched on the next use; a bad URL names itself."""
    repo, c = small_repo(tmp_path / "r")
    url = repo.as_uri()
    clone = git.ensure_checkout(url, tmp_path / "cache")
    assert git.resolve(clone, c["merge"]) == c["merge"]
    assert git.ensure_checkout(url, tmp_path / "cache") == clone
    assert git.ensure_checkout(str(repo), tmp_path / "cache") == repo
    with pytest.raises(GitError, match="cannot clone"):
        git.ensure_checkout((tmp_path / "missing").as_uri(), tmp_path / "cache")


def test_rename_detected(audit_world: AuditWorld) -> None:
    """A moved file keeps its old path."""
    _, _, changes = git.read_changes(audit_world.cli.path, audit_world.cli.commits["rename"])
    moved = next(ch for ch in changes if ch.old_path)
    assert (moved.old_path, moved.path) == ("src/specify_cli/sync/queue.py", "src/specify_cli/sync/offline_queue.py")


def test_fixture_shas_are_deterministic(audit_world: AuditWorld, tmp_path: Path) -> None:
    """Fixed dates, identities and lock resolution: a second build has the same shas."""
    from phase4gate.sandbox.repos import build_e2e_fix_repo

    assert build_e2e_fix_repo(tmp_path / "again").commits == audit_world.e2e.commits


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pyproject.toml": '[tool.pytest.ini_options]\naddopts = ["-m", "not deployed_dev", "-q"]\n'}, "-q"),
        (
            {"pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-ra -k slow --strict-markers"\n'},
            "-ra --strict-markers",
        ),
        ({"pytest.ini": "[pytest]\naddopts = --deselect tests/x.py::t -x\n"}, "-x"),
        ({"setup.cfg": "[tool:pytest]\naddopts = -mdeployed --lf\n"}, ""),
        ({"tox.ini": "[pytest]\naddopts = -ra\n"}, None),
        ({}, None),
    ],
)
def test_neutralised_addopts(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    """Deselecting addopts are dropped (the rest kept); nothing to neutralise gives None."""
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert neutralised_addopts(tmp_path) == expected


JUNIT = textwrap.dedent(
    """\
    <?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
    <testcase classname="tests.test_q" name="test_ok" time="0.1"/>
    <testcase classname="tests.test_q" name="test_p[1]"/>
    <testcase classname="tests.test_q" name="test_p[2]"><failure message="assert 1 == 2">E   assert 1 == 2</failure></testcase>
    <testcase classname="tests.test_q.TestQ" name="test_m"><failure message="">E   specify_cli.errors.QueueFullError: full</failure></testcase>
    <testcase classname="tests.test_q" name="test_s"><skipped message="needs SaaS"/></testcase>
    <testcase classname="tests.test_q" name="test_e"><error message="failed on setup with &quot;KeyError: 'x'&quot;">E   KeyError: 'x'</error></testcase>
    <testcase classname="" name="tests.test_new"><error message="collection failure">E   ImportError: cannot import name 'flush' from 'q'</error></testcase>
    </testsuite></testsuites>
    """
)


def test_parse_junit() -> None:
    """Outcomes per node id: params fold (worst wins), classes parsed, collection errors attributed."""
    ids = [
        "tests/test_q.py::test_ok",
        "tests/test_q.py::test_p",
        "tests/test_q.py::TestQ::test_m",
        "tests/test_q.py::test_s",
        "tests/test_q.py::test_e",
        "tests/test_new.py::test_a",
        "tests/test_gone.py::test_b",
    ]
    got = parse_junit(JUNIT, ids)
    assert got["tests/test_q.py::test_ok"] == (TestOutcome.PASSED, None, None)
    assert got["tests/test_q.py::test_p"] == (TestOutcome.FAILED, "AssertionError", "AssertionError: assert 1 == 2")
    assert got["tests/test_q.py::TestQ::test_m"][:2] == (TestOutcome.FAILED, "QueueFullError")
    assert got["tests/test_q.py::test_s"] == (TestOutcome.SKIPPED, None, "needs SaaS")
    assert got["tests/test_q.py::test_e"][:2] == (TestOutcome.ERROR, "KeyError")
    assert got["tests/test_new.py::test_a"] == (
        TestOutcome.ERROR,
        "ImportError",
        "collection error: ImportError: cannot import name 'flush' from 'q'",
    )
    assert got["tests/test_gone.py::test_b"] == (TestOutcome.MISSING, None, None)


def test_classify_files_on_two_cores_matches_one(tmp_path: Path) -> None:
    """The parallel classification gives exactly the serial result, in order."""
    changes = [
        FileChange(f"src/m{i}.py", f"def f():\n    return {i}\n", f"def f():\n    return {i + (i % 2)}\n")
        for i in range(80)
    ]
    parallel = classify_files(changes, workers=2)
    assert parallel == [classify_file(c) for c in changes]
    assert [r.kind.value for r in parallel[:2]] == ["docs-only", "behavioural"]


def project(path: Path, *, test_body: str = "assert True") -> Path:
    """A tiny project without uv.lock (the pip path) and a test."""
    path.mkdir()
    subprocess.run(("git", "-C", str(path), "init", "-q", "--initial-branch=main"), check=True, timeout=60)
    files: dict[str, str | None] = {
        "pyproject.toml": '[project]\nname = "tiny"\nversion = "1"\n',
        "tiny.py": "VALUE = 1\n",
        "tests/test_tiny.py": f"import tiny\n\ndef test_value():\n    {test_body}\n",
    }
    commit_files(path, files, "tiny", date="2026-05-01T00:00:00+00:00", parent=None)
    return path


def test_install_command_failure_is_a_process_error(tmp_path: Path) -> None:
    """A configured install command that fails: ProcessError naming the command and the log."""
    repo = project(tmp_path / "p")
    settings = ProofSettings(cache_dir=tmp_path / "cache", install_command=("false",), timeout_seconds=60)
    with pytest.raises(ProcessError, match="`false` exited 1") as info:
        build_env(repo, settings, log_path=tmp_path / "build.log")
    assert info.value.hint is not None
    assert str(tmp_path / "build.log") in info.value.hint


def test_install_command_and_pytest_hang_guard(tmp_path: Path, audit_world: AuditWorld) -> None:
    """The configured install command builds the env (placeholders filled); a hung test run is ended and reported."""
    repo = project(tmp_path / "p", test_body="import time; time.sleep(600)")
    uv_pip = ("uv", "pip", "install", "--quiet", "--python", "{python}", "pytest")
    settings = ProofSettings(cache_dir=audit_world.cache / "envs", install_command=uv_pip, timeout_seconds=120)
    env = build_env(repo, settings, log_path=tmp_path / "build.log")
    assert env.how == "install-command"
    assert (env.python.parent / "pytest").exists()
    # The same key reuses the environment; only the (hung) test run meets the short timeout.
    settings = ProofSettings(cache_dir=audit_world.cache / "envs", install_command=uv_pip, timeout_seconds=5)
    sha = git.resolve(repo, "HEAD")
    with pytest.raises(ProcessError, match="did not finish within 5s"):
        run_proof(repo, sha, [], [], ["tests/test_tiny.py::test_value"], settings=settings, work_dir=tmp_path / "w")
    assert (
        subprocess.run(
            ("git", "-C", str(repo), "worktree", "list"), capture_output=True, text=True, check=True, timeout=60
        ).stdout.count("\n")
        == 1
    )


def test_pip_path_without_lock(tmp_path: Path, audit_world: AuditWorld) -> None:
    """No uv.lock: a uv venv and an editable install; the test runs from the worktree."""
    repo = project(tmp_path / "p", test_body="assert tiny.VALUE == 1")
    settings = ProofSettings(cache_dir=audit_world.cache / "envs", timeout_seconds=120)
    sha = git.resolve(repo, "HEAD")
    env = build_env(repo, settings, log_path=tmp_path / "b.log")
    assert env.how == "pip"
    # pytest is not a dependency of this project: the run cannot produce a report.
    with pytest.raises(ProcessError, match="without a JUnit report"):
        run_proof(repo, sha, [], [], ["tests/test_tiny.py::test_value"], settings=settings, work_dir=tmp_path / "w")
