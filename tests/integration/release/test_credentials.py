"""Index credentials never leak: not into evidence, journal, report, attestation, logs, stdout or stderr.

Issue 20, case 3: with ``PIP_INDEX_URL=http://user:secret@...`` the password appeared in
``wp02/1/install-as-users-get-it.log``, ``resolution.json``, ``wheel.json`` and stderr, and
``resolve-rc --index-url http://user:secret@...`` printed it in its error.  The sandbox
index emulator accepts any userinfo, so the gate really reads and installs through the
credentialed URL; the point is that the secret string never appears anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from phase4gate.config import to_toml
from phase4gate.errors import ExitCode
from phase4gate.sandbox.index import IndexEmulator
from phase4gate.sandbox.world import World
from tests.conftest import HANG_GUARD_SECONDS

PASSWORD = "Zq7-s3cr3t-PW"
USER = "gate-user"


def _with_userinfo(url: str) -> str:
    return url.replace("http://", f"http://{USER}:{PASSWORD}@", 1)


def _leaks(root: Path) -> list[str]:
    """Every file under *root* holding the password (as bytes, also percent-encoded)."""
    needles = (PASSWORD.encode(), PASSWORD.replace("-", "%2D").encode())
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles))


def _phase4gate(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phase4gate", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS * 5,
        cwd=cwd,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("scenario", "installs", "code"),
    [
        ("green", ("as-users-get-it",), ExitCode.PASSED),
        ("dependency-drift", ("as-users-get-it", "as-of-release"), ExitCode.STOPPED),
    ],
)
def test_pip_index_url_credentials_appear_nowhere(
    tmp_path: Path, scenario: str, installs: tuple[str, ...], code: ExitCode
) -> None:
    """A real gate run to WP02 through PIP_INDEX_URL with user:password: the password is in no file and no output."""
    evidence = tmp_path / "evidence"
    with World(tmp_path / "world", scenario) as world:
        world.index.require_auth = (USER, PASSWORD)  # a private index: nothing is served without them
        config = world.config(evidence)
        # No index in the file: the gate takes PIP_INDEX_URL, as pip and uv users expect.
        config = attrs.evolve(config, release=attrs.evolve(config.release, index_url=None))
        (tmp_path / "gate.toml").write_text(to_toml(config), encoding="utf-8")
        env = {
            **os.environ,
            "GITHUB_TOKEN": world.github.token,
            "PIP_INDEX_URL": _with_userinfo(world.index.simple_url),
        }
        env.pop("UV_INDEX_URL", None)
        env.pop("UV_DEFAULT_INDEX", None)
        result = _phase4gate("run", "--config", "gate.toml", "--until", "WP02", cwd=tmp_path, env=env)
        served = [(r.path, any(k.lower() == "authorization" for k in r.headers)) for r in world.index.requests]
    assert result.returncode == code, result.stdout + result.stderr
    run_dir = next(evidence.glob("*/journal.jsonl")).parent
    # The gate did read and install through the credentialed URL ...
    for label in installs:
        log = (run_dir / "wp02" / "1" / f"install-{label}.log").read_text(encoding="utf-8")
        assert f"--index-url http://{USER}:***@127.0.0.1:" in log, log[:2000]
    resolution = (run_dir / "wp02" / "1" / "resolution.json").read_text(encoding="utf-8")
    assert f'"index_url": "http://{USER}:***@127.0.0.1:' in resolution
    assert any(path.startswith("/simple/spec-kitty-cli") for path, _ in served), served
    assert all(authorized for _, authorized in served), served  # every read sent the credentials
    # ... and the password is nowhere: evidence, journal, report, attestation, venv logs, stdout, stderr.
    assert _leaks(evidence) == []
    assert PASSWORD not in result.stdout
    assert PASSWORD not in result.stderr
    assert (run_dir / "journal.jsonl").is_file()
    assert (run_dir / "report.json").is_file()


def test_resolve_rc_error_does_not_print_the_password(tmp_path: Path) -> None:
    """`resolve-rc --index-url http://user:secret@<down>`: exit 3, the URL shown as user:***@, the password nowhere."""
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:9/simple/"
    result = _phase4gate(
        "resolve-rc",
        "spec-kitty-cli",
        "--baseline",
        "3.2.0rc15",
        "--index-url",
        url,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    assert result.returncode == ExitCode.INFRA, result.stderr
    assert f"http://{USER}:***@127.0.0.1:9/simple/spec-kitty-cli/" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.parametrize("how", ["--index-url", "PIP_INDEX_URL"])
def test_resolve_rc_json_does_not_print_the_password(tmp_path: Path, how: str) -> None:
    """`resolve-rc --json` through a credentialed index: found, every URL redacted (index and file URLs)."""
    with IndexEmulator("rc15-rc16") as emulator:
        url = _with_userinfo(emulator.simple_url)
        args = ["resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15", "--json"]
        env = dict(os.environ)
        if how == "--index-url":
            args += ["--index-url", url]
        else:
            env["PIP_INDEX_URL"] = url
        result = _phase4gate(*args, cwd=tmp_path, env=env)
    assert result.returncode == ExitCode.PASSED, result.stderr
    assert '"version": "3.2.0rc16"' in result.stdout
    assert f'"index_url": "http://{USER}:***@127.0.0.1:' in result.stdout
    assert PASSWORD not in result.stdout + result.stderr


def test_resolve_rc_no_newer_rc_does_not_print_the_password(tmp_path: Path) -> None:
    """Nothing newer (exit 1) through a credentialed index: the reason names no password."""
    with IndexEmulator("only-rc15") as emulator:
        url = _with_userinfo(emulator.simple_url)
        result = _phase4gate(
            "resolve-rc",
            "spec-kitty-cli",
            "--baseline",
            "3.2.0rc15",
            "--index-url",
            url,
            cwd=tmp_path,
            env=dict(os.environ),
        )
    assert result.returncode == ExitCode.STOPPED, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
