"""Teamspace MVP: Teamspace sync materializes on the deployed dev SaaS."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = [pytest.mark.deployed_dev]


def test_sync(teamspace_player: Callable[[str], None]) -> None:
    """Teamspace sync materializes on the deployed dev SaaS."""
    teamspace_player("sync")
