"""One built fixture world and one proof-environment cache for every audit integration test."""

from __future__ import annotations

from pathlib import Path

import pytest
from attrs import frozen

from phase4gate.adapters.proof import ProofSettings
from phase4gate.checks.fix_substance import Focus
from phase4gate.config import BlockerConfig
from phase4gate.sandbox.repos import CliRepo, build_cli_repo, build_e2e_fix_repo
from tests.conftest import HANG_GUARD_SECONDS

FOCUS_1141 = Focus(
    files=("src/specify_cli/sync/queue.py", "src/specify_cli/status/adapters.py"),
    symbols=("OfflineQueue.queue_event", "emit_wp_status_changed", "fire_saas_fanout"),
)


@frozen
class AuditWorld:
    cli: CliRepo
    e2e: CliRepo
    cache: Path

    def proof(self) -> ProofSettings:
        return ProofSettings(cache_dir=self.cache / "envs", timeout_seconds=HANG_GUARD_SECONDS)


@pytest.fixture(scope="session")
def audit_world(tmp_path_factory: pytest.TempPathFactory) -> AuditWorld:
    """The spec-kitty-shaped repository, the sibling e2e repository and a shared cache."""
    root = tmp_path_factory.mktemp("audit-world")
    return AuditWorld(cli=build_cli_repo(root / "cli"), e2e=build_e2e_fix_repo(root / "e2e"), cache=root / "cache")


@pytest.fixture(scope="session")
def blocker_1141() -> BlockerConfig:
    """#1141 with the plan's focus (the configuration default)."""
    return BlockerConfig(
        number=1141, focus_files=FOCUS_1141.files, focus_symbols=FOCUS_1141.symbols, title="silent replacement"
    )
