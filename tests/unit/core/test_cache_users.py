"""A gate start never prunes worktrees under a cache another live process (a gate, an audit-fix) uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from phase4gate.adapters.guard import prune_worktrees
from phase4gate.config import AuditConfig, GateConfig
from tests.conftest import HANG_GUARD_SECONDS

_HOLD = """
import sys
from pathlib import Path
from phase4gate.adapters.guard import cache_user
with cache_user(Path(sys.argv[1])):
    print("registered", flush=True)
    sys.stdin.read()
"""


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=HANG_GUARD_SECONDS,
    )
    return done.stdout


def _repo_with_a_worktree_under(tmp_path: Path, cache: Path) -> tuple[Path, Path]:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "a.py").write_text("x = 1\n", encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    tree = cache / "audit-x" / "with-fix"
    _git(repo, "worktree", "add", "-q", "--detach", str(tree), "HEAD")
    return repo, tree


def test_a_live_audit_fix_keeps_its_worktrees(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    repo, tree = _repo_with_a_worktree_under(tmp_path, cache)
    config = GateConfig(audit=AuditConfig(checkouts={"o/r": str(repo)}))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(cache)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "registered"
        assert prune_worktrees(config, cache) == []
        assert str(tree) in _git(repo, "worktree", "list")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=HANG_GUARD_SECONDS)
        if holder.stdout is not None:
            holder.stdout.close()
    # Once it is gone, its registration is gone too, and a start prunes what is left.
    assert prune_worktrees(config, cache) == [tree]
    assert str(tree) not in _git(repo, "worktree", "list")
