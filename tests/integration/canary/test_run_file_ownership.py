"""A run file counts only for the run that wrote it: what was there before, a file from outside the run's
window, a run id counted already, and an orphan of a SIGKILLed gate writing into a resumed gate's run."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from phase4gate.adapters.runner import RUN_FILE_TOLERANCE_SECONDS
from phase4gate.models import StepOutcome, StepStatus, StopKind
from phase4gate.verify import verify_run
from tests.conftest import HANG_GUARD_SECONDS

from .conftest import CanaryWorld
from .gate_child import write_spec
from .runfile_writer import command, harness_text

ROOT = Path(__file__).resolve().parents[3]
ART = Path("artifacts") / "sync_identity_boundary"
KEPT = "rc16-single-attempt1/runs/run-1.json"


def _template(world: CanaryWorld, text: str, name: str = "template.json") -> Path:
    path = world.tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def test_file_left_before_the_run_never_counts_even_copied_to_latest(world: CanaryWorld) -> None:
    """A passing file already in artifacts/ (same sha256), copied over latest.json by the runner: refused.

    Its time stamps are made to fall inside the run's window, so only the digest rule can refuse it.
    """
    art = world.checkout / ART
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    old = art / "01EARLIERRUN0000000000000.json"
    old.write_text(
        harness_text(started=soon.isoformat(), finished=(soon + dt.timedelta(seconds=0.5)).isoformat(), run_id="E1"),
        encoding="utf-8",
    )
    script = f"sleep 1.2 && cp {ART / old.name} {ART / 'latest.json'}"
    gate, report = world.gate("WP04", world.config(command=("sh", "-c", script)))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert f"{KEPT}: $: artifacts/sync_identity_boundary/latest.json is byte for byte the {old.name}" in wp04.reason
    assert "a file left from an earlier run never counts" in wp04.reason
    # The harness's files are neither moved nor deleted; the refused copy is kept as evidence.
    assert old.is_file()
    assert (gate.run_dir / KEPT).read_bytes() == old.read_bytes()
    assert verify_run(gate.run_dir).ok


def test_file_modified_outside_the_run_window_is_refused(world: CanaryWorld) -> None:
    """Fresh content, but the file's modification time is an hour before the run started: not this run's."""
    template = _template(world, harness_text())
    _, report = world.gate("WP04", world.config(command=command(template, "--mtime-offset", -3600)))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert f"{KEPT}: $: artifacts/sync_identity_boundary/latest.json was last modified at" in wp04.reason
    assert "is before run 1 was started" in wp04.reason
    assert "run 1 did not write it" in wp04.reason


def test_run_id_counted_in_an_earlier_run_of_the_protocol_is_refused(world: CanaryWorld) -> None:
    """WP05: run 2's file carries run 1's run_id (fresh time stamps): refused, naming where it was counted."""
    template = _template(world, harness_text(run_id="01SAMEID000000000000000000"))
    steps = {"WP04": lambda _ctx: StepOutcome.passed("single run passed")}
    _, report = world.gate("WP05", world.config(command=command(template)), steps=steps)
    wp05 = report.step("WP05")
    assert wp05 is not None
    assert (wp05.status, wp05.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp05.reason
    assert (
        "rc16-attempt1/runs/run-2.json: $.run_id: '01SAMEID000000000000000000' was already counted "
        "(rc16-attempt1/runs/run-1.json)"
    ) in wp05.reason


def test_run_id_counted_by_an_earlier_gate_is_refused(world: CanaryWorld) -> None:
    """A later gate run (same evidence root) gets a file whose run_id an earlier gate counted: refused."""
    template = _template(world, harness_text(run_id="01REUSED00000000000000000"))
    first, report = world.gate("WP04", world.config(command=command(template)))
    assert report.exit_code == 0, report.step("WP04")
    second, again = world.gate("WP04", world.config(command=command(template)))
    wp04 = again.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert (
        f"rc16-single-attempt2/runs/run-1.json: $.run_id: '01REUSED00000000000000000' was already counted "
        f"({first.run_dir.name}/{KEPT})"
    ) in wp04.reason
    assert first.run_dir != second.run_dir
    # The attestation says which kept file a passed step counted: the refused one says "pass" but is not counted.
    counted = {
        gate.run_dir.name: [
            (r["file"], r["outcome"], r["counted"])
            for r in json.loads((gate.run_dir / "attestation.intoto.json").read_text())["predicate"]["canary_runs"]
        ]
        for gate in (first, second)
    }
    assert counted[first.run_dir.name] == [(KEPT, "pass", True)]
    assert counted[second.run_dir.name] == [("rc16-single-attempt2/runs/run-1.json", "pass", False)]


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _kill_pid_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int(path.read_text(encoding="utf-8")), signal.SIGKILL)


def _child(spec: Path, **popen: Any) -> subprocess.Popen[bytes]:
    """Start the gate of *spec*; its stdout and stderr go to files beside *spec*."""
    with spec.with_suffix(".out").open("wb") as out, spec.with_suffix(".err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.integration.canary.gate_child", str(spec)],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            **popen,
        )


def test_resumed_gate_never_passes_on_an_orphans_run_file(world: CanaryWorld) -> None:
    """SIGKILL the gate (and its runner) mid-WP04; the runner's setsid child survives and, once the resumed
    gate's run 1 has started, writes a passing run file stamped with the killed gate's start.  The resumed
    run itself fails without a file.  WP04 must not pass on the orphan's file.
    """
    control = world.tmp / "control"
    control.mkdir()
    config = world.config(command=(sys.executable, str(Path(__file__).with_name("orphan_canary.py")), str(control)))
    base: dict[str, Any] = {
        "evidence_root": str(world.evidence_root),
        "environ": world.environ(),
        "facts": world.prior_facts(),
        "until": "WP04",
    }
    first = _child(write_spec(world.tmp / "a.json", config, **base), start_new_session=True)
    resumed: subprocess.Popen[bytes] | None = None
    try:
        _wait_for(control / "orphan.pid")
        _wait_for(control / "runner.pid")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=HANG_GUARD_SECONDS)
        _kill_pid_file(control / "runner.pid")  # the runner's own group; only the setsid orphan is left
        # The killed gate's run started more than the tolerance before the resumed gate can start its own.
        started = dt.datetime.fromisoformat((control / "started").read_text(encoding="utf-8"))
        while dt.datetime.now(dt.UTC) < started + dt.timedelta(seconds=RUN_FILE_TOLERANCE_SECONDS + 1):
            time.sleep(0.1)
        resumed = _child(write_spec(world.tmp / "b.json", config, **base, resume="latest"))
        resumed.wait(timeout=HANG_GUARD_SECONDS)
    finally:
        _kill_pid_file(control / "orphan.pid")
        for proc in (first, resumed):
            if proc is not None and proc.poll() is None:
                proc.kill()
    out, err = (world.tmp / "b.out").read_text(), (world.tmp / "b.err").read_text()
    assert out.strip(), err
    result = json.loads(out.strip().splitlines()[-1])
    wp04 = result["steps"]["WP04"]
    assert wp04["status"] == "stopped", (wp04, err)
    assert result["exit_code"] == 1
    if (control / "orphan.wrote").exists():
        # The orphan wrote during the resumed run: refused by this run's own window, not by luck.
        assert "rc16-single-attempt2/runs/run-1.json: $.started_at:" in wp04["reason"]
        assert "is before run 1 was started" in wp04["reason"]
    else:
        # A gate that ends the earlier gate's leftovers first: the orphan never wrote; still no pass.
        assert "no run file and no JUnit report" in wp04["reason"]
    assert verify_run(Path(result["run_dir"])).ok


def test_touched_but_unchanged_latest_never_counts(world: CanaryWorld) -> None:
    """latest.json from an earlier green run, touched (fresh mtime) but byte for byte the same: not this run's."""
    assert world.gate("WP04")[1].exit_code == 0
    latest = world.checkout / ART / "latest.json"
    before = latest.read_bytes()
    _, report = world.gate("WP04", world.config(command=("touch", str(ART / "latest.json"))))
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert (wp04.status, wp04.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED), wp04.reason
    assert "unchanged since before run 1" in wp04.reason
    assert "no run file and no JUnit report" in wp04.reason
    assert latest.read_bytes() == before
