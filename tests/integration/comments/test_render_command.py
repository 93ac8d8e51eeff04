"""``phase4gate render-comment`` prints exactly what was posted, or names what is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from phase4gate.cli import main
from phase4gate.config import to_toml
from phase4gate.errors import ExitCode
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO
from tests.conftest import HANG_GUARD_SECONDS
from tests.integration.comments.gate_world import gate_config, make_gate


def _config_file(github: GitHubEmulator, tmp_path: Path, *, fly_image: str | None = "img:1") -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(to_toml(gate_config(github, fly_image=fly_image)), encoding="utf-8")
    return path


def _posted(github: GitHubEmulator, repo: str, number: int) -> str:
    with github.lock:
        return next(c.body for c in github.state.issue(repo, number).comments if c.author == "gate-bot")


def test_prints_exactly_the_posted_bodies(
    github: GitHubEmulator, evidence_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both templates print byte for byte what WP06 and WP08 posted."""
    config = _config_file(github, tmp_path)
    gate = make_gate(github, evidence_root, config=gate_config(github, fly_image="img:1"))
    assert gate.run().exit_code == 0
    common = ["--config", str(config), "--evidence-root", str(evidence_root)]

    assert main(["render-comment", "e2e-41", gate.run_id, *common]) == 0
    assert capsys.readouterr().out == _posted(github, E2E_REPO, 41)
    assert main(["render-comment", "issue-1038", "latest", *common]) == 0
    assert capsys.readouterr().out == _posted(github, CLI_REPO, 1038)


def test_missing_fact_exits_1_naming_the_field(
    github: GitHubEmulator, evidence_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that stopped before WP06: the #1038 body names each missing fact; nothing is printed on stdout."""
    gate = make_gate(github, evidence_root, config=gate_config(github, fly_image=None))
    gate.run()
    config = _config_file(github, tmp_path, fly_image=None)

    code = main(
        ["render-comment", "issue-1038", gate.run_id, "--config", str(config), "--evidence-root", str(evidence_root)]
    )

    captured = capsys.readouterr()
    assert code == ExitCode.STOPPED
    assert captured.out == ""
    assert "fly_image: missing; expected from config key saas.fly_image" in captured.err
    assert "e2e_comment_url: missing; expected from WP06 fact 'e2e_comment_url'" in captured.err
    assert "hint: set saas.fly_image" in captured.err


def test_unknown_template_is_usage(evidence_root: Path) -> None:
    assert main(["render-comment", "issue-9999", "latest", "--evidence-root", str(evidence_root)]) == ExitCode.USAGE


def test_entry_point(github: GitHubEmulator, evidence_root: Path, tmp_path: Path) -> None:
    """One subprocess: the console entry prints the body and exits 0."""
    gate = make_gate(github, evidence_root, config=gate_config(github, fly_image="img:1"))
    assert gate.run().exit_code == 0
    config = _config_file(github, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "phase4gate", "render-comment", "e2e-41", str(gate.run_dir), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == _posted(github, E2E_REPO, 41)
