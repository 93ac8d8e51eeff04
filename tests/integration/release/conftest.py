"""Fixtures for the release area: the index and SaaS emulators, configs, step contexts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from phase4gate.adapters.store import EvidenceStore
from phase4gate.config import GateConfig, ReleaseConfig, SaaSConfig
from phase4gate.gate import StepContext
from phase4gate.models import StepResult
from phase4gate.progress import NullProgress
from phase4gate.sandbox.index import IndexEmulator
from phase4gate.sandbox.saas import SaaSEmulator
from tests.integration.release.release_helpers import CliCheckout, build_cli_checkout


@pytest.fixture
def saas() -> Iterator[SaaSEmulator]:
    """A running SaaS emulator, healthy."""
    with SaaSEmulator() as emulator:
        yield emulator


@pytest.fixture
def index() -> Iterator[IndexEmulator]:
    """A running index emulator serving rc15 and rc16."""
    with IndexEmulator("rc15-rc16") as emulator:
        yield emulator


def _saas_config(saas: SaaSEmulator, **overrides: Any) -> GateConfig:
    """A config pointing WP03 at *saas* with short timeouts."""
    section = SaaSConfig(
        base_url=saas.base_url, connect_timeout_seconds=2.0, read_timeout_seconds=5.0, deadline_seconds=20.0, retries=0
    )
    return GateConfig(saas=attrs.evolve(section, **overrides))


def _release_config(index_url: str, **overrides: Any) -> GateConfig:
    """A config pointing WP02 at *index_url*."""
    return GateConfig(release=attrs.evolve(ReleaseConfig(index_url=index_url), **overrides))


def _make_ctx(
    config: GateConfig,
    root: Path,
    wp: str = "WP03",
    *,
    results: Mapping[str, StepResult] | None = None,
    dry_run: bool = False,
    options: Mapping[str, str] | None = None,
) -> StepContext:
    """A real StepContext on a fresh evidence store under *root*."""
    return StepContext(
        wp=wp,
        config=config,
        run_id="run-1",
        store=EvidenceStore(root / "run-1"),
        evidence_root=root,
        results=dict(results or {}),
        progress=NullProgress(),
        dry_run=dry_run,
        prefix=f"{wp.lower()}/1",
        options=dict(options or {}),
    )


@pytest.fixture
def saas_config() -> Callable[..., GateConfig]:
    """Build a config pointing WP03 at a SaaS emulator."""
    return _saas_config


@pytest.fixture
def release_config() -> Callable[..., GateConfig]:
    """Build a config pointing WP02 at an index."""
    return _release_config


@pytest.fixture
def make_ctx() -> Callable[..., StepContext]:
    """Build a real StepContext on a fresh evidence store."""
    return _make_ctx


@pytest.fixture(scope="module")
def cli_checkout(tmp_path_factory: pytest.TempPathFactory) -> CliCheckout:
    """The stand-in CLI repository (shared by a module's tests)."""
    return build_cli_checkout(tmp_path_factory.mktemp("cli") / "spec-kitty")


@pytest.fixture
def cli_repo() -> Callable[[Path], CliCheckout]:
    """Build a stand-in CLI repository at a path."""
    return build_cli_checkout
