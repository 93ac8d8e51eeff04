"""Fixtures of the fixture e2e checkout: the SaaS (from ``SPEC_KITTY_SAAS_URL``) and the installed CLI.

Pass or fail follows the SaaS emulator's ``GET /__sandbox/state`` (see
``phase4gate.sandbox.e2e`` for the keys); runs are counted in files inside the
checkout (one count per pytest session), never hard-coded.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent
_HTTP_TIMEOUT = 10.0


class SaaS:
    """The SaaS the canaries talk to, read-only."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def get(self, path: str) -> tuple[int, Any]:
        """GET *path*; return the status and the decoded JSON body (None when not JSON)."""
        url = self.base_url + path
        if not url.startswith(("http://", "https://")):
            pytest.fail(f"SPEC_KITTY_SAAS_URL must be an http(s) URL, got {self.base_url!r}")
        try:
            with urllib.request.urlopen(url, timeout=_HTTP_TIMEOUT) as resp:  # noqa: S310 - scheme checked above
                body = resp.read()
                status = int(resp.status)
        except urllib.error.HTTPError as exc:
            body = exc.read()
            status = exc.code
        except OSError as exc:
            pytest.fail(f"SaaS unreachable at {url}: {exc}")
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            return status, None

    def state(self) -> dict[str, Any]:
        """Return the emulator's scenario state (empty when it has none)."""
        status, body = self.get("/__sandbox/state")
        return body if status == 200 and isinstance(body, dict) else {}

    def require_healthy(self) -> dict[str, Any]:
        """Fail unless ``/health/`` answers 200; return its body."""
        status, body = self.get("/health/")
        if status != 200 or not isinstance(body, dict):
            pytest.fail(f"HTTP {status} from /health/")
        return body

    def require_ready(self) -> None:
        """Fail unless ``/health/ready/`` answers 200."""
        status, _ = self.get("/health/ready/")
        if status != 200:
            suffix = " (503 Service Unavailable)" if status == 503 else ""
            pytest.fail(f"HTTP {status} from /health/ready/{suffix}")


@pytest.fixture(scope="session")
def saas() -> SaaS:
    """The SaaS; every deployed-dev test SKIPS without SPEC_KITTY_ENABLE_SAAS_SYNC=1 (a skip is never a pass)."""
    if os.environ.get("SPEC_KITTY_ENABLE_SAAS_SYNC") != "1":
        pytest.skip("SPEC_KITTY_ENABLE_SAAS_SYNC=1 is not set")
    url = os.environ.get("SPEC_KITTY_SAAS_URL")
    if not url:
        pytest.skip("SPEC_KITTY_SAAS_URL is not set")
    return SaaS(url)


@pytest.fixture(scope="session")
def cli_version_line() -> str:
    """The ``spec-kitty-cli version X`` line of the ``spec-kitty`` first on PATH."""
    try:
        proc = subprocess.run(
            ["spec-kitty", "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError as exc:
        pytest.fail(f"spec-kitty cannot run: {exc}")
    for line in proc.stdout.splitlines():
        if line.startswith("spec-kitty-cli version "):
            return line.strip()
    pytest.fail(f"spec-kitty --version printed no 'spec-kitty-cli version' line (exit {proc.returncode})")


def _count(counter: Path) -> int:
    counter.parent.mkdir(parents=True, exist_ok=True)
    n = int(counter.read_text(encoding="utf-8").strip() or 0) + 1 if counter.exists() else 1
    counter.write_text(f"{n}\n", encoding="utf-8")
    return n


@pytest.fixture(scope="session")
def canary_run_count() -> int:
    """This identity-boundary session's number, counted in the checkout (1, 2, ...)."""
    return _count(CHECKOUT / "artifacts" / "sync_identity_boundary" / ".run-count")


@pytest.fixture(scope="session")
def teamspace_run_count() -> int:
    """This Teamspace session's number, counted in the checkout (1, 2, ...)."""
    return _count(CHECKOUT / "artifacts" / "teamspace" / ".run-count")


def play_scenario(scenario: int, saas: SaaS, cli_version_line: str, run_count: int) -> None:
    """Run identity-boundary scenario *scenario* as the SaaS state says (pass, fail, flaky, hang)."""
    if not cli_version_line:
        pytest.fail("no CLI version")
    saas.require_healthy()
    canary = saas.state().get("canary") or {}
    hang = float(canary.get("hang_seconds") or 0)
    if hang > 0:
        time.sleep(hang)
    text = (canary.get("fail") or {}).get(str(scenario))
    if text:
        pytest.fail(str(text), pytrace=False)
    flaky_run = canary.get("flaky_fail_run")
    if flaky_run is not None and int(flaky_run) == run_count and int(canary.get("flaky_scenario", 2)) == scenario:
        pytest.fail(
            str(canary.get("flaky_text") or "sync.event_loop_unavailable: Errors: 1 (unknown: 1)"), pytrace=False
        )


def play_teamspace(file_key: str, saas: SaaS, cli_version_line: str, run_count: int) -> None:
    """Run a Teamspace check as the SaaS state says: healthy and ready, unless told to fail."""
    if not cli_version_line:
        pytest.fail("no CLI version")
    saas.require_healthy()
    saas.require_ready()
    ts = saas.state().get("teamspace") or {}
    text = ts.get("fail")
    wanted_file = ts.get("fail_file")
    fail_run = ts.get("fail_run")
    if text and (wanted_file is None or wanted_file in file_key) and (fail_run is None or int(fail_run) == run_count):
        print(text)
        pytest.fail(str(text), pytrace=False)


@pytest.fixture
def scenario_player(saas: SaaS, cli_version_line: str, canary_run_count: int) -> Callable[[int], None]:
    """Play an identity-boundary scenario by id."""
    return lambda scenario: play_scenario(scenario, saas, cli_version_line, canary_run_count)


@pytest.fixture
def teamspace_player(saas: SaaS, cli_version_line: str, teamspace_run_count: int) -> Callable[[str], None]:
    """Play a Teamspace check by file key (go_live, pulse, sync)."""
    return lambda key: play_teamspace(key, saas, cli_version_line, teamspace_run_count)
