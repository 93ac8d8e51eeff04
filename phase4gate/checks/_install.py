"""WP02's install verdict models (attrs), re-exported by :mod:`phase4gate.checks.release`.

Kept apart so that importing ``checks.release`` for ``resolve-rc`` does not import attrs.
"""

from __future__ import annotations

from collections.abc import Mapping

from attrs import field, frozen

__all__ = ["InstallCheck", "InstallVerdict"]


@frozen
class InstallCheck:
    """What one install-and-verify of the RC showed (built by ``adapters/install.py``)."""

    label: str  # "as-users-get-it" or "as-of-release"
    verified: bool
    error: str = ""
    dependencies: Mapping[str, str] = field(factory=dict)


@frozen
class InstallVerdict:
    """``verified``, ``dependency-drift`` or ``broken``, with the why."""

    outcome: str
    reason: str
    drifted: tuple[str, ...] = ()
