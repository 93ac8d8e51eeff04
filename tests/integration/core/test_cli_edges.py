"""CLI edges a careless user meets: a closed pipe, an existing config file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import HANG_GUARD_SECONDS


def test_a_reader_that_leaves_is_no_traceback(tmp_path: Path) -> None:
    """`phase4gate config show | head -0`: the pipe closes first; no traceback, not exit 70."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "phase4gate", "config", "show"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first write
    with proc.stderr:
        err = proc.stderr.read().decode()
    code = proc.wait(timeout=HANG_GUARD_SECONDS)
    assert "Traceback" not in err
    assert code in {0, 141}


def test_write_config_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "gate.toml"
    target.write_text("# mine\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "-m", "phase4gate", "sandbox", "--write-config", str(target)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{target} exists; --write-config never overwrites a file" in proc.stderr
    assert target.read_text(encoding="utf-8") == "# mine\n"
