"""Shared fixtures: hang guards, a run-folder root, the CLI runner."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import pytest
from hypothesis import HealthCheck, settings

# The one place a test's hang guard lives: never an assertion about speed.
HANG_GUARD_SECONDS: Final = 120.0

settings.register_profile("default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fast", deadline=None, max_examples=15, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fast" if os.environ.get("FAST") == "1" else "default")


@pytest.fixture
def evidence_root(tmp_path: Path) -> Path:
    """An empty evidence root."""
    root = tmp_path / "evidence"
    root.mkdir()
    return root


@pytest.fixture(autouse=True)
def _no_ambient_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a real token from the developer's environment."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
