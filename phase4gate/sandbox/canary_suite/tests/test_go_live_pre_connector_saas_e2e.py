"""Teamspace MVP: The go-live pre-connector flow reaches the SaaS."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = [pytest.mark.deployed_dev]


def test_go_live(teamspace_player: Callable[[str], None]) -> None:
    """The go-live pre-connector flow reaches the SaaS."""
    teamspace_player("go_live")
