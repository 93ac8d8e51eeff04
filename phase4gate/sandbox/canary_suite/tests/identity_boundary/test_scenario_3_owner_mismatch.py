"""Scenario 3: An owner mismatch is refused at the boundary."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = [pytest.mark.sync_identity_boundary_deployed_dev, pytest.mark.deployed_dev, pytest.mark.scenario_id(3)]


def test_scenario_3_owner_mismatch(scenario_player: Callable[[int], None]) -> None:
    """An owner mismatch is refused at the boundary."""
    scenario_player(3)
