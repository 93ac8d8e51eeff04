"""The canary world: the fixture e2e checkout, a stand-in ``spec-kitty``, the SaaS and GitHub emulators."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import stat
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from phase4gate.config import CanaryConfig, GateConfig, GitHubConfig, SaaSConfig, TeamspaceConfig
from phase4gate.gate import Gate
from phase4gate.models import GateReport, StepOutcome
from phase4gate.progress import Progress
from phase4gate.sandbox.e2e import build_e2e_checkout
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import default_seed
from phase4gate.sandbox.saas import SaaSEmulator

RC_VERSION = "3.2.0rc16"
CLI_REPO = "Priivacy-ai/spec-kitty"


def write_cli(bin_dir: Path, version: str = RC_VERSION) -> Path:
    """Write a real executable ``spec-kitty`` that prints a banner, then its version line."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "spec-kitty"
    exe.write_text(
        f'#!/bin/sh\necho "  Spec Kitty  (banner)"\necho "spec-kitty-cli version {version}"\n', encoding="utf-8"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir


@attrs.define
class CanaryWorld:
    """Everything a canary test needs; ``gate()`` runs WP04/WP05/WP07 through the real engine."""

    tmp: Path
    checkout: Path
    cli_bin: Path
    saas: SaaSEmulator
    github: GitHubEmulator
    evidence_root: Path

    def config(self, **canary: Any) -> GateConfig:
        """Return a config pointing at this world."""
        canary.setdefault("timeout_seconds", 120.0)
        canary.setdefault("e2e_checkout", str(self.checkout))
        return GateConfig(
            github=GitHubConfig(api_url=self.github.api_url, max_retries=0, deadline_seconds=30.0),
            saas=SaaSConfig(base_url=self.saas.base_url, retries=0, deadline_seconds=10.0),
            canary=CanaryConfig(**canary),
            teamspace=TeamspaceConfig(
                command=(sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"),
                log_path=str(self.tmp / "teamspace-canary-run-{n}.log"),
                timeout_seconds=120.0,
            ),
        )

    def environ(self) -> dict[str, str]:
        """The gate's environment: PATH and the emulator's write token."""
        return {"PATH": os.environ["PATH"], "HOME": str(self.tmp), "GITHUB_TOKEN": self.github.token}

    def prior_facts(self) -> dict[str, dict[str, Any]]:
        """The facts WP02 and WP03 record that WP04+ read (the SaaS as it is now)."""
        health = self.saas.health_body()
        return {
            "WP02": {
                "rc_version": RC_VERSION,
                "rc_tag": f"v{RC_VERSION}",
                "rc_short": "rc16",
                "cli_bin_dir": str(self.cli_bin),
            },
            "WP03": {
                "saas_git_sha": health["git_sha"],
                "saas_build_timestamp": health["build_timestamp"],
                "events_version": health["spec_kitty_events"],
            },
        }

    def prior_steps(self) -> dict[str, Callable[[Any], StepOutcome]]:
        """WP01-WP03 as they would have passed, with the facts WP04+ read (other helpers' WPs)."""
        facts = self.prior_facts()
        facts02, facts03 = facts["WP02"], facts["WP03"]
        return {
            "WP01": lambda _ctx: StepOutcome.passed("blockers closed", facts={"blockers": "1141,1182"}),
            "WP02": lambda _ctx: StepOutcome.passed("rc16 installed", facts=facts02),
            "WP03": lambda _ctx: StepOutcome.passed("SaaS ready", facts=facts03),
            "WP06": lambda _ctx: StepOutcome.passed("e2e#41 closed"),
        }

    def gate(
        self,
        until: str,
        config: GateConfig | None = None,
        *,
        dry_run: bool = False,
        steps: Mapping[str, Callable[[Any], StepOutcome]] | None = None,
        progress: Progress | None = None,
    ) -> tuple[Gate, GateReport]:
        """Run the real engine up to *until* with WP01-WP03 (and WP06) stand-ins; return it and its report."""
        gate = Gate(
            config or self.config(),
            evidence_root=self.evidence_root,
            environ=self.environ(),
            steps={**self.prior_steps(), **(steps or {})},
            dry_run=dry_run,
            progress=progress,
            clock=lambda: dt.datetime.now(dt.UTC),
        )
        return gate, gate.run(until=until)

    def issue_state(self, number: int) -> str:
        """The emulator's state of CLI issue *number*."""
        with self.github.lock:
            return self.github.state.issue(CLI_REPO, number).state


@contextlib.contextmanager
def make_world(tmp_path: Path, saas: SaaSEmulator | None = None) -> Iterator[CanaryWorld]:
    """Start *saas* (default a healthy one) and a GitHub emulator (blockers closed); build the checkout and CLI."""
    seed = default_seed({1141: "a" * 40, 1182: "b" * 40})
    with saas or SaaSEmulator() as started, GitHubEmulator(seed) as github:
        yield CanaryWorld(
            tmp=tmp_path,
            checkout=build_e2e_checkout(tmp_path / "e2e"),
            cli_bin=write_cli(tmp_path / "rc-venv" / "bin"),
            saas=started,
            github=github,
            evidence_root=tmp_path / "evidence",
        )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[CanaryWorld]:
    """A started SaaS and GitHub emulator, the fixture checkout and a stand-in CLI (blockers closed)."""
    with make_world(tmp_path) as w:
        yield w
