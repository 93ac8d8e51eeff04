"""WP03 against the SaaS emulator: every state gives the expected result and stop kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from phase4gate.checks.health import saas_changed
from phase4gate.config import GateConfig
from phase4gate.errors import SaaSError
from phase4gate.gate import Gate, StepContext
from phase4gate.models import StepStatus, StopKind
from phase4gate.sandbox.saas import STATES, SaaSEmulator
from phase4gate.steps import wp03

EXPECTED = {
    "healthy": (StepStatus.PASSED, None, "SaaS ready"),
    "redeployed": (StepStatus.PASSED, None, "SaaS ready"),
    "not-ready": (StepStatus.STOPPED, StopKind.WAITING, "/health/ready/ answered 503"),
    "degraded": (StepStatus.STOPPED, StopKind.WAITING, "drain queue is degraded"),
    "counts-off": (StepStatus.STOPPED, StopKind.FAILED, "business_rule_rejected_count is 23, expected exactly 22"),
    "events-too-old": (StepStatus.STOPPED, StopKind.WAITING, "events package 5.0.2 is older than the required 5.1.0"),
    "503": (StepStatus.STOPPED, StopKind.WAITING, "/health/ answered 503"),
    "malformed": (StepStatus.STOPPED, StopKind.FAILED, "/health/ body is not JSON"),
}


def test_every_state_is_covered() -> None:
    """Each emulator state has a test below (slow is tested on its own)."""
    assert set(STATES) == {*EXPECTED, "slow"}


@pytest.mark.parametrize("state", sorted(EXPECTED))
def test_wp03_in_each_state(
    state: str, saas: SaaSEmulator, evidence_root: Path, saas_config: Callable[..., GateConfig]
) -> None:
    """The gate's WP03 result, stop kind and reason follow the SaaS state; only GETs are sent."""
    saas.set_state(state)
    report = Gate(saas_config(saas), evidence_root=evidence_root).run(only="WP03")
    result = report.step("WP03")
    assert result is not None
    status, kind, text = EXPECTED[state]
    assert (result.status, result.stop_kind) == (status, kind), result.reason
    assert text in result.reason
    assert {r.method for r in saas.requests} == {"GET"}
    assert saas.count("GET", "/health/") >= 1
    paths = {ref.path.rsplit("/", 1)[-1] for ref in result.evidence}
    assert {"health.body", "health.json", "ready.body", "ready.json", "preflight.json"} <= paths


def test_wp03_pass_records_the_contract_facts(
    saas: SaaSEmulator, tmp_path: Path, saas_config: Callable[..., GateConfig], make_ctx: Callable[..., StepContext]
) -> None:
    """A pass records exactly the facts later WPs read."""
    outcome = wp03.run(make_ctx(saas_config(saas), tmp_path))
    assert outcome.status is StepStatus.PASSED
    assert set(outcome.facts) == {
        "saas_git_sha",
        "saas_build_timestamp",
        "saas_version",
        "saas_environment",
        "events_version",
        "health_status",
        "ready_status",
        "terminal_failed_count",
        "business_rule_rejected_count",
        "preflight_at",
    }
    assert outcome.facts["saas_git_sha"] == saas.git_sha
    assert (outcome.facts["terminal_failed_count"], outcome.facts["business_rule_rejected_count"]) == (0, 22)
    kept = json.loads((tmp_path / "run-1" / "wp03/1/health.json").read_text())
    assert kept["status"] == 200
    assert json.loads(kept["body"])["git_sha"] == saas.git_sha
    agents = {next(v for k, v in r.headers.items() if k.lower() == "user-agent") for r in saas.requests}
    assert len(agents) == 1
    assert agents.pop().startswith("phase4gate/")


def test_redeployed_state_is_seen_by_saas_changed(
    saas: SaaSEmulator, tmp_path: Path, saas_config: Callable[..., GateConfig], make_ctx: Callable[..., StepContext]
) -> None:
    """After the preflight in state 'redeployed', the next /health/ body differs and saas_changed says so."""
    saas.set_state("redeployed")
    outcome = wp03.run(make_ctx(saas_config(saas), tmp_path))
    assert outcome.status is StepStatus.PASSED
    assert saas_changed(outcome.facts, saas.health_body()) is not None
    assert outcome.facts["saas_git_sha"] != saas.git_sha


def test_slow_state_is_could_not_decide(
    saas: SaaSEmulator, evidence_root: Path, saas_config: Callable[..., GateConfig]
) -> None:
    """A SaaS slower than the read timeout is an error (exit 3), never a pass."""
    saas.slow_seconds = 1.0
    saas.set_state("slow")
    report = Gate(saas_config(saas, read_timeout_seconds=0.2), evidence_root=evidence_root).run(only="WP03")
    result = report.step("WP03")
    assert result is not None
    assert result.status is StepStatus.ERROR
    assert "read timed out" in result.reason
    assert report.exit_code == 3


def test_unreachable_saas_raises_saas_error(
    tmp_path: Path, saas_config: Callable[..., GateConfig], make_ctx: Callable[..., StepContext]
) -> None:
    """Nothing listening: SaaSError naming the URL."""
    with SaaSEmulator() as gone:
        url = gone.base_url
    config = attrs.evolve(GateConfig(), saas=attrs.evolve(GateConfig().saas, base_url=url, retries=0))
    with pytest.raises(SaaSError, match="connection refused") as excinfo:
        wp03.run(make_ctx(config, tmp_path))
    assert excinfo.value.url == f"{url}/health/"
