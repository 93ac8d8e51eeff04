"""WP01 end to end: the GitHub emulator links the blockers to the fixture's fix commits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from phase4gate.config import AuditConfig, BlockerConfig, GateConfig, GitHubConfig
from phase4gate.gate import Gate
from phase4gate.models import StepResult, StepStatus, StopKind
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO, default_seed
from phase4gate.steps.wp01 import CONDITION_LOGGING_ONLY, CONDITION_NOT_SUBSTANTIVE
from tests.integration.audit.conftest import AuditWorld

RunWp01 = Callable[..., tuple[StepResult, Path, str]]


@pytest.fixture
def run_wp01(audit_world: AuditWorld, blocker_1141: BlockerConfig, tmp_path: Path) -> Iterator[RunWp01]:
    """Run WP01 against an emulator seeded with the given fixes; returns the step result and the run folder."""
    servers: list[GitHubEmulator] = []

    def run(
        fixes: Mapping[int, str],
        *,
        sibling: Mapping[int, str] | None = None,
        checkouts: Mapping[str, str] | None = None,
        dry_run: bool = False,
        proof: bool = True,
    ) -> tuple[StepResult, Path, str]:
        gh = GitHubEmulator(default_seed(fixes, sibling_fixes=sibling)).start()
        servers.append(gh)
        default_checkouts = {CLI_REPO: str(audit_world.cli.path), E2E_REPO: str(audit_world.e2e.path)}
        config = GateConfig(
            github=GitHubConfig(api_url=gh.api_url, max_retries=0),
            blockers=(blocker_1141, BlockerConfig(number=1182)),
            audit=AuditConfig(checkouts=dict(default_checkouts if checkouts is None else checkouts), proof=proof),
        )
        environ = {"GITHUB_TOKEN": gh.token, "PHASE4GATE_CACHE_DIR": str(audit_world.cache)}
        gate = Gate(config, evidence_root=tmp_path / f"ev{len(servers)}", environ=environ, dry_run=dry_run)
        report = gate.run(only="WP01")
        step = report.step("WP01")
        assert step is not None
        return step, gate.run_dir, gh.token

    yield run
    for gh in servers:
        gh.stop()


def evidence_text(run_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file())


def test_two_blocker_squash_stops_on_1141_logging_only(run_wp01: RunWp01, audit_world: AuditWorld) -> None:
    """The squash closes both; #1141 is logging-only in its focus, and WP01 stops naming it."""
    commits = audit_world.cli.commits
    step, run_dir, token = run_wp01({1141: commits["two-blocker-squash"], 1182: commits["substantive"]})
    assert step.status is StepStatus.STOPPED
    assert step.stop_kind is StopKind.FAILED
    assert step.stop_condition == CONDITION_LOGGING_ONLY
    assert step.reason.startswith(f"#1141 {CLI_REPO}@{commits['two-blocker-squash'][:12]}: logging-only")
    assert step.facts["blocker_1141_verdict"] == "logging-only"
    assert step.facts["blocker_1182_verdict"] == "substantive"
    assert step.facts["cli_fix_commits"] == commits["substantive"]
    assert step.facts["blockers"] == "1141,1182"
    audit = json.loads(next(run_dir.rglob("blocker-1141-*.audit.json")).read_text())
    assert audit["verdict"] == "logging-only"
    assert any(p.name == "without-fix.log" for p in run_dir.rglob("*"))
    assert token not in evidence_text(run_dir)


def test_sibling_fix_after_reopen_passes(run_wp01: RunWp01, audit_world: AuditWorld) -> None:
    """#1141 re-opened and closed again by the e2e harness fix: audited in that repository, proven, passed."""
    commits = audit_world.cli.commits
    harness = audit_world.e2e.commits["harness-fix"]
    step, _run_dir, _ = run_wp01(
        {1141: commits["two-blocker-squash"], 1182: commits["substantive"]}, sibling={1141: harness}
    )
    assert step.status is StepStatus.PASSED, step.reason
    assert step.facts["blocker_1141_closer"] == f"{E2E_REPO}@{harness}"
    assert step.facts["blocker_1141_verdict"] == "substantive"
    assert step.facts["cli_fix_commits"] == commits["substantive"]
    assert "proven by tests that fail without them" in step.reason


