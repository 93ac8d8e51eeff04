"""Fixtures for the publishing tests: the GitHub emulator and a recording sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import default_seed
from tests.integration.comments.helpers import Recorder


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    """The real gate's GitHub world on 127.0.0.1: e2e#41 and #1038 open, bot token may write."""
    with GitHubEmulator(default_seed()) as emulator:
        yield emulator


@pytest.fixture
def recorder() -> Recorder:
    """A clock that stands still and a sleep that only records."""
    return Recorder()
