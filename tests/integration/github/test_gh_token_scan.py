"""No token in any output, log or exception text, even at DEBUG and on every error path."""

from __future__ import annotations

import logging
import traceback

import pytest

from phase4gate.adapters.github import GitHubClient
from phase4gate.errors import GitHubError
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO

from .conftest import leaked_tokens


def test_the_scan_finds_a_token_when_there_is_one() -> None:
    """The guard's scan is not vacuous."""
    assert leaked_tokens("Authorization: token ghp_abcdef", ["ghp_abcdef", "ghp_other"]) == ["ghp_..."]


def test_no_token_in_logs_output_or_errors(
    world: GitHubEmulator, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Reads, writes, retries and every error kind at DEBUG: the token is sent, never shown."""
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("phase4gate.test")
    writer = GitHubClient(world.api_url, world.token, sleep=lambda _s: None, max_retries=2)
    reader = GitHubClient(world.api_url, world.read_only_token, sleep=lambda _s: None)
    world.inject("/api/v3/repos", Fault("status", status=503), Fault("reset"))
    writer.issue(CLI_REPO, 1141)
    writer.create_comment(E2E_REPO, 41, "evidence")
    errors: list[GitHubError] = []
    for call in (
        lambda: reader.close_issue(E2E_REPO, 41),
        lambda: GitHubClient(world.api_url, "ghp_" + "7" * 36, sleep=lambda _s: None).issue(CLI_REPO, 1),
        lambda: GitHubClient("http://127.0.0.1:9/api/v3", world.token, sleep=lambda _s: None, max_retries=0).login(),
        lambda: writer.close_issue(CLI_REPO, 424242),
    ):
        try:
            call()
        except GitHubError as exc:
            errors.append(exc)
            log.exception("failed")
            print(f"error: {exc}\nhint: {exc.hint}\n{''.join(traceback.format_exception(exc))}{exc!r}")

    out, err = capfd.readouterr()
    text = out + err + caplog.text
    assert len(errors) == 4
    assert "Resource not accessible by integration" in text
    assert any(world.who(r) == "gate-bot" for r in world.requests)
    assert any(r.headers.get("Authorization") == f"token {world.token}" for r in world.requests)
    assert leaked_tokens(text, [world.token, world.read_only_token, "ghp_" + "7" * 36]) == []
    assert repr(writer) == f"GitHubClient({world.api_url!r}, token=***)"