def test_open_blocker_waits(run_wp01: RunWp01, audit_world: AuditWorld) -> None:
    """A blocker with no fix stays open: WP01 waits and names it."""
    step, _, _ = run_wp01({1182: audit_world.cli.commits["substantive"]})
    assert step.status is StepStatus.STOPPED
    assert step.stop_kind is StopKind.WAITING
    assert f"{CLI_REPO}#1141" in step.reason


def test_unproven_fix_stops_with_its_verdict(run_wp01: RunWp01, audit_world: AuditWorld) -> None:
    """A fix whose tests only fail on a new name stops WP01 with that verdict."""
    commits = audit_world.cli.commits
    step, _, _ = run_wp01({1141: commits["missing-name"], 1182: commits["substantive"]})
    assert step.stop_condition == CONDITION_NOT_SUBSTANTIVE
    assert step.facts["blocker_1141_verdict"] == "proof-only-missing-name"


def test_missing_checkout_cannot_decide(run_wp01: RunWp01, audit_world: AuditWorld) -> None:
    """No checkout for the closer's repository: "could not decide" (error), naming the setting."""
    commits = audit_world.cli.commits
    step, _, _ = run_wp01({1141: commits["substantive"], 1182: commits["substantive"]}, checkouts={})
    assert step.status is StepStatus.ERROR
    assert "no checkout configured for Priivacy-ai/spec-kitty" in step.reason
    assert "audit.checkouts" in step.reason
    assert step.facts["exit_code"] == 3


def test_dry_run_classifies_without_proof(run_wp01: RunWp01, audit_world: AuditWorld) -> None:
    """A dry run builds no environment: it classifies, says so, and keeps no proof logs."""
    commits = audit_world.cli.commits
    step, run_dir, _ = run_wp01({1141: commits["substantive"], 1182: commits["substantive"]}, dry_run=True)
    assert step.status is StepStatus.PASSED
    assert step.reason.startswith("dry run:")
    assert not any(p.name.endswith(".log") for p in run_dir.rglob("*"))


def test_proof_disabled_passes_on_test_backing(run_wp01: RunWp01, audit_world: AuditWorld) -> None:
    """With audit.proof = false a referencing test is enough, and the reason says the proof was off."""
    commits = audit_world.cli.commits
    step, _, _ = run_wp01({1141: commits["substantive"], 1182: commits["substantive"]}, proof=False)
    assert step.status is StepStatus.PASSED
    assert "proof disabled" in step.reason


def test_phase4gate_wp_wp01_names_the_logging_only_blocker(
    audit_world: AuditWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`phase4gate wp WP01` on the sandbox stops (exit 1) on the two-blocker squash and names #1141."""
    from phase4gate.cli import main

    commits = audit_world.cli.commits
    seed = default_seed({1141: commits["two-blocker-squash"], 1182: commits["substantive"]})
    with GitHubEmulator(seed) as gh:
        config = tmp_path / "gate.toml"
        config.write_text(
            f'[github]\napi_url = "{gh.api_url}"\nmax_retries = 0\n\n'
            f'[audit.checkouts]\n"{CLI_REPO}" = "{audit_world.cli.path}"\n"{E2E_REPO}" = "{audit_world.e2e.path}"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("GITHUB_TOKEN", gh.token)
        monkeypatch.setenv("PHASE4GATE_CACHE_DIR", str(audit_world.cache))
        code = main(["wp", "WP01", "--config", str(config), "--evidence-root", str(tmp_path / "ev")])
        token = gh.token
    captured = capsys.readouterr()
    assert code == 1
    assert "WP01 stopped: #1141" in captured.err
    assert "logging-only" in captured.err
    assert token not in captured.out + captured.err
