"""Build an evidence root with real gate runs across release candidates on one sandbox world.

The series, in order (each a real ``Gate.run`` through the emulators, repositories and
subprocesses):

* ``waiting``: rc16 while the SaaS answers 503 on ``/health/ready/`` (WP03 waiting);
* ``unknown``: rc16, scenario 1 fails with "Batch sync failed (400)" (WP04 failed, a new
  signature, nothing re-opened);
* ``known``: rc16, scenario 4 fails with #1141's rollback-peek signature (WP04 failed,
  #1141 re-opened);
* ``blocked``: #1141 is open, so WP01 waits before any RC is resolved;
* then #1141 is closed again by its fix and rc17 is published: ``green`` clears the gate.

Afterwards the root gets what real roots collect: an event of a type this reader does
not know (a newer writer), a torn last journal line (a writer killed mid-append), a
damaged run folder (a bad line inside its journal) and a foreign folder (no journal).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from attrs import frozen

from phase4gate.gate import Gate
from phase4gate.models import GateReport
from phase4gate.sandbox.e2e import SIGNATURE_TEXTS, UNKNOWN_SIGNATURE_TEXT, canary_state
from phase4gate.sandbox.github_seed import close_with_commit
from phase4gate.sandbox.world import CLI_REPO, World

UNKNOWN_EVENT = '{"event": "checkpoint-v2", "prev": "0" , "time": "2026-12-01T00:00:00+00:00"}'
TORN_LINE = '{"event": "wp-start", "wp": "WP01", "ti'


@frozen
class Series:
    """The evidence root and the report of each gate run in it, by label."""

    root: Path
    reports: dict[str, GateReport]
    run_dirs: dict[str, Path]


def _now() -> str:
    # After the gate's own re-open (stamped with the emulator's clock), as a real re-close would be.
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run(world: World, root: Path, label: str, reports: dict[str, GateReport], dirs: dict[str, Path]) -> None:
    gate = Gate(world.config(root), evidence_root=root, environ=world.environ(dict(os.environ)))
    reports[label] = gate.run()
    dirs[label] = gate.run_dir


def build_series(base: Path) -> Series:
    """Run the series in a world under *base*; return the evidence root and the reports."""
    root = base / "evidence"
    reports: dict[str, GateReport] = {}
    dirs: dict[str, Path] = {}
    with World(base / "world", "green") as world:
        world.saas.set_state("not-ready")
        _run(world, root, "waiting", reports, dirs)
        world.saas.set_state("healthy")
        world.saas.extra["canary"] = canary_state(fail={1: UNKNOWN_SIGNATURE_TEXT})
        _run(world, root, "unknown", reports, dirs)
        world.saas.extra["canary"] = canary_state(fail={4: SIGNATURE_TEXTS["rollback-peek"]})
        _run(world, root, "known", reports, dirs)
        _run(world, root, "blocked", reports, dirs)
        with world.github.lock:
            close_with_commit(world.github.state, CLI_REPO, 1141, world.commits["cli:substantive"], at=_now())
        world.publish_rc("3.2.0rc17")
        _run(world, root, "green", reports, dirs)
    with (dirs["waiting"] / "journal.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(UNKNOWN_EVENT + "\n")
    with (dirs["blocked"] / "journal.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(TORN_LINE)
    damaged = root / "20260101T000000Z-dead"
    damaged.mkdir()
    lines = (dirs["unknown"] / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    (damaged / "journal.jsonl").write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n", encoding="utf-8")
    foreign = root / "notes"
    foreign.mkdir()
    (foreign / "README.txt").write_text("operator notes, not a gate run\n", encoding="utf-8")
    shutil.rmtree(base / "world", ignore_errors=True)
    return Series(root, reports, dirs)
