"""Journal lines and run folders written the way the gate writes them (real models, the real converter)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from phase4gate import convert
from phase4gate.adapters.store import EvidenceStore
from phase4gate.config import GateConfig
from phase4gate.models import WP_IDS, StepResult, StepStatus, StopKind

T0 = dt.datetime(2026, 5, 20, 9, 0, tzinfo=dt.UTC)


def event(kind: str, **fields: Any) -> str:
    """One journal line, as ``Gate._journal`` writes it."""
    return json.dumps(convert.unstructure({"event": kind, **fields}), sort_keys=True)


def passed(wp: str, minute: int, **facts: Any) -> StepResult:
    at = T0 + dt.timedelta(minutes=minute)
    return StepResult(wp=wp, status=StepStatus.PASSED, reason=f"{wp} ok", started_at=at, finished_at=at, facts=facts)


def stopped(wp: str, minute: int, kind: StopKind, reason: str, **facts: Any) -> StepResult:
    at = T0 + dt.timedelta(minutes=minute)
    return StepResult(
        wp=wp,
        status=StepStatus.STOPPED,
        reason=reason,
        started_at=at,
        finished_at=at,
        stop_kind=kind,
        stop_condition="a stop condition",
        facts=facts,
    )


def journal(run_id: str, results: list[StepResult], *, end: bool = True, config: GateConfig | None = None) -> list[str]:
    """A whole invocation: gate-start (with the configuration), each result, gate-end."""
    lines = [
        event(
            "gate-start",
            run_id=run_id,
            time=T0,
            dry_run=False,
            requested=list(WP_IDS),
            resumed=False,
            config=config or GateConfig(),
        )
    ]
    for r in results:
        lines.append(event("wp-start", wp=r.wp, time=r.started_at, attempt=1))
        lines.append(event("wp-result", wp=r.wp, result=r, time=r.finished_at))
    if end:
        lines.append(event("gate-end", time=T0 + dt.timedelta(hours=1)))
    return lines


def write_run(root: Path, run_id: str, lines: list[str], run_files: Mapping[str, object] | None = None) -> Path:
    """Write a run folder: run files through the store (write-once, in the manifest), the journal as given.

    The journal is written byte for byte, not through the store: these are the journals
    a reader meets (torn, mangled, from other versions), which the store would refuse to write.
    """
    store = EvidenceStore(root / run_id)
    for rel, data in (run_files or {}).items():
        store.write_json(rel, data)
    (store.root / "journal.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return store.root


def run_file(statuses: dict[int, str], *, reasons: dict[int, str] | None = None) -> dict[str, object]:
    """A run file in the harness's spelling."""
    reasons = reasons or {}
    return {
        "run_id": "01M8RASBQ32H1JE4VDERMD60Q6",
        "outcome": "pass" if all(s == "pass" for s in statuses.values()) else "fail",
        "cli_version": "spec-kitty-cli version 3.2.0rc16",
        "started_at": T0.isoformat(),
        "finished_at": T0.isoformat(),
        "scenarios": [
            {"scenario_id": sid, "name": f"scenario-{sid}", "status": st, "failure_reason": reasons.get(sid)}
            for sid, st in statuses.items()
        ],
    }
