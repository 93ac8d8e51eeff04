"""Tamper evidence over random edits (hypothesis): any changed journal byte fails verify.

Issue 19: "the journal is hash-chained ... verify recomputes the chain". Whatever
single byte of whatever journal line is replaced, ``verify`` is not intact.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from phase4gate.config import GateConfig
from phase4gate.gate import Gate
from phase4gate.verify import verify_run
from tests.gate_helpers import Recorder

_TEMPLATE: dict[str, Path] = {}


def _template() -> Path:
    """One finished run folder, made once and copied per example."""
    if "run" not in _TEMPLATE:
        root = Path(tempfile.mkdtemp(prefix="p4g-journal-prop-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        gate = Gate(GateConfig(), evidence_root=root, steps=Recorder({"WP06": "failed"}).steps())
        gate.run()
        assert verify_run(gate.run_dir).ok
        _TEMPLATE["run"] = gate.run_dir
    return _TEMPLATE["run"]


@given(position=st.floats(min_value=0, max_value=1, exclude_max=True), byte=st.integers(0x20, 0x7E))
def test_any_changed_journal_byte_fails_verify(position: float, byte: int) -> None:
    """Replacing one byte of the journal (never a newline) with another printable byte: NOT intact."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        shutil.copytree(_template(), run_dir, symlinks=True)
        journal = run_dir / "journal.jsonl"
        data = bytearray(journal.read_bytes())
        candidates = [i for i, b in enumerate(data) if b != ord("\n") and b != byte]
        i = candidates[int(position * len(candidates))]
        data[i] = byte
        journal.write_bytes(bytes(data))
        findings = verify_run(run_dir)
        assert not findings.ok, f"byte {i} changed to {chr(byte)!r} went unnoticed"
