"""WP01's first half end to end: the emulator's issues, read by the adapter, judged by the check.

Each scenario edits the running emulator's state (as a demo scenario does), then
reads #1141 and #1182 with ``GitHubClient.issue`` and runs ``check_blockers_closed``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from phase4gate.adapters.github import GitHubClient
from phase4gate.checks.blockers import (
    CONDITION_NOT_FIXED,
    CONDITION_OPEN,
    BlockerState,
    BlockersVerdict,
    check_blockers_closed,
)
from phase4gate.models import StopKind
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import (
    CLI_REPO,
    E2E_REPO,
    Seed,
    close_by_pr,
    close_with_commit,
    close_without_change,
    default_seed,
    reopen,
)

from .conftest import FIX_1182, GitRepo

SIBLING_FIX = "e2e0" + "c" * 36
Scenario = Callable[[Seed, GitRepo], None]


def judge(em: GitHubEmulator, client: GitHubClient) -> BlockersVerdict:
    snaps = [client.issue(CLI_REPO, n) for n in (1141, 1182)]
    return check_blockers_closed(snaps, expected=[(CLI_REPO, 1141), (CLI_REPO, 1182)], repos=[CLI_REPO, E2E_REPO])


def _open(seed: Seed, _repo: GitRepo) -> None:
    reopen(seed, CLI_REPO, 1141)


def _by_commit(seed: Seed, repo: GitRepo) -> None:
    reopen(seed, CLI_REPO, 1141)
    close_with_commit(seed, CLI_REPO, 1141, repo.commits["fix"], at="2026-05-13T10:00:00Z")


def _by_same_repo_pr(seed: Seed, repo: GitRepo) -> None:
    reopen(seed, CLI_REPO, 1141)
    close_by_pr(seed, CLI_REPO, 1141, repo.commits["fix"], at="2026-05-13T10:00:00Z")


def _by_sibling_pr(seed: Seed, _repo: GitRepo) -> None:
    reopen(seed, CLI_REPO, 1141, at="2026-05-13T08:00:00Z")
    close_by_pr(seed, CLI_REPO, 1141, SIBLING_FIX, pr_repo=E2E_REPO, at="2026-05-14T08:00:00Z")


def _without_change(seed: Seed, _repo: GitRepo) -> None:
    reopen(seed, CLI_REPO, 1141, at="2026-05-13T08:00:00Z")
    close_without_change(seed, CLI_REPO, 1141, at="2026-05-14T08:00:00Z")


def _not_planned(seed: Seed, _repo: GitRepo) -> None:
    reopen(seed, CLI_REPO, 1141, at="2026-05-13T08:00:00Z")
    close_without_change(seed, CLI_REPO, 1141, reason="not_planned", at="2026-05-14T08:00:00Z")


def _duplicate(seed: Seed, _repo: GitRepo) -> None:
    reopen(seed, CLI_REPO, 1141, at="2026-05-13T08:00:00Z")
    close_without_change(seed, CLI_REPO, 1141, reason="duplicate", at="2026-05-14T08:00:00Z")


def _null_actor(seed: Seed, repo: GitRepo) -> None:
    reopen(seed, CLI_REPO, 1141, actor=None, at="2026-05-13T08:00:00Z")
    close_with_commit(seed, CLI_REPO, 1141, repo.commits["fix"], actor=None, at="2026-05-14T08:00:00Z")


def _unmerged_pr(seed: Seed, repo: GitRepo) -> None:
    reopen(seed, CLI_REPO, 1141, at="2026-05-13T08:00:00Z")
    close_by_pr(seed, CLI_REPO, 1141, repo.commits["fix"], merged=False, at="2026-05-14T08:00:00Z")


@pytest.mark.parametrize(
    ("scenario", "kind", "state", "closer_repo"),
    [
        (_open, StopKind.WAITING, BlockerState.OPEN, None),
        (_by_commit, None, BlockerState.CLOSED_BY_CHANGE, CLI_REPO),
        (_by_same_repo_pr, None, BlockerState.CLOSED_BY_CHANGE, CLI_REPO),
        (_by_sibling_pr, None, BlockerState.CLOSED_BY_CHANGE, E2E_REPO),
        (_without_change, StopKind.FAILED, BlockerState.NO_LINKED_CHANGE, None),
        (_not_planned, StopKind.FAILED, BlockerState.NOT_PLANNED, None),
        (_duplicate, StopKind.FAILED, BlockerState.DUPLICATE, None),
        (_null_actor, None, BlockerState.CLOSED_BY_CHANGE, CLI_REPO),
        (_unmerged_pr, StopKind.FAILED, BlockerState.NO_LINKED_CHANGE, None),
    ],
    ids=[
        "open",
        "commit",
        "same-repo-pr",
        "sibling-pr",
        "no-change",
        "not-planned",
        "duplicate",
        "null-actor",
        "unmerged-pr",
    ],
)
def test_wp01_blocker_cases(  # noqa: PLR0917 - parametrized
    world: GitHubEmulator,
    client: GitHubClient,
    git_repo: GitRepo,
    scenario: Scenario,
    kind: StopKind | None,
    state: BlockerState,
    closer_repo: str | None,
) -> None:
    """Each real-world closing shape gets its verdict; #1182 (closed by its PR) always passes."""
    with world.lock:
        scenario(world.state, git_repo)

    verdict = judge(world, client)

    assert verdict.stop_kind is kind
    b1141 = verdict.verdict(1141)
    assert b1141.state is state
    assert verdict.verdict(1182).state is BlockerState.CLOSED_BY_CHANGE
    assert verdict.verdict(1182).closers[0].sha == FIX_1182
    if closer_repo is None:
        assert b1141.closers == ()
        assert verdict.facts()["blocker_1141_closer"] == ""
        assert verdict.condition == (CONDITION_OPEN if kind is StopKind.WAITING else CONDITION_NOT_FIXED)
        assert f"{CLI_REPO}#1141" in verdict.reason
    else:
        assert {c.repo for c in b1141.closers} == {closer_repo}
        assert verdict.passed
        assert verdict.facts()["blocker_1141_closer"].startswith(f"{closer_repo}@")  # type: ignore[union-attr]


