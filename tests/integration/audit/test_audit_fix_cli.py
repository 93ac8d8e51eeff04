"""`phase4gate audit-fix`: exit codes 0/1/3, --json, text output, logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from phase4gate.cli import main
from phase4gate.errors import ExitCode
from tests.conftest import HANG_GUARD_SECONDS
from tests.integration.audit.conftest import AuditWorld

FOCUS_ARGS = [
    "--focus",
    "src/specify_cli/sync/queue.py",
    "--focus",
    "src/specify_cli/status/adapters.py",
    "--focus-symbol",
    "OfflineQueue.queue_event",
    "--focus-symbol",
    "fire_saas_fanout",
]


def audit_fix(world: AuditWorld, name: str, *extra: str) -> int:
    return main(["audit-fix", "--repo", str(world.cli.path), world.cli.commits[name], *FOCUS_ARGS, *extra])


def test_substantive_and_proven_exits_0_with_json(
    audit_world: AuditWorld, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Exit 0 and one JSON object with verdict, files, changed_symbols, closes and tests."""
    code = audit_fix(
        audit_world, "substantive", "--json", "--cache-dir", str(audit_world.cache), "--logs", str(tmp_path)
    )
    assert code == ExitCode.PASSED
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "substantive"
    assert data["closes"] == [1141]
    assert [t["without_fix"] for t in data["tests"]] == ["failed"]
    assert {s["symbol"] for s in data["changed_symbols"] if s["behavioural"]} == {"OfflineQueue.queue_event"}
    assert (tmp_path / "without-fix.log").is_file()
    assert (tmp_path / "with-fix.junit.xml").is_file()


def test_logging_only_exits_1_with_text(audit_world: AuditWorld, capsys: pytest.CaptureFixture[str]) -> None:
    """Any verdict but substantive exits 1; the text names the verdict and each file's kind."""
    code = audit_fix(audit_world, "two-blocker-squash", "--no-proof")
    assert code == ExitCode.STOPPED
    out = capsys.readouterr().out
    assert out.startswith("verdict: logging-only\n")
    assert "  logging-only  focus src/specify_cli/status/adapters.py" in out
    assert "closes: #1142, #1141" in out


def test_proof_text_lists_each_test(
    audit_world: AuditWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text output lists each test with both outcomes and its judgement (no focus: the whole commit)."""
    monkeypatch.setenv("PHASE4GATE_CACHE_DIR", str(audit_world.cache))
    code = main(["audit-fix", "--repo", str(audit_world.cli.path), audit_world.cli.commits["missing-name"]])
    assert code == ExitCode.STOPPED
    out = capsys.readouterr().out
    assert "verdict: proof-only-missing-name" in out
    assert (
        "passed / failed KeyError  tests/sync/test_queue_counts.py::test_stats_report_replacements  -> missing-name"
        in out
    )
    assert "src/specify_cli/sync/queue.py:OfflineQueue.queue_event (13-23) [focus]" in out


def test_not_a_repository_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Could not read the repository: exit 3 with the path and a hint."""
    code = main(["audit-fix", "--repo", str(tmp_path), "HEAD", "--no-proof"])
    assert code == ExitCode.INFRA
    err = capsys.readouterr().err
    assert f"error: {tmp_path}: not a git repository" in err
    assert "hint: pass --repo" in err


def test_environment_that_cannot_be_built_exits_3(
    audit_world: AuditWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failing install command is "could not decide" (exit 3), never a pass."""
    config = tmp_path / "gate.toml"
    config.write_text('[audit]\ninstall_command = ["false"]\n', encoding="utf-8")
    code = audit_fix(audit_world, "substantive", "--config", str(config), "--cache-dir", str(tmp_path / "cache"))
    assert code == ExitCode.INFRA
    err = capsys.readouterr().err
    assert "building the test environment" in err
    assert "`false` exited 1" in err


def test_entry_point_subprocess(audit_world: AuditWorld) -> None:
    """`python -m phase4gate audit-fix` runs as a program and exits with the verdict's code."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "phase4gate",
            "audit-fix",
            "--repo",
            str(audit_world.cli.path),
            "fix/docs-only",
            *FOCUS_ARGS,
            "--no-proof",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert proc.returncode == ExitCode.STOPPED, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "docs-only"
