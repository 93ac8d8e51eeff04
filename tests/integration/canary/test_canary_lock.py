"""One canary at a time per e2e checkout: a second gate waits (saying who holds it) with a bound."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phase4gate.adapters.runner import CANARY_HOLDER_NAME, CANARY_LOCK_NAME, CanaryBusyError, canary_lock
from phase4gate.errors import ExitCode
from phase4gate.verify import verify_run
from tests.conftest import HANG_GUARD_SECONDS

from .conftest import CanaryWorld
from .gate_child import write_spec

ROOT = Path(__file__).resolve().parents[3]


class FakeClock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_second_holder_waits_naming_the_holder_then_gives_up(tmp_path: Path) -> None:
    """While one gate holds the checkout, another waits, names the holder's pid and host, and stops at its bound."""
    notes: list[str] = []
    clock = FakeClock()
    with canary_lock(tmp_path, run_id="20261201T080000Z-aaaa", wp="WP05", wait_seconds=3600):
        holder = json.loads((tmp_path / CANARY_HOLDER_NAME).read_text())
        assert (holder["pid"], holder["host"], holder["run_id"], holder["wp"]) == (
            os.getpid(),
            socket.gethostname(),
            "20261201T080000Z-aaaa",
            "WP05",
        )
        with (
            pytest.raises(CanaryBusyError) as excinfo,
            canary_lock(
                tmp_path, run_id="other", wp="WP04", wait_seconds=75, note=notes.append, sleep=clock.sleep, clock=clock
            ),
        ):
            pytest.fail("the second holder must not get the lock")
    assert excinfo.value.exit_code is ExitCode.INFRA
    assert f"pid {os.getpid()} on {socket.gethostname()}, run 20261201T080000Z-aaaa, WP05" in str(excinfo.value)
    assert "waited 75s of at most 75s" in str(excinfo.value)
    assert clock.sleeps == [1.0] * 75
    # A progress line at once and every 30 s, each naming the holder.
    assert len(notes) == 3
    assert all(f"held by pid {os.getpid()} on {socket.gethostname()}" in n for n in notes)
    assert notes[0].endswith("waited 00:00 of at most 75s")
    assert notes[1].endswith("waited 00:30 of at most 75s")


def test_lock_is_free_again_once_released(tmp_path: Path) -> None:
    """After the holder leaves, the next gate gets the checkout at once; the holder file is gone."""
    with canary_lock(tmp_path, run_id="first", wp="WP04", wait_seconds=1):
        pass
    assert not (tmp_path / CANARY_HOLDER_NAME).exists()
    clock = FakeClock()
    with canary_lock(tmp_path, run_id="second", wp="WP04", wait_seconds=1, sleep=clock.sleep, clock=clock):
        assert json.loads((tmp_path / CANARY_HOLDER_NAME).read_text())["run_id"] == "second"
    assert clock.sleeps == []
    assert (tmp_path / CANARY_LOCK_NAME).exists()


def _start(spec: Path) -> subprocess.Popen[bytes]:
    with spec.with_suffix(".out").open("wb") as out, spec.with_suffix(".err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.integration.canary.gate_child", str(spec)],
            cwd=ROOT,
            stdout=out,
            stderr=err,
        )


def test_two_gates_at_once_share_one_checkout_without_a_false_stop(world: CanaryWorld) -> None:
    """Two real gates, one world, one evidence root, WP04 and WP05 each: both pass 4/4, each run folder intact.

    Without the lock they read each other's run files ("missing scenario(s) [1, 2, 3, 4]").
    """
    base: dict[str, Any] = {
        "evidence_root": str(world.evidence_root),
        "environ": world.environ(),
        "facts": world.prior_facts(),
        "until": "WP05",
    }
    config = world.config()
    procs = [_start(write_spec(world.tmp / f"gate-{n}.json", config, **base)) for n in (1, 2)]
    try:
        for proc in procs:
            proc.wait(timeout=HANG_GUARD_SECONDS * 2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    results = []
    for n, proc in zip((1, 2), procs, strict=True):
        out = (world.tmp / f"gate-{n}.out").read_text()
        err = (world.tmp / f"gate-{n}.err").read_text()
        assert out.strip(), err
        result = json.loads(out.strip().splitlines()[-1])
        results.append((proc.pid, result, err))
        assert "missing scenario" not in out + err
        assert result["exit_code"] == 0, result["steps"]
        assert [result["steps"][wp]["status"] for wp in ("WP04", "WP05")] == ["passed", "passed"]
        assert "4/4 runs pass, 16 cells" in result["steps"]["WP05"]["reason"]
        findings = verify_run(Path(result["run_dir"]))
        assert findings.ok, findings.render()
    assert results[0][1]["run_dir"] != results[1][1]["run_dir"]
    # Attempt folders are numbered across both gates; no two runs share one.
    attempts = sorted(p.name for p in world.evidence_root.glob("*/rc16-*attempt*"))
    assert attempts == ["rc16-attempt1", "rc16-attempt2", "rc16-single-attempt1", "rc16-single-attempt2"]
    # At least one gate waited for the other, and said whose canary it waited for.
    waits = [
        err
        for (_pid, _r, err), (other, _o, _e) in zip(results, reversed(results), strict=True)
        if f"held by pid {other} on" in err
    ]
    assert waits, [r[2] for r in results]