def test_default_world_passes_and_hands_over_the_fix(
    world: GitHubEmulator, client: GitHubClient, git_repo: GitRepo
) -> None:
    """The default seed: both blockers closed by their fixes; the CLI fix commit is handed to the audit."""
    verdict = judge(world, client)

    assert verdict.passed
    assert verdict.facts()["blocker_1141_closer"] == f"{CLI_REPO}@{git_repo.commits['fix']}"
    assert verdict.facts()["blocker_1182_closer"] == f"{CLI_REPO}@{FIX_1182}"


def test_the_real_1141_history(make_emulator: Callable[[Seed], GitHubEmulator], git_repo: GitRepo) -> None:
    """Closed by the squash commit, re-opened, closed by an e2e PR: only the e2e PR closes it now."""
    seed = default_seed({1141: git_repo.commits["fix"], 1182: FIX_1182}, sibling_fixes={1141: SIBLING_FIX})
    em = make_emulator(seed)
    client = GitHubClient(em.api_url, em.token, sleep=lambda _s: None)

    verdict = judge(em, client)

    assert verdict.passed
    closers = verdict.verdict(1141).closers
    assert [(c.how, c.repo, c.sha) for c in closers] == [("cross-referenced-pr", E2E_REPO, SIBLING_FIX)]


def test_read_only_token_is_enough_for_wp01(world: GitHubEmulator, git_repo: GitRepo) -> None:
    """WP01 only reads: the read-only token gives the same verdict."""
    client = GitHubClient(world.api_url, world.read_only_token, sleep=lambda _s: None)

    assert judge(world, client).passed
    assert {world.who(r) for r in world.requests} == {"reader-bot"}
