"""One exit-code mapping: a step's exception keeps its ExitCode, and the run exits with the most severe.

Issue 20, case 6: a ``ConfigError`` raised inside a step (the e2e checkout is not
configured) was journalled as exit 2 while the run exited 3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from phase4gate.config import CanaryConfig, GateConfig, to_toml
from phase4gate.errors import ConfigError, ExitCode, GitHubError, most_severe
from phase4gate.gate import Gate, Step, StepContext
from phase4gate.models import StepOutcome, StepStatus
from phase4gate.sandbox.world import World
from tests.conftest import HANG_GUARD_SECONDS
from tests.gate_helpers import Recorder


def _raising(exc: Exception) -> Step:
    def run(_ctx: StepContext) -> StepOutcome:
        raise exc

    return run


def _gate(root: Path, **overrides: Step) -> Gate:
    steps = Recorder({}).steps()
    steps.update(overrides)
    return Gate(GateConfig(), evidence_root=root, steps=steps)


def test_config_error_in_a_step_is_exit_2_in_result_report_and_journal(tmp_path: Path) -> None:
    """WP04 raising ConfigError: the result keeps ExitCode.USAGE, the report exits 2, the journal says 2."""
    missing = ConfigError("is not set", field="canary.e2e_checkout")
    gate = _gate(tmp_path, WP04=_raising(missing))
    report = gate.run()
    wp04 = report.step("WP04")
    assert wp04 is not None
    assert wp04.status is StepStatus.ERROR
    assert wp04.exit_code is ExitCode.USAGE
    assert report.exit_code is ExitCode.USAGE
    lines = [json.loads(ln) for ln in (gate.run_dir / "journal.jsonl").read_text().splitlines()]
    journalled = [e["result"] for e in lines if e["event"] == "wp-result" and e["wp"] == "WP04"]
    assert journalled[-1]["exit_code"] == 2
    on_disk = json.loads((gate.run_dir / "report.json").read_text())
    assert next(s for s in on_disk["steps"] if s["wp"] == "WP04")["exit_code"] == 2


def test_an_adapter_error_stays_exit_3(tmp_path: Path) -> None:
    """A GitHubError in a step: ExitCode.INFRA in the result, exit 3."""
    report = _gate(tmp_path, WP02=_raising(GitHubError("GitHub answered 502"))).run()
    step = report.step("WP02")
    assert step is not None
    assert step.exit_code is ExitCode.INFRA
    assert report.exit_code is ExitCode.INFRA


def test_a_crash_is_exit_70(tmp_path: Path) -> None:
    """A bug (KeyError) in a step: ExitCode.INTERNAL, exit 70."""
    report = _gate(tmp_path, WP03=_raising(KeyError("x"))).run()
    step = report.step("WP03")
    assert step is not None
    assert step.exit_code is ExitCode.INTERNAL
    assert report.exit_code is ExitCode.INTERNAL


def test_the_most_severe_wins_between_parallel_steps(tmp_path: Path) -> None:
    """WP02 could not decide (3) while WP03 hit a configuration error (2): the run exits 2."""
    report = _gate(
        tmp_path, WP02=_raising(GitHubError("down")), WP03=_raising(ConfigError("bad", field="saas.base_url"))
    ).run()
    assert {s.wp: s.outcome_exit_code for s in report.steps if s.status is StepStatus.ERROR} == {
        "WP02": ExitCode.INFRA,
        "WP03": ExitCode.USAGE,
    }
    assert report.exit_code is ExitCode.USAGE


def test_returned_outcomes_imply_their_code(tmp_path: Path) -> None:
    """A step that returns error (no exception) is 3; a stop is 1; the codes are ExitCode members."""
    errored = Gate(GateConfig(), evidence_root=tmp_path / "a", steps=Recorder({"WP02": "error"}).steps()).run()
    stopped = Gate(GateConfig(), evidence_root=tmp_path / "b", steps=Recorder({"WP05": "failed"}).steps()).run()
    assert errored.exit_code is ExitCode.INFRA
    assert stopped.exit_code is ExitCode.STOPPED
    passed = Gate(GateConfig(), evidence_root=tmp_path / "c", steps=Recorder({}).steps()).run()
    assert passed.exit_code is ExitCode.PASSED


@pytest.mark.parametrize(
    ("codes", "worst"),
    [
        ([], ExitCode.PASSED),
        ([ExitCode.STOPPED, ExitCode.INFRA], ExitCode.INFRA),
        ([ExitCode.INFRA, ExitCode.USAGE, ExitCode.STOPPED], ExitCode.USAGE),
        ([ExitCode.USAGE, ExitCode.INTERNAL], ExitCode.INTERNAL),
    ],
)
def test_most_severe(codes: list[ExitCode], worst: ExitCode) -> None:
    """70 > 2 > 3 > 1 > 0."""
    assert most_severe(codes) is worst


def test_cli_run_with_no_e2e_checkout_exits_2(tmp_path: Path) -> None:
    """Through the real CLI on the sandbox: WP01-WP03 pass, WP04 finds no e2e checkout: exit 2, said so everywhere."""
    with World(tmp_path / "world") as world:
        config = world.config(tmp_path / "evidence")
        config = attrs.evolve(config, canary=attrs.evolve(config.canary, e2e_checkout=None))
        assert config.canary == attrs.evolve(CanaryConfig(), timeout_seconds=config.canary.timeout_seconds)
        (tmp_path / "gate.toml").write_text(to_toml(config), encoding="utf-8")
        env = {**os.environ, "GITHUB_TOKEN": world.github.token}
        result = subprocess.run(
            [sys.executable, "-m", "phase4gate", "run", "--config", str(tmp_path / "gate.toml"), "--until", "WP04"],
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_SECONDS * 5,
            cwd=tmp_path,
            env=env,
            check=False,
        )
    assert result.returncode == ExitCode.USAGE, result.stdout + result.stderr
    assert "| WP04 | error |" in result.stdout
    assert "canary.e2e_checkout: is not set" in result.stderr
    run_dir = next((tmp_path / "evidence").glob("*/journal.jsonl")).parent
    events = [json.loads(ln) for ln in (run_dir / "journal.jsonl").read_text().splitlines()]
    results = {e["wp"]: e["result"] for e in events if e["event"] == "wp-result"}
    assert [results[wp]["status"] for wp in ("WP01", "WP02", "WP03")] == ["passed"] * 3
    assert results["WP04"]["exit_code"] == 2
    status = subprocess.run(
        [sys.executable, "-m", "phase4gate", "status", str(run_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert status.returncode == ExitCode.USAGE, status.stderr
    assert json.loads(status.stdout)["exit_code"] == 2
