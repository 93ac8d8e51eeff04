"""Scenario 1: A fresh, authenticated mission syncs under the right identity."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = [pytest.mark.sync_identity_boundary_deployed_dev, pytest.mark.deployed_dev, pytest.mark.scenario_id(1)]


def test_scenario_1_fresh_authenticated_mission(scenario_player: Callable[[int], None]) -> None:
    """A fresh, authenticated mission syncs under the right identity."""
    scenario_player(1)
