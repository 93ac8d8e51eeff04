"""Issue 19 case 6: a full disk or a killed append never leaves a dead run.

Journal appends are whole lines or nothing; a torn last line (from a real truncated
append) is reported and set aside by resume, verify and status; a run stopped by a
full disk resumes once there is space again.  Disks are real: a small tmpfs (we
mount it; skipped with the reason when that is not allowed) or ``RLIMIT_FSIZE``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from phase4gate.adapters.store import EvidenceStore
from phase4gate.config import GateConfig
from phase4gate.errors import EvidenceError
from phase4gate.gate import Gate, StepContext
from phase4gate.journal import chain_problems, read_journal_file
from phase4gate.models import StepOutcome, StepStatus
from phase4gate.verify import verify_run
from tests.conftest import HANG_GUARD_SECONDS
from tests.gate_helpers import Recorder

_MAX_FILL_CHUNKS = 100_000


def _mount(mnt: Path, size: str, *, remount: bool = False) -> subprocess.CompletedProcess[str]:
    opts = f"remount,size={size}" if remount else f"size={size}"
    argv = ["mount", "-o", opts, str(mnt)] if remount else ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(mnt)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=HANG_GUARD_SECONDS, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, unmounted afterwards."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        mounted = _mount(mnt, "1m")
    except FileNotFoundError:
        pytest.skip("no mount(8) here to make a small disk")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=HANG_GUARD_SECONDS, check=False)


def fill(disk: Path) -> None:
    """Write a filler file until the disk is full."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (65536, 4096, 512, 1):
            for _ in range(_MAX_FILL_CHUNKS):
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)


def assert_whole_lines(journal: Path) -> list[str]:
    data = journal.read_bytes()
    assert data.endswith(b"\n"), "the journal ends in a torn line"
    lines = data.decode().splitlines()
    for line in lines:
        json.loads(line)
    assert chain_problems(lines) == []
    return lines


def test_append_on_a_full_disk_is_whole_or_nothing(small_disk: Path) -> None:
    """A journal append that only partly fits: EvidenceError, and the journal is exactly as before."""
    store = EvidenceStore(small_disk / "run")
    for i in range(3):
        store.append_event({"event": "wp-start", "wp": "WP01", "attempt": i})
    journal = small_disk / "run" / "journal.jsonl"
    before = journal.read_bytes()
    fill(small_disk)
    st = journal.stat()
    slack = st.st_blocks * 512 - st.st_size  # what still fits in the journal's own pages
    with pytest.raises(EvidenceError, match="cannot append to journal.jsonl: No space left on device"):
        store.append_event({"event": "wp-action", "wp": "WP01", "action": "x" * (slack + 4096)})
    assert journal.read_bytes() == before
    (small_disk / "filler").unlink()
    store.append_event({"event": "wp-action", "wp": "WP01", "action": "after space came back"})
    assert len(assert_whole_lines(journal)) == 4


def test_run_on_a_disk_that_fills_up_resumes_after_remount(small_disk: Path, tmp_path: Path) -> None:
    """The disk fills during WP04: the run stops with a clear error; after a bigger remount, --resume finishes it."""
    once = tmp_path / "filled-once"

    def wp04(ctx: StepContext) -> StepOutcome:
        if not once.exists():
            once.write_text("")
            fill(small_disk)
        ref = ctx.store.write_bytes(ctx.evidence_path("big.bin"), b"\1" * 65536)
        return StepOutcome.passed("WP04 ok", evidence=(ref,))

    steps = {**Recorder({}).steps(), "WP04": wp04}
    root = small_disk / "evidence"
    gate = Gate(GateConfig(), evidence_root=root, steps=steps)
    outcome: str
    try:
        report = gate.run()
    except EvidenceError as exc:
        outcome = str(exc)
        assert "No space left on device" in outcome
    else:
        # The journal had room for WP04's error result; the step itself could not write.
        assert report.step("WP04") is not None
        assert report.step("WP04").status is StepStatus.ERROR  # type: ignore[union-attr]
        outcome = report.step("WP04").reason  # type: ignore[union-attr]
        assert "No space left on device" in outcome
    assert_whole_lines(gate.run_dir / "journal.jsonl")
    remounted = _mount(small_disk, "16m", remount=True)
    assert remounted.returncode == 0, remounted.stderr
    resumed = Gate(GateConfig(), evidence_root=root, steps=steps, resume=gate.run_id)
    report = resumed.run()
    assert report.verdict is StepStatus.PASSED
    assert_whole_lines(gate.run_dir / "journal.jsonl")
    findings = verify_run(gate.run_dir)
    assert findings.ok, findings.render()


