"""WP02 against the index emulator and a real git checkout: every release set's result and stop kind."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from phase4gate.config import GateConfig
from phase4gate.gate import Gate, StepContext
from phase4gate.models import FactValue, StepOutcome, StepResult, StepStatus, StopKind
from phase4gate.sandbox.index import RELEASE_SETS, IndexEmulator
from phase4gate.sandbox.saas import SaaSEmulator
from tests.integration.release.release_helpers import CliCheckout

CONTRACT_FACTS = {
    "rc_version",
    "rc_tag",
    "rc_short",
    "rc_commit",
    "install_mode",
    "venv_path",
    "cli_bin_dir",
    "wheel_filename",
    "wheel_sha256",
    "rc_upload_time",
}


@pytest.fixture(scope="module")
def shared_index() -> Iterator[IndexEmulator]:
    """One index emulator for the module; each test picks its release set."""
    with IndexEmulator() as emulator:
        yield emulator


def wp01(fix: str, *, blocker: int = 1141) -> Callable[[StepContext], StepOutcome]:
    """A WP01 stand-in that passes with *fix* as the CLI fix commit."""
    facts: Mapping[str, FactValue] = {
        "blockers": str(blocker),
        f"blocker_{blocker}_state": "closed",
        f"blocker_{blocker}_closer": f"Priivacy-ai/spec-kitty@{fix}",
        f"blocker_{blocker}_verdict": "substantive",
        "cli_fix_commits": fix,
    }
    return lambda _ctx: StepOutcome.passed("blockers closed (stand-in)", facts=facts)


def run_wp02(
    index: IndexEmulator,
    release_set: str,
    root: Path,
    config: GateConfig,
    fix: str,
    *,
    options: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> StepResult:
    """Run WP01 (stand-in) then WP02 through the engine; return WP02's result."""
    index.set_release_set(release_set)
    gate = Gate(config, evidence_root=root, steps={"WP01": wp01(fix)}, options=options, dry_run=dry_run)
    result = gate.run(until="WP02").step("WP02")
    assert result is not None
    return result


def kept(root: Path, result: StepResult, name: str) -> Path:
    """The path of WP02's evidence file *name*."""
    matches = [ref.path for ref in result.evidence if ref.path.endswith("/" + name)]
    assert matches, f"no {name} in {[r.path for r in result.evidence]}"
    return next(root.glob("*/journal.jsonl")).parent / matches[0]


@pytest.fixture
def config_for(
    shared_index: IndexEmulator, cli_checkout: CliCheckout, release_config: Callable[..., GateConfig]
) -> Callable[..., GateConfig]:
    """A config for the shared index and the stand-in CLI checkout."""

    def make(**overrides: Any) -> GateConfig:
        return release_config(shared_index.simple_url, cli_checkout=str(cli_checkout.path), **overrides)

    return make


def test_green_path_installs_and_verifies(
    shared_index: IndexEmulator, cli_checkout: CliCheckout, config_for: Callable[..., GateConfig], tmp_path: Path
) -> None:
    """rc15+rc16, fix in rc16: passed with every contract fact, and the installed CLI runs."""
    result = run_wp02(shared_index, "rc15-rc16", tmp_path, config_for(), cli_checkout.commits["fix"])
    assert result.status is StepStatus.PASSED, result.reason
    assert set(result.facts) == CONTRACT_FACTS
    assert result.facts["rc_version"] == "3.2.0rc16"
    assert result.facts["rc_tag"] == "v3.2.0rc16"
    assert result.facts["rc_short"] == "rc16"
    assert result.facts["rc_commit"] == cli_checkout.commits["release"]
    assert result.facts["install_mode"] == "as-users-get-it"
    assert result.facts["rc_upload_time"] == "2026-05-10T12:00:00.000000Z"
    cli = Path(str(result.facts["cli_bin_dir"])) / "spec-kitty"
    out = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "spec-kitty-cli version 3.2.0rc16"
    wheel = json.loads(kept(tmp_path, result, "wheel.json").read_text())
    assert wheel["index_sha256"] == wheel["downloaded_sha256"] == result.facts["wheel_sha256"]
    deps = kept(tmp_path, result, "deps-as-users-get-it.txt").read_text()
    assert "kitty-typer==1.0.0" in deps
    assert "uv pip install" in kept(tmp_path, result, "install-as-users-get-it.log").read_text()


