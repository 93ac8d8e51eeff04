"""A real gate in a subprocess against an in-process sandbox world, and what it left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phase4gate.config import GateConfig, to_toml
from phase4gate.sandbox.world import World
from tests.conftest import HANG_GUARD_SECONDS

# Spelled out (not imported) so these tests also run, and fail, against an older phase4gate.
CHILD_ENV = "PHASE4GATE_CHILD_OF"


def alive(pid: int) -> bool:
    """True if *pid* runs and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def write_config(world: World, tmp: Path, config: GateConfig | None = None) -> Path:
    """Write the world's gate.toml (evidence under ``tmp/evidence``) and return its path."""
    path = tmp / "gate.toml"
    path.write_text(to_toml(config or world.config(tmp / "evidence")), encoding="utf-8")
    return path


def gate_env(world: World, tmp: Path) -> dict[str, str]:
    """The gate's environment: the world's token and a cache of this test's own."""
    env = world.environ(dict(os.environ))
    env["PHASE4GATE_CACHE_DIR"] = str(tmp / "cache")
    return env


def start_gate(config: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    """Start ``python -m phase4gate --config CONFIG run EXTRA...`` in its own session."""
    return subprocess.Popen(
        [sys.executable, "-m", "phase4gate", "--config", str(config), "run", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def run_gate(config: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the gate to its end (bounded by the hang guard)."""
    return subprocess.run(
        [sys.executable, "-m", "phase4gate", "--config", str(config), "run", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS * 3,
        check=False,
    )


def events(evidence: Path) -> list[dict[str, Any]]:
    """The journal events of the (only) run under *evidence*, whole lines only."""
    journals = sorted(evidence.glob("*/journal.jsonl"))
    if not journals:
        return []
    out: list[dict[str, Any]] = []
    for line in journals[-1].read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def wait_for(what: str, cond: Callable[[], bool], proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll *cond* until it holds (bounded by the hang guard); fail if *proc* ended first."""
    deadline = time.monotonic() + HANG_GUARD_SECONDS * 2
    while time.monotonic() < deadline:
        if cond():
            return
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            msg = f"the gate ended (exit {proc.returncode}) before {what}: {out[-3000:]}"
            raise AssertionError(msg)
        time.sleep(0.05)
    msg = f"timed out waiting for {what}"
    raise AssertionError(msg)


def marked_alive(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``PHASE4GATE_CHILD_OF=<marker>``."""
    wanted = f"{CHILD_ENV}={marker}".encode()
    out: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in env.split(b"\0") and alive(int(entry.name)):
            out.append(int(entry.name))
    return out


def scratch_of(pid: int) -> list[Path]:
    """The gate scratch folders in the temp dir whose recorded owner is *pid*."""
    found: list[Path] = []
    for folder in Path(tempfile.gettempdir()).glob("phase4gate-scratch-*"):
        try:
            owner = json.loads((folder / "owner.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if owner.get("pid") == pid:
            found.append(folder)
    return found