_TRUNCATED_APPEND = """
import os, resource, sys
path, limit, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
# One os.write, its short count ignored: how the journal was appended before issue 19.
print(os.write(fd, (line + "\\n").encode()))
"""


def torn_append(journal: Path, keep: int) -> int:
    """Append a line of which the kernel writes only *keep* bytes (RLIMIT_FSIZE); return bytes written."""
    line = json.dumps({"event": "wp-start", "wp": "WP09", "padding": "p" * 200})
    limit = journal.stat().st_size + keep
    proc = subprocess.run(
        [sys.executable, "-c", _TRUNCATED_APPEND, str(journal), str(limit), line],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=True,
    )
    return int(proc.stdout)


def test_torn_last_line_is_reported_and_set_aside(tmp_path: Path) -> None:
    """A real truncated append: status and verify report it and go on; resume moves it aside and continues."""
    root = tmp_path / "evidence"
    steps = Recorder({"WP05": "failed"}).steps()
    gate = Gate(GateConfig(), evidence_root=root, steps=steps)
    gate.run()
    journal = gate.run_dir / "journal.jsonl"
    complete = journal.read_bytes()
    assert torn_append(journal, 40) == 40
    assert not journal.read_bytes().endswith(b"\n")
    assert read_journal_file(journal).torn_bytes == 40

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "phase4gate", *args, "--evidence-root", str(root)],
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_SECONDS,
            cwd=tmp_path,
            check=False,
        )

    status = cli("status", gate.run_id)
    assert status.returncode == 1  # the run's own exit code (WP05 stopped)
    assert "torn last line (40 bytes without a newline" in status.stderr
    assert "Traceback" not in status.stderr
    verified = cli("verify", gate.run_id)
    assert verified.returncode == 0, verified.stdout
    assert "note: " in verified.stdout
    assert "torn last line" in verified.stdout
    lines_before = len(complete.splitlines())
    resumed = Gate(GateConfig(), evidence_root=root, steps=Recorder({}).steps(), resume=gate.run_id)
    assert resumed.run().verdict is StepStatus.PASSED
    lines = assert_whole_lines(journal)
    assert journal.read_bytes().startswith(complete)
    assert len(lines) > lines_before
    (aside,) = gate.run_dir.glob("journal-torn-*.bin")
    assert aside.read_bytes() == json.dumps({"event": "wp-start", "wp": "WP09", "padding": "p" * 200}).encode()[:40]
    findings = verify_run(gate.run_dir)
    assert findings.ok, findings.render()


_STORE_APPEND = """
import resource, sys
from pathlib import Path
from phase4gate.adapters.store import EvidenceStore
from phase4gate.errors import EvidenceError
store = EvidenceStore(Path(sys.argv[1]))
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
try:
    store.append_event({"event": "wp-action", "wp": "WP01", "action": "y" * 500})
except EvidenceError as exc:
    print(exc)
"""


def test_store_append_detects_a_short_write(tmp_path: Path) -> None:
    """The store's append under a file-size limit: a short write, detected and undone, with a clear error."""
    store = EvidenceStore(tmp_path / "run")
    store.append_event({"event": "wp-start", "wp": "WP01"})
    journal = tmp_path / "run" / "journal.jsonl"
    before = journal.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-c", _STORE_APPEND, str(tmp_path / "run"), str(len(before) + 100)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=True,
    )
    assert "cannot append to journal.jsonl: File too large; nothing of the entry was kept" in proc.stdout
    assert journal.read_bytes() == before
    with contextlib.suppress(FileNotFoundError):
        assert not list((tmp_path / "run").glob("journal-torn-*"))
