"""The immutable evidence chain under canary runs: tampering, SIGKILL mid-write, two writers at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from phase4gate.adapters.store import EvidenceStore, read_manifest, sha256_file, verify_tree
from phase4gate.cli import main
from phase4gate.errors import EvidenceExistsError
from phase4gate.gate import Gate
from phase4gate.models import StepStatus
from phase4gate.sandbox.e2e import build_e2e_checkout
from phase4gate.verify import verify_run
from tests.conftest import HANG_GUARD_SECONDS

from .conftest import CanaryWorld


def test_tampered_run_file_is_caught_by_verify(world: CanaryWorld, capsys: object) -> None:
    """Editing a kept run file after the fact: `phase4gate verify` names it altered and exits 1."""
    gate, report = world.gate("WP04")
    assert report.exit_code == 0
    assert main(["verify", str(gate.run_dir)]) == 0
    target = gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json"
    target.chmod(0o644)
    target.write_text(target.read_text().replace('"pass"', '"PASS"', 1))
    findings = verify_run(gate.run_dir)
    assert findings.tree.altered == ("rc16-single-attempt1/runs/run-1.json",)
    assert findings.sealed_mismatches == (
        "rc16-single-attempt1/runs/run-1.json: differs from rc16-single-attempt1/MANIFEST.sha256",
    )
    assert main(["verify", str(gate.run_dir)]) == 1


def test_evidence_is_never_overwritten(world: CanaryWorld) -> None:
    """A kept run file cannot be written twice through the store."""
    gate, _ = world.gate("WP04")
    store = EvidenceStore(gate.run_dir)
    before = sha256_file(gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json")
    with pytest.raises(EvidenceExistsError, match="never overwritten"):
        store.write_text("rc16-single-attempt1/runs/run-1.json", "{}")
    assert sha256_file(gate.run_dir / "rc16-single-attempt1" / "runs" / "run-1.json") == before


_WRITER = """
import sys
from pathlib import Path
from phase4gate.adapters.store import EvidenceStore
store = EvidenceStore(Path(sys.argv[1]))
store.write_text("attempt/runs/run-1.json", '{"outcome": "pass"}')
print("first", flush=True)
blob = b"x" * (8 << 20)
for i in range(2, 10_000):
    store.write_bytes(f"attempt/runs/big-{i}.bin", blob)
    print(f"wrote {i}", flush=True)
"""


def test_sigkill_mid_write_leaves_no_partial_file(tmp_path: Path) -> None:
    """A writer killed with SIGKILL mid-write: every final file is whole; verify reports exactly what exists."""
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(run_dir)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert proc.stdout is not None
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line.strip())
            if len(lines) >= 3:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=HANG_GUARD_SECONDS)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()
    assert lines[0] == "first"
    assert proc.returncode == -signal.SIGKILL
    listed = read_manifest(run_dir)
    finals = sorted(
        p.relative_to(run_dir).as_posix()
        for p in run_dir.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name != "MANIFEST.sha256"
    )
    for rel in finals:
        if rel.endswith(".bin"):
            assert (run_dir / rel).stat().st_size == 8 << 20, f"partial file {rel}"
    result = verify_tree(run_dir)
    assert result.altered == ()
    assert result.missing == ()
    # A file linked before the kill but not yet listed is reported as extra; every other file is listed.
    assert sorted(set(listed) | set(result.extra)) == finals
    assert result.checked == len(listed)
    assert "attempt/runs/run-1.json" in listed


def test_two_gates_at_once_get_their_own_attempts(world: CanaryWorld, tmp_path: Path) -> None:
    """Two gates on one machine, one evidence root, running WP04 at once: attempts 1 and 2, both intact."""
    second = build_e2e_checkout(tmp_path / "e2e-2")
    configs = [world.config(), world.config(e2e_checkout=str(second))]
    gates = [
        Gate(c, evidence_root=world.evidence_root, environ=world.environ(), steps=world.prior_steps()) for c in configs
    ]
    reports: list[object] = [None, None]

    def go(i: int) -> None:
        reports[i] = gates[i].run(until="WP04")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_GUARD_SECONDS)
    attempts = []
    for gate, report in zip(gates, reports, strict=True):
        step = report.step("WP04")  # type: ignore[attr-defined]
        assert step.status is StepStatus.PASSED, step.reason
        attempts.append(step.facts["attempt_dir"])
        assert verify_run(gate.run_dir).ok
    assert sorted(attempts) == ["rc16-single-attempt1", "rc16-single-attempt2"]


_MANY = """
import sys
from pathlib import Path
from phase4gate.adapters.store import EvidenceStore
store = EvidenceStore(Path(sys.argv[1]))
for i in range(150):
    store.write_text(f"{sys.argv[2]}/runs/run-{i}.json", '{"writer": "%s", "i": %d}' % (sys.argv[2], i))
"""


def test_two_writers_in_one_run_folder_do_not_interleave(tmp_path: Path) -> None:
    """Two processes writing into one run folder at once: the manifest lists all 300 files, each intact."""
    run_dir = tmp_path / "run"
    procs = [subprocess.Popen([sys.executable, "-c", _MANY, str(run_dir), name]) for name in ("gate-a", "gate-b")]
    for p in procs:
        assert p.wait(timeout=HANG_GUARD_SECONDS) == 0
    listed = read_manifest(run_dir)
    assert len(listed) == 300
    result = verify_tree(run_dir)
    assert result.ok, result
    lines = (run_dir / "MANIFEST.sha256").read_text().splitlines()
    assert all(len(line.split("  ")) == 2 and len(line.split("  ")[0]) == 64 for line in lines)
