"""The bench row of issue 22: GitHub requests per Actions canary run, read from the journal."""

from __future__ import annotations

import json
import re
from pathlib import Path

from phase4gate.bench_actions import (
    MIN_ACTIONS_REQUESTS,
    actions_requests_lines,
    bench_actions,
    requests_per_run,
)


def _journal(tmp_path: Path, events: list[dict[str, object]]) -> Path:
    path = tmp_path / "journal.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + "{torn", encoding="utf-8")
    return path


def test_requests_per_run_reads_closed_canary_slots_only(tmp_path: Path) -> None:
    """Only closed WP04/WP05 slots count; 304s and logs/blobs are apart from the contract's kinds."""
    closed = {"dispatch": 1, "run": 2, "run_304": 7, "jobs": 3, "artifacts": 1, "download": 1, "logs": 1}
    journal = _journal(
        tmp_path,
        [
            {"event": "wp-action", "wp": "WP04", "actions": {"slot": "g-WP04-1", "state": "dispatched"}},
            {
                "event": "wp-action",
                "wp": "WP04",
                "actions": {"slot": "g-WP04-1", "state": "closed", "requests": closed},
            },
            {
                "event": "wp-action",
                "wp": "WP07",
                "actions": {"slot": "g-WP07-1", "state": "closed", "requests": closed},
            },
            {"event": "wp-result", "wp": "WP04"},
        ],
    )
    runs = requests_per_run(journal)
    assert [r.slot for r in runs] == ["g-WP04-1"]
    (run,) = runs
    assert (run.contract, run.not_modified, run.other) == (8, 7, 1)
    assert run.ratio == 8 / MIN_ACTIONS_REQUESTS
    lines = actions_requests_lines(runs)
    assert "min 1.60 / median 1.60 / max 1.60" in lines[1]
    assert actions_requests_lines([]) == ["actions requests per canary run: no closed canary slot in the journal"]


def test_bench_actions_runs_the_green_gate_on_actions() -> None:
    """The bench row runs the green Actions gate and prints the spread over its five canary runs."""
    lines = bench_actions()
    assert lines[0].startswith("actions requests per canary run (5 runs)"), lines
    ratio = re.search(r"min ([0-9.]+) / median ([0-9.]+) / max ([0-9.]+)", lines[1])
    assert ratio is not None, lines
    low, mid, high = (float(g) for g in ratio.groups())
    assert 1.0 <= low <= mid <= high, lines
