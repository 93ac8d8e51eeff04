"""Bench row (issue 22): GitHub requests per canary run on GitHub Actions, against the contract's minimum.

The green sandbox gate runs with ``[canary] executor = "github-actions"`` (WP04's one
run and WP05's four on the sandbox Actions runner).  Each run's requests are what its
executor journalled when it closed the run's slot (``wp-action`` ``actions.requests``,
counted by the executor's transport, by kind).  The minimum the contract needs per run
is one dispatch, one run read, one jobs list, one artifacts list and one artifact
download (:data:`MIN_ACTIONS_REQUESTS`); the logs download and the signed-URL fetches
(another origin) are printed apart, and so are the 304s (a conditional read GitHub does
not count against the rate limit).  Nothing here passes or fails: it prints figures.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

__all__ = ["MIN_ACTIONS_REQUESTS", "RunRequests", "actions_requests_lines", "bench_actions", "requests_per_run"]

# dispatch, run (>= 1 read), jobs, artifacts list, artifact download: the fewest a run can cost.
MIN_ACTIONS_REQUESTS: Final = 5
_CONTRACT_KINDS: Final = frozenset({"dispatch", "run", "jobs", "artifacts", "download"})


class RunRequests:
    """One canary run's GitHub requests by kind: those the contract needs, 304s, and the rest."""

    def __init__(self, slot: str, counts: Mapping[str, int]) -> None:
        self.slot = slot
        self.counts = dict(counts)
        self.not_modified = sum(n for k, n in counts.items() if k.endswith("_304"))
        self.contract = sum(n for k, n in counts.items() if k in _CONTRACT_KINDS)
        self.other = sum(n for k, n in counts.items() if k not in _CONTRACT_KINDS and not k.endswith("_304"))

    @property
    def ratio(self) -> float:
        """Requests the contract's kinds cost (200s), over the minimum."""
        return self.contract / MIN_ACTIONS_REQUESTS


def requests_per_run(journal: Path, wps: Sequence[str] = ("WP04", "WP05")) -> list[RunRequests]:
    """Return each closed canary slot's request counts from a run folder's journal, in order."""
    out: list[RunRequests] = []
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        info = event.get("actions") if isinstance(event, dict) else None
        if not isinstance(info, dict) or event.get("wp") not in wps or info.get("state") != "closed":
            continue
        counts = info.get("requests")
        if isinstance(counts, dict):
            out.append(RunRequests(str(info.get("slot")), {str(k): int(v) for k, v in counts.items()}))
    return out


def actions_requests_lines(runs: Sequence[RunRequests]) -> list[str]:
    """Return the bench's printed lines for *runs* (min / median / max over the runs)."""
    if not runs:
        return ["actions requests per canary run: no closed canary slot in the journal"]

    def spread(values: Sequence[float]) -> str:
        return f"min {min(values):.2f} / median {statistics.median(values):.2f} / max {max(values):.2f}"

    return [
        (
            f"actions requests per canary run ({len(runs)} runs) vs the minimum {MIN_ACTIONS_REQUESTS} "
            "(dispatch, run, jobs, artifacts, download):"
        ),
        f"  ratio            {spread([r.ratio for r in runs])}",
        f"  contract 200s    {spread([float(r.contract) for r in runs])}",
        f"  304s (free)      {spread([float(r.not_modified) for r in runs])}",
        f"  logs + blobs     {spread([float(r.other) for r in runs])}",
    ]


def bench_actions() -> list[str]:
    """Run the green gate with every canary run on the sandbox's Actions; return the printed lines."""
    from phase4gate.gate import Gate  # noqa: PLC0415
    from phase4gate.sandbox.world import World  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="phase4gate-bench-actions-") as scratch:
        root = Path(scratch)
        with World(root / "world", "actions-green") as world:
            gate = Gate(world.config(root / "evidence"), environ=world.environ(dict(os.environ)))
            report = gate.run()
        if report.exit_code != 0:
            return [f"actions requests per canary run: the green Actions gate did not pass (exit {report.exit_code})"]
        return actions_requests_lines(requests_per_run(gate.run_dir / "journal.jsonl"))
