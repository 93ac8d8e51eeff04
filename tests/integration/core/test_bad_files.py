"""Issue 20 case 5: bad files in a run folder give a clear error naming the file and line, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from phase4gate.config import GateConfig
from phase4gate.gate import Gate
from tests.gate_helpers import Recorder, phase4gate


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    gate = Gate(GateConfig(), evidence_root=tmp_path / "evidence", steps=Recorder({"WP05": "failed"}).steps())
    gate.run()
    return gate.run_dir


def spoil_line(path: Path, line_no: int) -> None:
    """Put a byte that is not UTF-8 into line *line_no* (1-based)."""
    os.chmod(path, 0o644)
    lines = path.read_bytes().split(b"\n")
    lines[line_no - 1] = lines[line_no - 1][:5] + b"\xff\xfe" + lines[line_no - 1][5:]
    path.write_bytes(b"\n".join(lines))


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode != 70


def test_non_utf8_journal_in_verify(run_dir: Path) -> None:
    """verify: exit 1, the journal and line named."""
    spoil_line(run_dir / "journal.jsonl", 3)
    result = phase4gate("verify", str(run_dir), cwd=run_dir.parent)
    no_traceback(result)
    assert result.returncode == 1
    assert f"{run_dir / 'journal.jsonl'}: line 3: not UTF-8 (byte 6 of the line)" in result.stdout


def test_non_utf8_journal_in_status(run_dir: Path) -> None:
    """status: exit 1, the journal and line named on stderr."""
    spoil_line(run_dir / "journal.jsonl", 3)
    result = phase4gate("status", str(run_dir), cwd=run_dir.parent)
    no_traceback(result)
    assert result.returncode == 1
    assert "journal.jsonl: line 3: not UTF-8" in result.stderr


def test_non_utf8_journal_in_render_comment(run_dir: Path) -> None:
    """render-comment: exit 1, the journal and line named on stderr."""
    spoil_line(run_dir / "journal.jsonl", 2)
    result = phase4gate("render-comment", "e2e-41", str(run_dir), cwd=run_dir.parent)
    no_traceback(result)
    assert result.returncode == 1
    assert "journal.jsonl: line 2: not UTF-8" in result.stderr


def test_non_utf8_manifest_in_verify(run_dir: Path) -> None:
    """verify: exit 1 naming the manifest line."""
    spoil_line(run_dir / "MANIFEST.sha256", 2)
    result = phase4gate("verify", str(run_dir), cwd=run_dir.parent)
    no_traceback(result)
    assert result.returncode == 1
    assert "MANIFEST.sha256: line 2: not UTF-8" in result.stdout


def test_non_utf8_report_json_in_verify(run_dir: Path) -> None:
    """verify: exit 1 naming report.json and the byte."""
    (run_dir / "report.json").write_bytes(b'{"run_id": "\xff"}\n')
    result = phase4gate("verify", str(run_dir), cwd=run_dir.parent)
    no_traceback(result)
    assert result.returncode == 1
    assert "report.json: not UTF-8 (byte 13)" in result.stdout


def test_journal_that_is_a_directory(run_dir: Path) -> None:
    """journal.jsonl replaced by a folder: verify and status say so (exit 1)."""
    journal = run_dir / "journal.jsonl"
    journal.unlink()
    journal.mkdir()
    for command in ("verify", "status"):
        result = phase4gate(command, str(run_dir), cwd=run_dir.parent)
        no_traceback(result)
        assert result.returncode == 1, command
        assert "journal.jsonl: is a directory, not a journal file" in result.stdout + result.stderr, command


def test_status_list_survives_one_bad_run(run_dir: Path, tmp_path: Path) -> None:
    """status --list lists a run whose journal is damaged as damaged, and the others as usual."""
    good = Gate(GateConfig(), evidence_root=run_dir.parent, steps=Recorder({}).steps())
    good.run()
    spoil_line(run_dir / "journal.jsonl", 1)
    result = phase4gate("status", "--list", "--evidence-root", str(run_dir.parent), cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 0
    assert f"{run_dir.name}  damaged" in result.stdout
    assert "line 1: not UTF-8" in result.stdout
    assert f"{good.run_id}  passed" in result.stdout


def test_deleted_manifest_is_not_intact(run_dir: Path) -> None:
    """A deleted MANIFEST.sha256 is 'NOT intact' (exit 1), not 'could not decide'."""
    (run_dir / "MANIFEST.sha256").unlink()
    result = phase4gate("verify", str(run_dir), cwd=run_dir.parent)
    no_traceback(result)
    assert result.returncode == 1
    assert "NOT intact" in result.stdout
    assert "MANIFEST.sha256: missing" in result.stdout


def test_manifest_that_is_a_directory(run_dir: Path) -> None:
    """A MANIFEST.sha256 folder: NOT intact (exit 1), named."""
    (run_dir / "MANIFEST.sha256").unlink()
    (run_dir / "MANIFEST.sha256").mkdir()
    result = phase4gate("verify", str(run_dir), cwd=run_dir.parent)
    no_traceback(result)
    assert result.returncode == 1
    assert "MANIFEST.sha256: is a directory, not a manifest" in result.stdout
    shutil.rmtree(run_dir / "MANIFEST.sha256")