@pytest.mark.parametrize(
    ("release_set", "text"),
    [
        ("only-rc15", "latest RC is still 3.2.0rc15; an operator must cut the next RC"),
        ("rc16-yanked", "yanked (PEP 592): broken upload, use rc17"),
    ],
)
def test_no_usable_newer_rc_is_waiting(  # noqa: PLR0917 - fixtures and parameters
    shared_index: IndexEmulator,
    cli_checkout: CliCheckout,
    config_for: Callable[..., GateConfig],
    tmp_path: Path,
    release_set: str,
    text: str,
) -> None:
    """Nothing usable after the baseline: stop (waiting), skipped files named."""
    result = run_wp02(shared_index, release_set, tmp_path, config_for(), cli_checkout.commits["fix"])
    assert (result.status, result.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING)
    assert "no RC newer than the baseline" in str(result.stop_condition)
    assert text in result.reason
    assert not (tmp_path / ".venvs").exists()


def test_finals_and_other_series_are_ignored(
    shared_index: IndexEmulator, cli_checkout: CliCheckout, config_for: Callable[..., GateConfig], tmp_path: Path
) -> None:
    """3.2.0 final, 3.2.1rc1, 4.0.0rc1, a beta and a dev release are ignored; rc17 (requires-python) is reported."""
    result = run_wp02(shared_index, "finals-and-newer-series", tmp_path, config_for(), "", dry_run=True)
    assert result.status is StepStatus.PASSED, result.reason
    assert result.reason.startswith("dry run:")
    assert result.facts["rc_version"] == "3.2.0rc16"
    resolution = json.loads(kept(tmp_path, result, "resolution.json").read_text())
    assert resolution["candidates"] == ["3.2.0rc17", "3.2.0rc16"]
    assert [s["version"] for s in resolution["skipped"]] == ["3.2.0rc17"]
    assert "requires-python >=3.99 excludes Python" in resolution["skipped"][0]["reason"]
    assert not (tmp_path / ".venvs").exists()


def test_rc_without_the_fix_is_waiting(
    shared_index: IndexEmulator, cli_checkout: CliCheckout, config_for: Callable[..., GateConfig], tmp_path: Path
) -> None:
    """A fix commit that is not an ancestor of the RC's tag: stop (waiting) naming RC, blocker and commit."""
    side = cli_checkout.commits["side_fix"]
    result = run_wp02(shared_index, "rc15-rc16", tmp_path, config_for(), side)
    assert (result.status, result.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING)
    assert "3.2.0rc16" in result.reason
    assert "#1141" in result.reason
    assert side[:12] in result.reason
    assert not (tmp_path / ".venvs").exists()


