"""Teamspace MVP: Teamspace pulse events arrive on the deployed dev SaaS."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = [pytest.mark.deployed_dev]


def test_pulse(teamspace_player: Callable[[str], None]) -> None:
    """Teamspace pulse events arrive on the deployed dev SaaS."""
    teamspace_player("pulse")
