"""Real step functions for engine tests: they write real evidence and record when they ran."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from phase4gate.gate import Step, StepContext
from phase4gate.models import StepOutcome, StopKind
from tests.conftest import HANG_GUARD_SECONDS

OUTCOMES = ("passed", "waiting", "failed", "error")


def phase4gate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI (``python -m phase4gate``) in *cwd*, capturing its output; never raises on its exit code."""
    return subprocess.run(
        [sys.executable, "-m", "phase4gate", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        cwd=cwd,
        check=False,
    )


class Recorder:
    """Builds steps with chosen outcomes and records the order they ran in."""

    def __init__(self, outcomes: Mapping[str, str]) -> None:
        self.outcomes = dict(outcomes)
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def step(self, wp: str) -> Step:
        def run(ctx: StepContext) -> StepOutcome:
            with self._lock:
                self.calls.append(wp)
            ref = ctx.store.write_text(ctx.evidence_path("evidence.txt"), f"{wp} ran in {ctx.run_id}\n")
            kind = self.outcomes.get(wp, "passed")
            if kind == "passed":
                return StepOutcome.passed(f"{wp} ok", facts={"wp": wp}, evidence=(ref,))
            if kind == "error":
                return StepOutcome.error(f"{wp} could not decide", evidence=(ref,))
            return StepOutcome.stopped(StopKind(kind), f"{wp} stop condition", f"{wp} observed {kind}", evidence=(ref,))

        return run

    def steps(self) -> dict[str, Step]:
        return {wp: self.step(wp) for wp in ("WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07", "WP08")}


def token_hits(root: Path, tokens: list[str]) -> list[str]:
    """Return every file under *root* holding one of *tokens* (shown shortened): evidence must hold none."""
    hits: list[str] = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits.extend(f"{path}: {t[:8]}..." for t in tokens if t.encode() in data)
    return hits
