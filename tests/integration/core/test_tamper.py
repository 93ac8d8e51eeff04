"""Issue 19 case 3 (and case 8, second half): every way of tampering with a run folder fails verify with its own line.

Each test builds a real run folder with the real gate, tampers with it as an
adversarial operator would, and runs ``python -m phase4gate verify`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from phase4gate.adapters.manifest import intent_name
from phase4gate.adapters.store import EvidenceStore, sha256_file
from phase4gate.attest import ATTESTATION_NAME
from phase4gate.config import GateConfig
from phase4gate.gate import Gate
from phase4gate.journal import chain_problems, line_digest
from tests.conftest import HANG_GUARD_SECONDS
from tests.gate_helpers import Recorder, phase4gate


def make_run(root: Path, outcomes: dict[str, str] | None = None) -> Path:
    gate = Gate(GateConfig(), evidence_root=root, steps=Recorder(outcomes or {}).steps())
    gate.run()
    return gate.run_dir


def verify(run_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return phase4gate("verify", str(run_dir), *extra, cwd=run_dir.parent)


@pytest.fixture
def stopped_run(tmp_path: Path) -> Path:
    run_dir = make_run(tmp_path / "evidence", {"WP05": "failed"})
    clean = verify(run_dir)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "intact" in clean.stdout
    return run_dir


def test_forged_verdict_does_not_verify(stopped_run: Path) -> None:
    """Every step edited to passed, projections deleted: verify exits 1 naming the chain break; status is not 0."""
    journal = stopped_run / "journal.jsonl"
    forged = []
    for line in journal.read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "wp-result":
            event["result"].update(status="passed", stop_kind=None, stop_condition=None, reason="ok")
        forged.append(json.dumps(event, sort_keys=True))
    os.chmod(journal, 0o644)
    journal.write_text("\n".join(forged) + "\n")
    for name in ("report.json", "report.md", ATTESTATION_NAME):
        (stopped_run / name).unlink()
    result = verify(stopped_run)
    assert result.returncode == 1, result.stdout
    assert "NOT intact" in result.stdout
    assert "hash chain broken" in result.stdout
    status = phase4gate("status", str(stopped_run), cwd=stopped_run.parent)
    assert status.returncode == 1
    assert "hash chain broken" in status.stderr


def test_forged_verdict_with_a_recomputed_chain_still_fails(stopped_run: Path) -> None:
    """Re-chaining the forged journal does not help: its head is not the one sealed in the manifest."""
    journal = stopped_run / "journal.jsonl"
    prev = "sha256:" + "0" * 64
    forged = []
    for line in journal.read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "wp-result":
            event["result"].update(status="passed", stop_kind=None, stop_condition=None, reason="ok")
        event["prev"] = prev
        text = json.dumps(event, sort_keys=True)
        prev = line_digest(text)
        forged.append(text)
    assert chain_problems(forged) == []
    journal.write_text("\n".join(forged) + "\n")
    result = verify(stopped_run)
    assert result.returncode == 1
    assert "is not the head MANIFEST.sha256 sealed" in result.stdout


def test_deleted_attestation(stopped_run: Path) -> None:
    """The attestation is required."""
    (stopped_run / ATTESTATION_NAME).unlink()
    result = verify(stopped_run)
    assert result.returncode == 1
    assert f"{ATTESTATION_NAME}: missing" in result.stdout


def test_deleted_report_json(stopped_run: Path) -> None:
    """report.json is required."""
    (stopped_run / "report.json").unlink()
    result = verify(stopped_run)
    assert result.returncode == 1
    assert "report.json: missing" in result.stdout


def test_edited_report_md(stopped_run: Path) -> None:
    """report.md must be exactly what the journal projects."""
    md = stopped_run / "report.md"
    md.write_text(md.read_text().replace("stopped", "passed"))
    result = verify(stopped_run)
    assert result.returncode == 1
    assert "report.md: does not match what the sealed journal projects" in result.stdout


def test_evidence_file_made_writable(stopped_run: Path) -> None:
    """A write-once file chmod'ed to 0644, content unchanged: its own line."""
    os.chmod(stopped_run / "wp02" / "1" / "evidence.txt", 0o644)
    result = verify(stopped_run)
    assert result.returncode == 1
    assert "mode changed: wp02/1/evidence.txt: mode 0644, written 0444" in result.stdout
    assert "altered" not in result.stdout


def test_wp_folder_replaced_by_a_symlink(stopped_run: Path, tmp_path: Path) -> None:
    """A wpNN/ folder replaced by a symlink to an identical outside copy is refused, not followed."""
    outside = tmp_path / "outside-wp03"
    shutil.copytree(stopped_run / "wp03", outside)
    shutil.rmtree(stopped_run / "wp03")
    (stopped_run / "wp03").symlink_to(outside, target_is_directory=True)
    result = verify(stopped_run)
    assert result.returncode == 1
    assert "wp03: a folder replaced by a symlink (refused, not followed)" in result.stdout
    assert "wp03/1/evidence.txt: wp03 is a symlink (refused, not followed)" in result.stdout


def test_manifest_path_outside_the_run_folder_is_not_hashed(stopped_run: Path) -> None:
    """A manifest line naming ../../../../etc/hostname with its true digest is refused, never hashed."""
    target = Path("/etc/hostname")
    if not target.is_file():
        pytest.skip("this machine has no /etc/hostname to point at")
    rel = "../../../../etc/hostname"
    with (stopped_run / "MANIFEST.sha256").open("a") as fh:
        fh.write(f"{sha256_file(target)}  {rel}\n")
    result = verify(stopped_run)
    assert result.returncode == 1
    assert f"refused: {rel}: path outside the run folder (refused, not hashed)" in result.stdout


