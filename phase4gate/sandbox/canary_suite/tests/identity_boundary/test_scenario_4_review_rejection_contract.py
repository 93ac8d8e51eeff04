"""Scenario 4: A review rejection rolls back exactly the transition it triggered."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = [pytest.mark.sync_identity_boundary_deployed_dev, pytest.mark.deployed_dev, pytest.mark.scenario_id(4)]


def test_scenario_4_review_rejection_contract(scenario_player: Callable[[int], None]) -> None:
    """A review rejection rolls back exactly the transition it triggered."""
    scenario_player(4)
