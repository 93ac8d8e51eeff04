"""`phase4gate demo` as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from phase4gate.sandbox.world import ACTIONS_SCENARIOS, SCENARIOS
from tests.conftest import HANG_GUARD_SECONDS

EXE = shutil.which("phase4gate")


def demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert EXE, "the phase4gate console script is not installed"
    return subprocess.run(
        [EXE, "demo", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS * 3,
        cwd=cwd,
        env=dict(os.environ),
        check=False,
    )


def test_list_names_every_scenario(tmp_path: Path) -> None:
    """--scenario list prints one line per scenario with its WP and stop kind."""
    result = demo("--scenario", "list", cwd=tmp_path)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(SCENARIOS) + len(ACTIONS_SCENARIOS)
    assert re.search(r"^two-blocker-squash\s+stops at WP01 \(failed\)", result.stdout, re.MULTILINE)
    assert re.search(r"^actions-cancelled\s+exit 3 at WP04 on Actions", result.stdout, re.MULTILINE)
    rows = json.loads(demo("--scenario", "list", "--json", cwd=tmp_path).stdout)
    assert {r["name"] for r in rows} == {s.name for s in (*SCENARIOS, *ACTIONS_SCENARIOS)}


def test_green_demo_json(tmp_path: Path) -> None:
    """The green demo exits 0; --json prints the report with each WP passed and the evidence folder."""
    result = demo("--json", "--evidence-root", str(tmp_path / "ev"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["verdict"] == "passed"
    assert [s["status"] for s in report["steps"]] == ["passed"] * 8
    assert Path(report["run_dir"]).is_dir()
    assert (Path(report["run_dir"]) / "attestation.intoto.json").exists()
    verify = subprocess.run(
        [EXE or "phase4gate", "verify", report["run_dir"]],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout


def test_stop_scenario_text(tmp_path: Path) -> None:
    """A stop scenario exits 1, prints the report, and says the stop was the expected one."""
    result = demo("--scenario", "no-new-rc", "--junit", str(tmp_path / "junit.xml"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "| WP02 | stopped | waiting |" in result.stdout
    assert "expects a waiting stop at WP02: as expected" in result.stderr
    assert 'name="WP02"' in (tmp_path / "junit.xml").read_text()


def test_unknown_scenario_is_usage(tmp_path: Path) -> None:
    """An unknown scenario is exit 2 with a hint."""
    result = demo("--scenario", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown scenario 'nope'" in result.stderr
    assert "hint: `phase4gate demo --scenario list`" in result.stderr


def test_ctrl_c_stops_the_world(tmp_path: Path) -> None:
    """SIGINT during the demo: exit 130, the journal says so, and no emulator is left serving."""
    assert EXE
    proc = subprocess.Popen(
        [EXE, "demo", "--evidence-root", str(tmp_path / "ev")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < deadline and not list((tmp_path / "ev").glob("*/wp02")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=HANG_GUARD_SECONDS)
    assert proc.returncode == 130, err[-3000:]
    assert "interrupted" in err
    (journal,) = (tmp_path / "ev").glob("*/journal.jsonl")
    assert '"interrupted"' in journal.read_text()
    ports = re.findall(r"http://127\.0\.0\.1:(\d+)", err)
    assert ports
    import socket

    for port in set(ports):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", int(port))) != 0, f"port {port} still serving"


def test_render_comment_after_a_demo_uses_the_recorded_configuration(tmp_path: Path) -> None:
    """render-comment on a demo run prints exactly what was posted, with the Fly image the run was configured with."""
    result = demo("--json", "--evidence-root", str(tmp_path / "ev"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = Path(json.loads(result.stdout)["run_dir"])
    assert EXE
    rendered = subprocess.run(
        [EXE, "render-comment", "e2e-41", str(run_dir)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    (posted,) = run_dir.glob("wp06/*/e2e-41-comment.md")
    assert rendered.stdout == posted.read_text()
    as_json = subprocess.run(
        [EXE, "render-comment", "issue-1038", str(run_dir), "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert json.loads(as_json.stdout)["body"].startswith("## Canary evidence - post planning#16")