def test_journal_lines_removed(stopped_run: Path) -> None:
    """Cutting the journal short (chain still valid) is caught by the sealed head."""
    journal = stopped_run / "journal.jsonl"
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:-3]) + "\n")
    result = verify(stopped_run)
    assert result.returncode == 1
    assert "lines were removed" in result.stdout


def test_planted_file(stopped_run: Path) -> None:
    """A file nobody wrote through the store is 'extra file (planted)'."""
    (stopped_run / "wp02" / "1" / "bonus.txt").write_text("trust me\n")
    result = verify(stopped_run)
    assert result.returncode == 1
    assert "extra file (planted: never written by the gate): wp02/1/bonus.txt" in result.stdout


_KILLED_WRITER = """
import os, resource, signal, sys
from pathlib import Path
from phase4gate.adapters.store import EvidenceStore
store = EvidenceStore(Path(sys.argv[1]))
limit = int(sys.argv[2])
# The kernel kills this process (SIGXFSZ) at the first write past `limit` bytes: the
# manifest append, after the file was linked. A real kill between link and manifest.
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it by default
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
store.write_text("wp09/1/late.txt", "written, linked, never listed\\n")
print("not reached")
"""


def _kill_writer_at(run: Path, limit: int) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(run), str(limit)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert proc.returncode == -signal.SIGXFSZ, proc.stderr


def test_interrupted_write_is_told_apart_from_a_planted_file(stopped_run: Path) -> None:
    """A writer killed between os.link and the manifest append: 'interrupted write', not 'planted', not a failure."""
    _kill_writer_at(stopped_run, (stopped_run / "MANIFEST.sha256").stat().st_size)
    assert (stopped_run / "wp09" / "1" / "late.txt").is_file()
    assert "wp09/1/late.txt" not in (stopped_run / "MANIFEST.sha256").read_text()
    (stopped_run / "wp02" / "1" / "planted.txt").write_text("x\n")
    result = verify(stopped_run)
    assert "interrupted write (complete, digest matches the recorded intent): wp09/1/late.txt" in result.stdout
    assert "extra file (planted: never written by the gate): wp02/1/planted.txt" in result.stdout
    assert "late.txt" not in "\n".join(ln for ln in result.stdout.splitlines() if "planted" in ln)
    assert result.returncode == 1  # because of the planted file only
    (stopped_run / "wp02" / "1" / "planted.txt").unlink()
    assert verify(stopped_run).returncode == 0


def test_interrupted_write_whose_file_changed_is_planted(stopped_run: Path) -> None:
    """An intent does not cover a file whose bytes differ from the recorded digest."""
    store = EvidenceStore(stopped_run)
    intent = stopped_run / ".intent-test"
    digest = "a" * 64
    intent.write_text(f"{digest}  wp09/1/late.txt\n")
    store.path("wp09/1").mkdir(parents=True)
    (stopped_run / "wp09" / "1" / "late.txt").write_text("other bytes\n")
    result = verify(stopped_run)
    assert result.returncode == 1
    assert "extra file (planted: never written by the gate): wp09/1/late.txt" in result.stdout


def test_two_killed_writes_of_one_path_are_both_accounted_for(stopped_run: Path) -> None:
    """Killed before its link with some bytes, then after its link with others: 'interrupted', never 'planted'."""
    late = "wp09/1/late.txt"
    EvidenceStore(stopped_run).path("wp09/1").mkdir(parents=True)
    for digest in ("f" * 64, "0" * 64):  # a stale intent of another content sorts on either side
        stale = stopped_run / intent_name(late, digest)
        stale.write_bytes(b"an earlier write of it, killed before its link\n")
        _kill_writer_at(stopped_run, (stopped_run / "MANIFEST.sha256").stat().st_size)
        result = verify(stopped_run)
        assert f"interrupted write (complete, digest matches the recorded intent): {late}" in result.stdout
        assert "planted" not in result.stdout
        assert f"leftover temp file (a killed writer; no final file was affected): {stale.name}" in result.stdout
        assert result.returncode == 0
        (stopped_run / late).unlink()
        for p in stopped_run.glob(".intent-*"):
            p.unlink()


def test_an_interrupted_write_changed_after_the_kill_is_planted(stopped_run: Path) -> None:
    """The intent's name records the bytes' digest: a file changed after its writer died is not covered."""
    _kill_writer_at(stopped_run, (stopped_run / "MANIFEST.sha256").stat().st_size)
    late = stopped_run / "wp09" / "1" / "late.txt"
    (intent,) = [p for p in stopped_run.glob(".intent-*") if p.stat().st_ino == late.stat().st_ino]
    late.chmod(0o644)
    late.write_text("other bytes\n")  # the intent is the same file: its name still says the old digest
    result = verify(stopped_run)
    assert result.returncode == 1
    assert "extra file (planted: never written by the gate): wp09/1/late.txt" in result.stdout
    assert intent.exists()


def test_a_write_killed_before_its_link_is_written_again(stopped_run: Path) -> None:
    """Killed while writing its intent (no final name yet): the run verifies, and the same write succeeds later."""
    _kill_writer_at(stopped_run, 10)  # the intent's own write passes 10 bytes: killed before the link
    assert not (stopped_run / "wp09" / "1" / "late.txt").exists()
    (left,) = stopped_run.glob(".intent-*")
    first = verify(stopped_run)
    assert first.returncode == 0
    assert f"leftover temp file (a killed writer; no final file was affected): {left.name}" in first.stdout
    EvidenceStore(stopped_run).write_text("wp09/1/late.txt", "written, linked, never listed\n")
    EvidenceStore(stopped_run).flush()
    assert list(stopped_run.glob(".intent-*")) == []
    assert verify(stopped_run).returncode == 0
