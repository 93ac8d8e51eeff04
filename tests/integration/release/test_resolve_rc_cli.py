"""`phase4gate resolve-rc` against the index emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from phase4gate.cli import main
from phase4gate.errors import ExitCode
from phase4gate.sandbox.index import IndexEmulator


def test_prints_the_version(index: IndexEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 and the chosen version alone on stdout."""
    code = main(["resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15", "--index-url", index.simple_url])
    assert code == ExitCode.PASSED
    assert capsys.readouterr().out == "3.2.0rc16\n"


def test_json_shape(index: IndexEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints version, baseline, candidates, skipped and upload_time."""
    index.set_release_set("finals-and-newer-series")
    argv = ["resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15", "--series", "3.2.0"]
    code = main([*argv, "--index-url", index.simple_url, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["version"] == "3.2.0rc16"
    assert data["baseline"] == "3.2.0rc15"
    assert data["candidates"] == ["3.2.0rc17", "3.2.0rc16"]
    assert data["skipped"][0]["version"] == "3.2.0rc17"
    assert data["upload_time"] == "2026-05-10T12:00:00.000000Z"


def test_none_newer_exits_1(index: IndexEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing after the baseline: exit 1, the reason on stderr, nothing on stdout."""
    index.set_release_set("only-rc15")
    code = main(["resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15", "--index-url", index.simple_url])
    out = capsys.readouterr()
    assert code == ExitCode.STOPPED
    assert out.out == ""
    assert "latest RC is still 3.2.0rc15" in out.err


def test_usage_and_infra_errors(index: IndexEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad baseline is a usage error (2); an unreachable index is exit 3 naming the URL."""
    assert main(["resolve-rc", "spec-kitty-cli", "--baseline", "soon", "--index-url", index.simple_url]) == 2
    assert "error: Invalid version: 'soon'" in capsys.readouterr().err
    assert main(["resolve-rc", "spec-kitty-cli", "--index-url", index.simple_url]) == 2
    url = "http://127.0.0.1:9/simple/"
    assert main(["resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15", "--index-url", url]) == 3
    assert "127.0.0.1:9/simple/spec-kitty-cli/" in capsys.readouterr().err


def test_config_index_url_is_used(index: IndexEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --index-url, release.index_url from --config is used."""
    config = tmp_path / "gate.toml"
    config.write_text(f'[release]\nindex_url = "{index.simple_url}"\n', encoding="utf-8")
    code = main(["resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15", "--config", str(config)])
    assert (code, capsys.readouterr().out) == (0, "3.2.0rc16\n")


def test_entry_point_subprocess(index: IndexEmulator) -> None:
    """The console entry point runs the command end to end."""
    argv = [sys.executable, "-m", "phase4gate", "resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15"]
    done = subprocess.run(
        [*argv, "--index-url", index.simple_url], capture_output=True, text=True, check=False, timeout=120
    )
    assert (done.returncode, done.stdout) == (0, "3.2.0rc16\n")
