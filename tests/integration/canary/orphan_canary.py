"""A canary runner whose child outlives a SIGKILLed gate and writes a passing run file later.

``python orphan_canary.py CONTROL`` in the e2e checkout; CONTROL is a folder of marker files.

* First call (gate A's run 1): note the start time, start a child in its own session
  (the orphan), write ``runner.pid``, then hang until killed.
* The orphan: write ``orphan.pid``, wait for ``resume-run-started``, then write a passing
  run file (``latest.json`` and ``runs/run-1.json``) stamped with gate A's start, and
  ``orphan.wrote``.
* Second call (the resumed gate's run 1): write ``resume-run-started``, wait a bounded
  while for ``orphan.wrote``, exit 1 without writing a run file of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

_BOUND_SECONDS = 20.0


def _wait_for(path: Path, bound: float = _BOUND_SECONDS) -> bool:
    deadline = time.monotonic() + bound
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.exists()


def _orphan(control: Path, started: str) -> int:
    (control / "orphan.pid").write_text(str(os.getpid()), encoding="utf-8")
    if not _wait_for(control / "resume-run-started", 90.0):
        return 0
    now = dt.datetime.now(dt.UTC).isoformat()
    scenarios = [
        {
            "scenario_id": i,
            "name": f"scenario-{i}",
            "status": "pass",
            "started_at": started,
            "finished_at": now,
            "duration_seconds": 1.0,
            "failure_reason": None,
        }
        for i in range(1, 5)
    ]
    doc = {
        "run_id": "01" + secrets.token_hex(12).upper(),
        "outcome": "pass",
        "cli_version": "spec-kitty-cli version 3.2.0rc16",
        "started_at": started,
        "finished_at": now,
        "scenarios": scenarios,
    }
    art = Path("artifacts") / "sync_identity_boundary"
    (art / "runs").mkdir(parents=True, exist_ok=True)
    for target in (art / "latest.json", art / "runs" / "run-1.json"):
        target.write_text(json.dumps(doc), encoding="utf-8")
    (control / "orphan.wrote").write_text(now, encoding="utf-8")
    return 0


def main(argv: list[str]) -> int:
    """Play the call this is (see the module docstring)."""
    control = Path(argv[0])
    if argv[1:2] == ["--orphan"]:
        return _orphan(control, argv[2])
    calls = control / "calls"
    n = int(calls.read_text(encoding="utf-8")) + 1 if calls.exists() else 1
    calls.write_text(str(n), encoding="utf-8")
    if n == 1:
        started = dt.datetime.now(dt.UTC).isoformat()
        (control / "started").write_text(started, encoding="utf-8")
        subprocess.Popen(
            [sys.executable, __file__, str(control), "--orphan", started],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (control / "runner.pid").write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(600)  # killed by the test with the gate
        return 1
    (control / "resume-run-started").write_text(str(os.getpid()), encoding="utf-8")
    _wait_for(control / "orphan.wrote")
    print("the resumed run failed before writing a run file", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
