"""A dry run of WP04/WP05 describes the canary without an e2e checkout (as before the canary seam)."""

from __future__ import annotations

from pathlib import Path

from phase4gate.config import GateConfig
from phase4gate.gate import Gate
from phase4gate.models import StepOutcome, StepStatus

_WP02 = {"rc_version": "3.2.0rc16", "rc_tag": "v3.2.0rc16", "rc_short": "rc16", "cli_bin_dir": ""}
_WP03 = {"saas_git_sha": "a" * 40, "saas_build_timestamp": "2026-11-20T10:00:00Z", "events_version": "5.1.0"}


def test_dry_run_needs_no_e2e_checkout(tmp_path: Path) -> None:
    """WP04 and WP05 say what they would run; nothing is refused for the missing checkout."""
    config = GateConfig()
    assert config.canary.e2e_checkout is None
    steps = {
        "WP01": lambda _c: StepOutcome.passed("dry run: blockers"),
        "WP02": lambda _c: StepOutcome.passed("dry run: rc", facts=_WP02),
        "WP03": lambda _c: StepOutcome.passed("dry run: saas", facts=_WP03),
    }
    report = Gate(config, evidence_root=tmp_path, steps=steps, dry_run=True, environ={}).run(until="WP05")
    for wp in ("WP04", "WP05"):
        step = report.step(wp)
        assert step is not None
        assert step.status is StepStatus.PASSED, step.reason
        assert step.reason.startswith("dry run: would reserve rc16"), step.reason
        assert "scripts/run-sync-identity-boundary-canary.sh --single --yes" in step.reason
    assert report.exit_code == 0
