"""Runner command lines and environment: flakiness-hiding plugins disabled, reruns refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from phase4gate.adapters.runner import (
    PLUGIN_DISABLES,
    canary_argv,
    canary_env,
    refuse_flaky_options,
    teamspace_argv,
)
from phase4gate.config import CanaryConfig, GateConfig, SaaSConfig
from phase4gate.errors import ConfigError
from phase4gate.sandbox.e2e import SIGNATURE_TEXTS, canary_state, teamspace_state


@pytest.mark.parametrize(
    "args",
    [
        ("--reruns", "3"),
        ("--reruns=3",),
        ("-p", "rerunfailures"),
        ("-pflaky",),
        ("-p", "pytest_repeat"),
        ("--count=4",),
        ("--flake-finder",),
        ("--lf",),
    ],
)
def test_rerun_options_refused(args: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError, match="a rerun is never a pass") as excinfo:
        refuse_flaky_options(args, where="canary.command")
    assert excinfo.value.field == "canary.command"


def test_disabling_plugins_is_allowed() -> None:
    refuse_flaky_options(PLUGIN_DISABLES, where="x")
    assert PLUGIN_DISABLES[:2] == ("-p", "no:rerunfailures")


def test_script_mode_runs_the_configured_command() -> None:
    argv = canary_argv(GateConfig(), junit_path=Path("j.xml"))
    assert argv == ("scripts/run-sync-identity-boundary-canary.sh", "--single", "--yes")


def test_pytest_mode_reselects_the_marker_past_addopts() -> None:
    config = GateConfig(canary=CanaryConfig(mode="pytest"))
    argv = canary_argv(config, junit_path=Path("/s/j.xml"))
    assert argv[:3] == (sys.executable, "-m", "pytest")
    assert argv[3] == "tests/identity_boundary"
    joined = " ".join(argv)
    assert "-o addopts= -m sync_identity_boundary_deployed_dev" in joined
    assert "-p no:flakefinder" in joined
    assert argv[-1] == "--junitxml=/s/j.xml"


def test_teamspace_argv_is_the_plans_command() -> None:
    argv = teamspace_argv(GateConfig(), junit_path=Path("j.xml"))
    assert argv[:4] == ("uv", "run", "pytest", "-v")
    assert argv[4:7] == GateConfig().teamspace.files
    assert argv[7:9] == ("-m", "deployed_dev")


def test_env_sets_flags_path_saas_and_disables_plugins() -> None:
    config = GateConfig(saas=SaaSConfig(base_url="http://127.0.0.1:9"), canary=CanaryConfig(env={"EXTRA": "1"}))
    env = canary_env({"PATH": "/usr/bin", "PYTEST_ADDOPTS": "-q", "GITHUB_TOKEN": "ghp_x"}, config, "/venv/bin")
    assert "GITHUB_TOKEN" not in env
    assert env["SPEC_KITTY_ENABLE_SAAS_SYNC"] == "1"
    assert env["SPEC_KITTY_E2E_TRUSTED_RUNNER"] == "1"
    assert env["EXTRA"] == "1"
    assert env["PATH"].split(":")[0] == "/venv/bin"
    assert env["SPEC_KITTY_SAAS_URL"] == "http://127.0.0.1:9"
    assert env["PYTEST_ADDOPTS"].startswith("-q -p no:rerunfailures")


def test_env_refuses_reruns_in_pytest_addopts() -> None:
    with pytest.raises(ConfigError, match="PYTEST_ADDOPTS"):
        canary_env({"PYTEST_ADDOPTS": "--reruns 5"}, GateConfig(), None)


def test_sandbox_state_builders() -> None:
    state = canary_state(fail={4: "x"}, flaky_fail_run=3, hang_seconds=1.5, inconsistent=True)
    assert state == {
        "fail": {"4": "x"},
        "flaky_fail_run": 3,
        "flaky_scenario": 2,
        "flaky_text": SIGNATURE_TEXTS["event-loop-unavailable"],
        "hang_seconds": 1.5,
        "inconsistent": True,
    }
    assert canary_state() == {"fail": {}}
    assert teamspace_state("HTTP 413", fail_file="sync", fail_run=2) == {
        "fail": "HTTP 413",
        "fail_file": "sync",
        "fail_run": 2,
    }
    assert teamspace_state() == {}
