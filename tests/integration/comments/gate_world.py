"""A gate whose WP01-WP05 and WP07 are stand-ins recording the real facts' shapes, for WP06/WP08 tests.

The stand-ins write real run files into a real reserved attempt folder and seal it,
exactly where WP05 puts them (``<rc short>-attempt<N>/runs/run-N.json``); WP06 and
WP08 are the real steps, talking to the GitHub emulator through the real client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import attrs

from phase4gate.adapters.store import reserve_attempt
from phase4gate.config import CommentsConfig, GateConfig, GitHubConfig, SaaSConfig
from phase4gate.gate import Gate, Step, StepContext
from phase4gate.models import FactValue, StepOutcome
from phase4gate.progress import Progress
from phase4gate.sandbox.github_api import GitHubEmulator

RC_COMMIT = "0123456789abcdef0123456789abcdef01234567"
SAAS_SHA = "fedcba9876543210fedcba9876543210fedcba98"
FLY_IMAGE = "registry.fly.io/spec-kitty-dev:deployment-01JX"

FACTS: Mapping[str, Mapping[str, FactValue]] = {
    "WP01": {"blockers": "1141,1182"},
    "WP02": {"rc_version": "3.2.0rc16", "rc_tag": "v3.2.0rc16", "rc_short": "rc16", "rc_commit": RC_COMMIT},
    "WP03": {
        "saas_git_sha": SAAS_SHA,
        "saas_build_timestamp": "2026-05-20T09:54:00Z",
        "events_version": "5.1.0",
        "health_status": 200,
        "ready_status": 200,
        "terminal_failed_count": 0,
        "business_rule_rejected_count": 22,
    },
    "WP07": {"teamspace_runs_passed": 4, "teamspace_logs": "wp07/1/teamspace-run-1.log"},
}


def run_file(n: int, *, failed_scenario: int | None = None) -> dict[str, object]:
    scenarios = [
        {
            "scenario_id": s,
            "name": f"scenario-{s}",
            "status": "fail" if s == failed_scenario else "pass",
            "started_at": "2026-05-20T10:00:00+00:00",
            "finished_at": "2026-05-20T10:01:00+00:00",
            "duration_seconds": 60.0,
            "failure_reason": "boom" if s == failed_scenario else None,
            "boundary_evidence": {"rows": [n, s]},
        }
        for s in (1, 2, 3, 4)
    ]
    return {
        "run_id": f"01JX0000000000000000000{n:03d}",
        "outcome": "fail" if failed_scenario else "pass",
        "cli_version": "spec-kitty-cli version 3.2.0rc16",
        "events_package_version": "5.1.0",
        "started_at": "2026-05-20T10:00:00+00:00",
        "finished_at": "2026-05-20T10:05:00+00:00",
        "saas_url": "http://127.0.0.1:1",
        "scenarios": scenarios,
    }


def _fixed(wp: str) -> Step:
    def run(_ctx: StepContext) -> StepOutcome:
        return StepOutcome.passed(f"{wp} stand-in", facts=FACTS[wp])

    return run


def _wp05(ctx: StepContext) -> StepOutcome:
    attempt = reserve_attempt(ctx.evidence_root, ctx.store.root, "rc16")
    refs = [
        ctx.store.write_text(f"{attempt}/runs/run-{n}.json", json.dumps(run_file(n), indent=2) + "\n")
        for n in (1, 2, 3, 4)
    ]
    refs.append(ctx.store.seal(attempt))
    files = ",".join(f"{attempt}/runs/run-{n}.json" for n in (1, 2, 3, 4))
    return StepOutcome.passed(
        "4/4 stand-in",
        facts={"attempt_dir": attempt, "runs_passed": 4, "cells_passed": 16, "run_files": files},
        evidence=tuple(refs),
    )


def _wp04(_ctx: StepContext) -> StepOutcome:
    return StepOutcome.passed("stand-in", facts={"attempt_dir": "rc16-single-attempt1"})


STAND_INS: Mapping[str, Step] = {
    "WP01": _fixed("WP01"),
    "WP02": _fixed("WP02"),
    "WP03": _fixed("WP03"),
    "WP04": _wp04,
    "WP05": _wp05,
    "WP07": _fixed("WP07"),
}


def gate_config(github: GitHubEmulator, *, fly_image: str | None = FLY_IMAGE) -> GateConfig:
    """The default config pointed at the emulator; no retries and no write spacing (nothing sleeps)."""
    base = GateConfig()
    return attrs.evolve(
        base,
        github=GitHubConfig(api_url=github.api_url, max_retries=0),
        saas=SaaSConfig(fly_image=fly_image),
        comments=CommentsConfig(min_write_interval_seconds=0.0),
    )


def make_gate(
    github: GitHubEmulator,
    evidence_root: Path,
    *,
    config: GateConfig | None = None,
    resume: str | None = None,
    dry_run: bool = False,
    steps: Mapping[str, Step] | None = None,
    progress: Progress | None = None,
) -> Gate:
    return Gate(
        config or gate_config(github),
        evidence_root=evidence_root,
        resume=resume,
        dry_run=dry_run,
        environ={"GITHUB_TOKEN": github.token},
        steps=dict(steps if steps is not None else STAND_INS),
        progress=progress,
    )
