"""The GitHub client and the SaaS client read Retry-After the same way: seconds or an HTTP date."""

from __future__ import annotations

import email.utils
from collections.abc import Iterator

import pytest

from phase4gate.adapters.github import GitHubClient
from phase4gate.adapters.http import ReadOnlyClient
from phase4gate.errors import GitHubError
from phase4gate.retry import RetryPolicy
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import E2E_REPO
from phase4gate.sandbox.saas import SaaSEmulator

from .conftest import EPOCH

E2E_41 = f"/api/v3/repos/{E2E_REPO}/issues/41"


def test_github_secondary_limit_with_an_http_date(
    client: GitHubClient, world: GitHubEmulator, sleeps: list[float]
) -> None:
    """A secondary rate limit whose Retry-After is a date 25 s ahead: the client waits 25 s, not the 60 s floor."""
    when = email.utils.formatdate(EPOCH + 25, usegmt=True)
    world.inject(
        E2E_41, Fault("status", status=403, headers={"Retry-After": when}, body=b'{"message": "secondary rate limit"}')
    )

    assert client.issue(E2E_REPO, 41).state == "open"
    assert sleeps == [25.0]


def test_github_client_takes_its_policy_as_a_value(world: GitHubEmulator, sleeps: list[float]) -> None:
    """A frozen policy handed in decides: here no retries, so one 503 is final."""
    client = GitHubClient(world.api_url, world.token, sleep=sleeps.append, policy=RetryPolicy(max_retries=0))
    world.inject(E2E_41, Fault("status", status=503))

    with pytest.raises(GitHubError, match="HTTP 503"):
        client.issue(E2E_REPO, 41)
    assert sleeps == []
    assert client.policy == RetryPolicy(max_retries=0)


@pytest.fixture
def saas() -> Iterator[SaaSEmulator]:
    with SaaSEmulator() as emulator:
        yield emulator


def test_saas_client_reads_an_http_date_retry_after(saas: SaaSEmulator) -> None:
    slept: list[float] = []
    when = email.utils.formatdate(EPOCH + 9, usegmt=True)
    client = ReadOnlyClient(saas.base_url, sleep=slept.append, epoch=lambda: EPOCH)
    saas.inject("/health/", Fault("status", status=503, headers={"Retry-After": when}))

    assert client.get("/health/").status == 200
    assert slept == [9.0]
