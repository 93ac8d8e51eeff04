"""Scenario 2: A legacy offline queue migrates without crossing identities."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = [pytest.mark.sync_identity_boundary_deployed_dev, pytest.mark.deployed_dev, pytest.mark.scenario_id(2)]


def test_scenario_2_legacy_queue_migration(scenario_player: Callable[[int], None]) -> None:
    """A legacy offline queue migrates without crossing identities."""
    scenario_player(2)