def test_hash_mismatch_is_failed(
    shared_index: IndexEmulator, cli_checkout: CliCheckout, config_for: Callable[..., GateConfig], tmp_path: Path
) -> None:
    """The served wheel is not the one the index lists: stop (failed), nothing installed."""
    result = run_wp02(shared_index, "hash-mismatch", tmp_path, config_for(), cli_checkout.commits["fix"])
    assert (result.status, result.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "sha256" in str(result.stop_condition)
    assert "spec_kitty_cli-3.2.0rc16-py3-none-any.whl" in result.reason
    assert not list((tmp_path / ".venvs").rglob("bin"))


def test_dependency_drift_is_failed_and_named(
    shared_index: IndexEmulator, cli_checkout: CliCheckout, config_for: Callable[..., GateConfig], tmp_path: Path
) -> None:
    """Broken as users get it, fine as of release: stop (failed) naming the drifted dependency and the error."""
    result = run_wp02(shared_index, "dependency-drift", tmp_path, config_for(), cli_checkout.commits["fix"])
    assert (result.status, result.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "dependency drift" in result.reason
    assert "kitty-typer 1.0.0 -> 2.0.0" in result.reason
    assert "AttributeError" in result.reason
    verdict = json.loads(kept(tmp_path, result, "install.json").read_text())
    assert verdict["outcome"] == "dependency-drift"
    assert verdict["drifted"] == ["kitty-typer 1.0.0 -> 2.0.0"]
    assert "--exclude-newer 2026-05-10T12:00:01Z" in kept(tmp_path, result, "install-as-of-release.log").read_text()


def test_as_of_release_mode_lets_the_canary_use_the_working_environment(
    shared_index: IndexEmulator, cli_checkout: CliCheckout, config_for: Callable[..., GateConfig], tmp_path: Path
) -> None:
    """--install-mode as-of-release: passed on the as-of-release venv, and the report says so."""
    result = run_wp02(
        shared_index,
        "dependency-drift",
        tmp_path,
        config_for(),
        cli_checkout.commits["fix"],
        options={"install_mode": "as-of-release"},
    )
    assert result.status is StepStatus.PASSED, result.reason
    assert result.facts["install_mode"] == "as-of-release"
    assert str(result.facts["venv_path"]).endswith("as-of-release")
    assert "the canary uses the as-of-release environment" in result.reason
    assert "dependency drift" in result.reason


def test_broken_rc_is_failed(
    shared_index: IndexEmulator, cli_checkout: CliCheckout, config_for: Callable[..., GateConfig], tmp_path: Path
) -> None:
    """An RC that fails with either dependency set: stop (failed), broken both ways."""
    result = run_wp02(shared_index, "broken-rc", tmp_path, config_for(), cli_checkout.commits["fix"])
    assert (result.status, result.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert result.reason.startswith("broken both ways")
    assert "ImportError" in result.reason


def test_every_release_set_is_tested() -> None:
    """Each release set of the emulator has a test in this module."""
    tested = {"rc15-rc16", "only-rc15", "rc16-yanked", "finals-and-newer-series", "hash-mismatch"}
    tested |= {"dependency-drift", "broken-rc"}
    assert tested == set(RELEASE_SETS)


def test_missing_wp01_facts_is_a_failed_stop(
    shared_index: IndexEmulator, config_for: Callable[..., GateConfig], tmp_path: Path
) -> None:
    """WP01 passed without cli_fix_commits: the journal is inconsistent, a failed stop."""
    gate = Gate(config_for(), evidence_root=tmp_path, steps={"WP01": lambda _c: StepOutcome.passed("no facts")})
    result = gate.run(until="WP02").step("WP02")
    assert result is not None
    assert (result.status, result.stop_kind) == (StepStatus.STOPPED, StopKind.FAILED)
    assert "cli_fix_commits" in result.reason


def test_wp02_and_wp03_run_side_by_side(
    shared_index: IndexEmulator,
    cli_checkout: CliCheckout,
    config_for: Callable[..., GateConfig],
    tmp_path: Path,
) -> None:
    """After WP01, the engine starts WP03 while WP02 is still installing; both pass."""
    import attrs

    shared_index.set_release_set("rc15-rc16")
    with SaaSEmulator() as saas:
        config = config_for()
        config = attrs.evolve(config, saas=attrs.evolve(config.saas, base_url=saas.base_url, retries=0))
        steps = {"WP01": wp01(cli_checkout.commits["fix"]), "WP04": lambda _c: StepOutcome.passed("stand-in")}
        report = Gate(config, evidence_root=tmp_path, steps=steps).run(until="WP04")
    wp02_result, wp03_result = report.step("WP02"), report.step("WP03")
    assert wp02_result is not None
    assert wp03_result is not None
    assert (wp02_result.status, wp03_result.status) == (StepStatus.PASSED, StepStatus.PASSED)
    assert wp03_result.started_at < wp02_result.finished_at
    assert wp02_result.started_at < wp03_result.finished_at


@pytest.mark.parametrize(("fix", "contained"), [("fix", True), ("side_fix", False)])
def test_containment_through_the_github_api(  # noqa: PLR0917 - fixtures and parameters
    shared_index: IndexEmulator,
    cli_checkout: CliCheckout,
    release_config: Callable[..., GateConfig],
    tmp_path: Path,
    fix: str,
    contained: bool,
) -> None:
    """Without a local checkout, tag and ancestry come from GitHub (the emulator over the real repository)."""
    import attrs

    from phase4gate.sandbox.github_api import GitHubEmulator
    from phase4gate.sandbox.github_seed import default_seed

    shared_index.set_release_set("rc15-rc16")
    seed = default_seed(repo_paths={"Priivacy-ai/spec-kitty": str(cli_checkout.path)})
    with GitHubEmulator(seed) as github:
        config = release_config(shared_index.simple_url)
        config = attrs.evolve(config, github=attrs.evolve(config.github, api_url=github.api_url))
        gate = Gate(
            config,
            evidence_root=tmp_path,
            steps={"WP01": wp01(cli_checkout.commits[fix])},
            environ={"GITHUB_TOKEN": github.read_only_token},
            dry_run=True,
        )
        result = gate.run(until="WP02").step("WP02")
        assert {r.method for r in github.requests} == {"GET"}
    assert result is not None
    if contained:
        assert result.status is StepStatus.PASSED, result.reason
        assert result.facts["rc_commit"] == cli_checkout.commits["release"]
        assert result.reason.startswith("dry run:")
    else:
        assert (result.status, result.stop_kind) == (StepStatus.STOPPED, StopKind.WAITING)
        assert "does not contain blocker #1141's fix" in result.reason
    checked = json.loads(kept(tmp_path, result, "containment.json").read_text())
    assert checked["checked_with"] == "GitHub compare in Priivacy-ai/spec-kitty"
