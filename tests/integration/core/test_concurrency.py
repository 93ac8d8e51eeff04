"""One writer per run folder, against a world served by ``phase4gate sandbox --write-config``.

Issue 19, case 2 (second half): two ``--resume latest`` on one run folder both wrote
into the same journal (3 gate-starts, 2 gate-ends).  Now the second gets a clear
error at once (exit 3, naming the holder's pid and host).  Also the
``--write-config`` file itself: the real gate's ``run``, ``--resume``, ``status`` and
``verify`` work against the sandbox, and the token is never in the file.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HANG_GUARD_SECONDS
from tests.integration.core.gate_proc import events, wait_for


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phase4gate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD_SECONDS * 3,
        check=False,
    )


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], str]]:
    """``phase4gate sandbox --write-config`` running; yields (config, the gate's env, sandbox stderr so far)."""
    config = tmp_path / "gate.toml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "phase4gate",
            "sandbox",
            "--write-config",
            str(config),
            "--evidence-root",
            str(tmp_path / "evidence"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        line = json.loads(proc.stdout.readline())
        said = proc.stderr.readline()
        env = {**os.environ, "GITHUB_TOKEN": line["token"], "PHASE4GATE_CACHE_DIR": str(tmp_path / "cache")}
        text = config.read_text(encoding="utf-8")
        assert line["token"] not in text
        assert line["read_only_token"] not in text
        yield config, env, said
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=HANG_GUARD_SECONDS)


def test_write_config_help_names_the_token_variable() -> None:
    """``sandbox --help`` documents --write-config and says the token is not in the file."""
    result = _cli("sandbox", "--help")
    assert result.returncode == 0
    assert "--write-config FILE" in result.stdout
    assert "no token in it" in result.stdout


def test_write_config_with_seed_is_usage(tmp_path: Path) -> None:
    """--write-config needs the whole world: with --seed it is exit 2, with a clear line."""
    seed = tmp_path / "seed.json"
    seed.write_text("{}", encoding="utf-8")
    result = _cli("sandbox", "--seed", str(seed), "--write-config", str(tmp_path / "g.toml"))
    assert result.returncode == 2, result.stderr
    assert "--write-config needs the whole world" in result.stderr
    assert not (tmp_path / "g.toml").exists()


def test_two_resumes_at_once_one_writer(sandbox: tuple[Path, dict[str, str], str], tmp_path: Path) -> None:
    """While one resume holds the run folder a second exits 3 naming pid and host; one gate-start per real run."""
    config, env, said = sandbox
    assert "GITHUB_TOKEN" in said
    assert env["GITHUB_TOKEN"] not in said
    evidence = tmp_path / "evidence"
    first = _cli("--config", str(config), "run", "--until", "WP03", env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    holder = subprocess.Popen(
        [sys.executable, "-m", "phase4gate", "--config", str(config), "run", "--resume", "latest"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # The holder has the lock once its gate-start is journalled.
        wait_for(
            "the first resume's gate-start",
            lambda: sum(e.get("event") == "gate-start" for e in events(evidence)) == 2,
            holder,
        )
        second = _cli("--config", str(config), "run", "--resume", "latest", env=env)
        out, _ = holder.communicate(timeout=HANG_GUARD_SECONDS * 3)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(HANG_GUARD_SECONDS)
    assert second.returncode == 3, second.stdout[-2000:] + second.stderr[-2000:]
    assert f"pid {holder.pid}" in second.stderr
    assert socket.gethostname() in second.stderr
    assert holder.returncode == 0, out.decode(errors="replace")[-3000:]
    evs = events(evidence)
    assert sum(e.get("event") == "gate-start" for e in evs) == 2
    assert sum(e.get("event") == "gate-end" for e in evs) == 2
    status = _cli("--config", str(config), "status", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "passed" in status.stdout
    (run_dir,) = [p.parent for p in evidence.glob("*/journal.jsonl")]
    verify = _cli("--config", str(config), "verify", str(run_dir), env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # The lock is released: a third resume proceeds (everything passed, nothing re-runs).
    third = _cli("--config", str(config), "run", "--resume", "latest", env=env)
    assert third.returncode == 0, third.stdout[-2000:] + third.stderr[-2000:]
