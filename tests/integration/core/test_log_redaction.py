"""-v/-vv logging never prints a credential: urllib3's debug lines name full URLs (signed URLs carry ``sig=``)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import HANG_GUARD_SECONDS

_SCRIPT = """
import logging, sys
from phase4gate.cli import main
from phase4gate.sandbox.index import IndexEmulator
import urllib3

with IndexEmulator("rc15-rc16") as index:
    # `config show` with -vv sets logging up the way every command does, and returns at once.
    assert main(["-vv", "config", "show", "--config", sys.argv[1]]) == 0
    pool = urllib3.PoolManager()
    pool.request("GET", index.simple_url + "?sig=SIGNEDSECRET123&token=ghp_" + "a" * 36)
    logging.getLogger("phase4gate").info("fetched %s", "https://blob.example/x?sig=OTHERSECRET456")
"""


def test_verbose_logging_masks_signed_url_credentials(tmp_path: object) -> None:
    """With -vv, urllib3's and phase4gate's log lines show the URL but never the sig/token values."""
    from pathlib import Path

    config = Path(str(tmp_path)) / "phase4gate.toml"
    config.write_text("", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(config)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "DEBUG urllib3.connectionpool" in out.stderr, out.stderr[-2000:]
    assert "sig=***" in out.stderr
    for secret in ("SIGNEDSECRET123", "OTHERSECRET456", "ghp_" + "a" * 36):
        assert secret not in out.stderr
