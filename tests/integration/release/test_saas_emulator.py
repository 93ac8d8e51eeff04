"""The SaaS emulator's knobs: redeploys, the sandbox state endpoint, refusals."""

from __future__ import annotations

import pytest
import urllib3

from phase4gate.checks.health import saas_changed
from phase4gate.sandbox.saas import SaaSEmulator


def test_scheduled_redeploy_happens_after_n_health_gets(saas: SaaSEmulator) -> None:
    """schedule_redeploy(2): the first two /health/ answers show the old build, the third the new one."""
    http = urllib3.PoolManager()
    before = {"saas_git_sha": saas.git_sha, "saas_build_timestamp": saas.build_timestamp}
    saas.schedule_redeploy(after_health_gets=2)
    bodies = [http.request("GET", saas.base_url + "/health/").json() for _ in range(3)]
    assert [saas_changed(before, b) is None for b in bodies] == [True, True, False]
    assert bodies[2]["build_timestamp"] == "2026-05-19T08:20:00Z"
    http.request("HEAD", saas.base_url + "/health/")
    assert saas.deploys == 2


def test_redeploy_now(saas: SaaSEmulator) -> None:
    """redeploy() and schedule_redeploy(0) each give a new git_sha at once."""
    first = saas.git_sha
    assert saas.redeploy() != first
    second = saas.git_sha
    saas.schedule_redeploy(0)
    assert saas.git_sha not in {first, second}


def test_sandbox_state_serves_extra(saas: SaaSEmulator) -> None:
    """GET /__sandbox/state answers emulator.extra as JSON."""
    http = urllib3.PoolManager()
    assert http.request("GET", saas.base_url + "/__sandbox/state").json() == {}
    saas.extra["scenario_4"] = {"fail": "peeked row is not the rollback we triggered"}
    assert http.request("GET", saas.base_url + "/__sandbox/state").json() == saas.extra


def test_writes_and_unknown_paths_are_refused(saas: SaaSEmulator) -> None:
    """A write is answered 405 and logged (so a test can prove who sent it); unknown paths 404."""
    http = urllib3.PoolManager()
    assert http.request("POST", saas.base_url + "/health/").status == 405
    assert http.request("GET", saas.base_url + "/api/v1/").status == 404
    assert saas.count("POST") == 1
    with pytest.raises(ValueError, match="unknown SaaS state 'sleepy'"):
        saas.set_state("sleepy")
