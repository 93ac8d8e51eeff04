"""WP02 against this machine's real default package index (``nox -s network``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from phase4gate.config import GateConfig, ReleaseConfig
from phase4gate.gate import Gate
from phase4gate.models import StepOutcome, StepStatus, StopKind
from tests.integration.release.release_helpers import git_commit_and_tag

pytestmark = pytest.mark.network


def _independent_newest_rc(baseline: str) -> str:
    """The newest 3.2.0 RC after *baseline* from pip's own listing (``pip index versions --pre``)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "spec-kitty-cli", "--pre"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("Available versions:"))
    versions = [Version(v) for v in re.split(r",\s*", line.split(":", 1)[1].strip())]
    rcs = [v for v in versions if v.pre and v.pre[0] == "rc" and v.release == (3, 2, 0) and v > Version(baseline)]
    return str(max(rcs))


def _works(index_url: str, version: str, where: Path, exclude_newer: str | None) -> bool:
    """Install ``spec-kitty-cli==version`` with uv by hand and return whether ``spec-kitty --version`` names it."""
    venv = where / "venv"
    subprocess.run(["uv", "venv", "-q", str(venv), "--python", sys.executable], check=True, timeout=300)
    argv = ["uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--index-url", index_url]
    argv += ["--exclude-newer", exclude_newer] if exclude_newer else []
    installed = subprocess.run(
        [*argv, f"spec-kitty-cli=={version}"], capture_output=True, text=True, timeout=900, check=False
    )
    if installed.returncode != 0:
        return False
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "HOME": str(where)}
    ran = subprocess.run(
        [str(venv / "bin" / "spec-kitty"), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    return ran.returncode == 0 and f"spec-kitty-cli version {version}" in ran.stdout


def test_wp02_against_the_real_index(tmp_path: Path) -> None:
    """Same RC as pip's listing, and the same install verdict as installing it by hand, both ways."""
    from phase4gate.adapters.index import fetch_project, resolve_index_url
    from phase4gate.adapters.install import exclude_newer_for
    from phase4gate.checks.release import resolve_rc

    expected = _independent_newest_rc("3.2.0rc15")
    index_url = resolve_index_url(None)
    ours = resolve_rc(fetch_project(index_url, "spec-kitty-cli").files, "3.2.0rc15", "3.2.0")
    assert ours.version == expected
    assert ours.upload_time, "the real index gives upload times (PEP 691)"
    # The oracle: what a user gets today, and what they got as of the upload.
    today = _works(index_url, expected, tmp_path / "today", None)
    as_of = today or _works(index_url, expected, tmp_path / "as-of", exclude_newer_for(ours.upload_time))
    oracle = "verified" if today else "dependency-drift" if as_of else "broken"

    checkout = git_commit_and_tag(tmp_path / "spec-kitty", f"v{expected}")
    config = GateConfig(release=ReleaseConfig(cli_checkout=str(checkout)))
    wp01 = {"WP01": lambda _c: StepOutcome.passed("stand-in", facts={"cli_fix_commits": ""})}
    result = Gate(config, evidence_root=tmp_path / "evidence", steps=wp01).run(until="WP02").step("WP02")
    assert result is not None
    print(f"WP02 on the real index: {result.status.value} ({result.stop_kind}): {result.reason}")
    assert result.facts["rc_version"] == expected
    run_dir = next((tmp_path / "evidence").glob("*/journal.jsonl")).parent
    verdict = json.loads(next(run_dir.glob("wp02/*/install.json")).read_text())
    assert verdict["outcome"] == oracle, result.reason
    if oracle == "verified":
        assert result.status is StepStatus.PASSED, result.reason
    else:
        assert (result.status, result.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), result.reason


@pytest.fixture(scope="module")
def pipx_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pipx, installed from the real index into its own environment (the plan's installer)."""
    env_dir = tmp_path_factory.mktemp("pipx") / "env"
    subprocess.run(["uv", "venv", "-q", str(env_dir), "--python", sys.executable], check=True, timeout=300)
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(env_dir / "bin" / "python"), "pipx"], check=True, timeout=600
    )
    return env_dir / "bin"


def test_pipx_installer_on_the_emulator(pipx_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """installer = 'pipx': as users get it through pipx; the as-of-release retry still uses uv."""
    import os

    from phase4gate.sandbox.index import IndexEmulator

    monkeypatch.setenv("PATH", f"{os.environ['PATH']}{os.pathsep}{pipx_bin}")
    checkout = git_commit_and_tag(tmp_path / "spec-kitty", "v3.2.0rc16")
    wp01 = {"WP01": lambda _c: StepOutcome.passed("stand-in", facts={"cli_fix_commits": ""})}
    with IndexEmulator("dependency-drift") as index:
        release = ReleaseConfig(index_url=index.simple_url, cli_checkout=str(checkout), installer="pipx")
        gate = Gate(GateConfig(release=release), evidence_root=tmp_path / "ev", steps=wp01, environ=os.environ)
        result = gate.run(until="WP02").step("WP02")
    assert result is not None
    assert (result.status, result.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), result.reason
    assert "kitty-typer 1.0.0 -> 2.0.0" in result.reason
    log = next((tmp_path / "ev").glob("*/wp02/1/install-as-users-get-it.log")).read_text()
    assert "pipx install --force" in log
