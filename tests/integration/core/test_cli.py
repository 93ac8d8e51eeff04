"""The installed console script, run as a subprocess: commands and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phase4gate.cli import main
from phase4gate.config import GateConfig
from phase4gate.gate import Gate
from tests.conftest import HANG_GUARD_SECONDS
from tests.gate_helpers import Recorder

EXE = shutil.which("phase4gate")


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert EXE, "the phase4gate console script is not installed"
    return subprocess.run(
        [EXE, *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )


def make_run(root: Path, outcomes: dict[str, str]) -> Gate:
    gate = Gate(GateConfig(), evidence_root=root, steps=Recorder(outcomes).steps())
    gate.run()
    return gate


def test_help_teaches_the_wps_and_exit_codes() -> None:
    """--help lists every WP with its stop conditions and the exit codes."""
    result = cli("--help")
    assert result.returncode == 0
    for wp in ("WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07", "WP08"):
        assert wp in result.stdout
    assert "exit codes: 0 passed, 1 stopped" in result.stdout
    assert "waiting" in result.stdout


def test_version() -> None:
    """--version prints the distribution version."""
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("phase4gate 0.")


def test_no_command_is_usage() -> None:
    """No subcommand: help on stderr and exit 2."""
    assert cli().returncode == 2


def test_unknown_option_is_usage() -> None:
    """argparse errors are exit 2."""
    result = cli("run", "--bogus")
    assert result.returncode == 2
    assert "unrecognized arguments: --bogus" in result.stderr


def test_config_show_and_json(tmp_path: Path) -> None:
    """config show prints TOML that reads back; --json prints the same as JSON."""
    result = cli("config", "show", cwd=tmp_path)
    assert result.returncode == 0
    assert 'baseline = "3.2.0rc15"' in result.stdout
    (tmp_path / "round.toml").write_text(result.stdout)
    again = cli("--config", str(tmp_path / "round.toml"), "config", "show", cwd=tmp_path)
    assert again.stdout == result.stdout
    data = json.loads(cli("config", "show", "--json", cwd=tmp_path).stdout)
    assert data["release"]["series"] == "3.2.0"


def test_bad_config_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    """A config error prints error: and hint: lines and exits 2."""
    bad = tmp_path / "gate.toml"
    bad.write_text("[saas]\nexpected_business_rule_rejected = 'twenty-two'\n")
    result = cli("config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: " in result.stderr
    assert "$.saas.expected_business_rule_rejected: invalid value for type, expected int" in result.stderr
    assert "hint: " in result.stderr


def test_token_in_config_is_refused_and_not_echoed(tmp_path: Path) -> None:
    """A token in the file: exit 2, and the token appears nowhere in the output."""
    token = "ghp_" + "Z9" * 18
    (tmp_path / "gate.toml").write_text(f'[audit.test_env]\nT = "{token}"\n')
    result = cli("config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert token not in result.stdout + result.stderr


def test_status_and_verify_of_a_stopped_run(evidence_root: Path) -> None:
    """status exits with the run's code (1 for a stop); verify is clean, then catches a tamper."""
    gate = make_run(evidence_root, {"WP05": "failed"})
    status = cli("status", "--evidence-root", str(evidence_root))
    assert status.returncode == 1
    assert "| WP05 | stopped | failed |" in status.stdout
    data = json.loads(cli("status", gate.run_id, "--json", "--evidence-root", str(evidence_root)).stdout)
    assert data["verdict"] == "stopped"
    assert data["exit_code"] == 1
    listing = cli("status", "--list", "--evidence-root", str(evidence_root))
    assert f"{gate.run_id}  stopped" in listing.stdout
    ok = cli("verify", "latest", "--evidence-root", str(evidence_root))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "intact" in ok.stdout
    target = gate.run_dir / "wp04" / "1" / "evidence.txt"
    os.chmod(target, 0o644)
    target.write_text("changed\n")
    bad = cli("verify", gate.run_id, "--json", "--evidence-root", str(evidence_root))
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["altered"] == ["wp04/1/evidence.txt"]


def test_wp_refused_without_dependencies(evidence_root: Path) -> None:
    """`wp WP05` on a fresh run is a usage error naming the missing WP."""
    result = cli("wp", "WP05", "--evidence-root", str(evidence_root))
    assert result.returncode == 2
    assert "WP05 needs WP04 to have passed" in result.stderr
    assert "hint: run `phase4gate run --until WP04` first" in result.stderr


def test_status_of_unknown_run(evidence_root: Path) -> None:
    """An unknown run is exit 2 with a hint."""
    result = cli("status", "nope", "--evidence-root", str(evidence_root))
    assert result.returncode == 2
    assert "no gate run 'nope'" in result.stderr


def test_python_dash_m(evidence_root: Path) -> None:
    """python -m phase4gate is the same CLI."""
    result = subprocess.run(
        [sys.executable, "-m", "phase4gate", "config", "show", "--json"],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
        cwd=evidence_root,
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["github"]["token_env"] == "GITHUB_TOKEN"


def test_help_imports_nothing_heavy() -> None:
    """Importing the CLI and building its parser does not import github3, urllib3, cattrs or filelock."""
    code = (
        "import sys, phase4gate.cli as c; c.build_parser();"
        "heavy = [m for m in ('github3', 'urllib3', 'cattrs', 'filelock', 'requests') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_GUARD_SECONDS, check=True
    )
    assert result.stdout.strip() == ""


def test_in_process_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    """main([...]) returns the exit code instead of exiting."""
    assert main(["--help"]) == 0
    assert "phase4gate" in capsys.readouterr().out
    assert main(["wp", "WP09"]) == 2
    assert "unknown work package 'WP09'" in capsys.readouterr().err


def test_junit_and_step_summary(evidence_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--junit writes one case per WP; under GitHub Actions the report goes to the job summary."""
    import xml.etree.ElementTree as ET

    from phase4gate.commands._common import github_summary
    from phase4gate.gate import report_from_journal
    from phase4gate.junit import render_junit

    gate = make_run(evidence_root, {"WP03": "waiting"})
    report = report_from_journal(gate.store.read_journal())
    suite = ET.fromstring(render_junit(report).split("?>", 1)[1])
    assert suite.get("tests") == "8"
    assert suite.get("failures") == "1"
    failure = suite.find("testcase[@name='WP03']/failure")
    assert failure is not None and failure.get("type") == "waiting"
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    github_summary(report)
    assert "| WP03 | stopped | waiting |" in summary.read_text()
