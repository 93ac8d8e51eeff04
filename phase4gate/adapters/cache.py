"""Where phase4gate keeps its cache: audit checkouts and test environments, audits' full output, the gates registry.

WP01 (``checkouts/``, ``envs/``, its work folders), ``audit-fix`` (``envs/``,
``audits/``) and the run guard (``gates/``, the registry that keeps a live
gate's or audit's worktrees from being pruned) all find it here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """Return the audit cache folder: *explicit*, ``$PHASE4GATE_CACHE_DIR``, or ``$XDG_CACHE_HOME/phase4gate``.

    Without either variable it is ``~/.cache/phase4gate``.  *environ* defaults to
    the process environment.
    """
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get("PHASE4GATE_CACHE_DIR"):
        return Path(env["PHASE4GATE_CACHE_DIR"])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "phase4gate"
