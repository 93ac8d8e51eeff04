"""The audit's spawned classification worker imports only the fix-substance package (issue 23)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

from phase4gate.audit import classify_files
from phase4gate.checks.fix_substance.classify import classify_chunk
from tests.conftest import HANG_GUARD_SECONDS

_CHILD = """
import json, pickle, sys
fn = pickle.loads(bytes.fromhex(sys.argv[1]))
print(json.dumps({"name": fn.__qualname__, "modules": sorted(sys.modules)}))
"""


def test_the_worker_function_unpickles_without_the_audits_adapters() -> None:
    """What a spawned worker receives: classify_chunk, whose module needs no git, proof env, filelock or attrs-heavy models."""
    assert classify_files.__module__ == "phase4gate.audit"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, pickle.dumps(classify_chunk).hex()],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=True,
    )
    data = json.loads(done.stdout)
    assert data["name"] == "classify_chunk"
    heavy = {"phase4gate.audit", "phase4gate.adapters.proof_env", "phase4gate.adapters.git", "filelock", "cattrs"}
    assert sorted(heavy & set(data["modules"])) == []
