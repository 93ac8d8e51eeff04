"""The benchmark entry point runs on a smaller synthetic commit (no timing assertions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase4gate import bench_audit
from phase4gate.adapters import git


def test_bench_audit_reports_three_measures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ours, the floor and git show are measured and printed as ratios; the commit has 100 changed lines a file."""
    result = bench_audit.main(tmp_path, repeat=1, files=70)
    assert set(result) == {"ours", "floor", "git_show"}
    assert all(v > 0 for v in result.values())
    out = capsys.readouterr().out
    assert "70 files / 7000 changed lines" in out
    assert "ours / floor    = " in out
    _, _, changes = git.read_changes(tmp_path / "bench-repo", "HEAD")
    assert len(changes) == 70
