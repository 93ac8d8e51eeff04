"""Issue 23: the User-Agent's version is found without parsing phase4gate's METADATA, and is the same."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from phase4gate.adapters.http import user_agent
from tests.conftest import HANG_GUARD_SECONDS

# Files opened while the User-Agent is built, seen by a runtime audit hook (PEP 578) in a fresh process.
_PROBE = """
import sys
from phase4gate.adapters.http import user_agent
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
print(user_agent())
print([p for p in opened if "dist-info" in p])
"""


def test_user_agent_names_the_installed_version() -> None:
    """``phase4gate/<version>``, the version importlib.metadata reports."""
    assert user_agent() == f"phase4gate/{version('phase4gate')}"


def test_user_agent_needs_no_metadata_lookup() -> None:
    """In a fresh process the User-Agent comes from the dist-info folder's name: no file in it is opened."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=HANG_GUARD_SECONDS, check=True
    )
    agent, loaded = done.stdout.splitlines()
    assert agent == f"phase4gate/{version('phase4gate')}"
    assert loaded == "[]"
