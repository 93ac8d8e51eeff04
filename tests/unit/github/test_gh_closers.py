"""Closers are read from timeline JSON: closed events, merged cross-referenced PRs, referenced commits."""

from __future__ import annotations

from typing import Any

from phase4gate.adapters.github import closers_from_timeline
from phase4gate.models import Closer

API = "http://127.0.0.1:1/api/v3"
CLI = "Priivacy-ai/spec-kitty"
E2E = "Priivacy-ai/spec-kitty-end-to-end-testing"
SHA_A = "a" * 40
SHA_B = "b" * 40


def closed(sha: str | None, at: str = "2026-05-12T10:00:00Z", repo: str = CLI, actor: object = None) -> dict[str, Any]:
    return {
        "event": "closed",
        "actor": actor,
        "commit_id": sha,
        "commit_url": f"{API}/repos/{repo}/commits/{sha}" if sha else None,
        "created_at": at,
    }


def xref(repo: str, number: int, at: str = "2026-05-12T09:00:00Z") -> dict[str, Any]:
    return {
        "event": "cross-referenced",
        "actor": {"login": "dev"},
        "created_at": at,
        "source": {
            "type": "issue",
            "issue": {
                "number": number,
                "repository": {"full_name": repo},
                "pull_request": {"url": f"{API}/repos/{repo}/pulls/{number}"},
            },
        },
    }


def pr(repo: str, number: int, *, merged: bool, sha: str, at: str = "2026-05-12T10:00:00Z") -> dict[str, Any]:
    return {f"{API}/repos/{repo}/pulls/{number}": {"merged": merged, "merge_commit_sha": sha, "merged_at": at}}


def test_a_closed_event_with_a_commit_is_a_closer() -> None:
    """A `closed` event's commit_id closes the issue; a null actor is fine."""
    assert closers_from_timeline(CLI, [closed(SHA_A, actor=None)], {}) == (
        Closer(how="closed-event", repo=CLI, sha=SHA_A),
    )


def test_the_commit_repository_comes_from_the_commit_url() -> None:
    """A closing commit in a sibling repository is attributed to it."""
    assert closers_from_timeline(CLI, [closed(SHA_A, repo=E2E)], {})[0].repo == E2E


def test_a_closed_event_without_a_commit_is_no_closer() -> None:
    """A hand closing lists nothing."""
    assert closers_from_timeline(CLI, [closed(None)], {}) == ()


def test_a_merged_cross_referenced_pr_is_a_closer_with_its_merge_commit() -> None:
    """The PR's merge_commit_sha is the closer, in the PR's repository."""
    got = closers_from_timeline(CLI, [xref(E2E, 42), closed(None)], pr(E2E, 42, merged=True, sha=SHA_B))

    assert got == (Closer(how="cross-referenced-pr", repo=E2E, sha=SHA_B, pr_number=42, merged=True),)


def test_an_unmerged_pr_is_listed_without_a_sha() -> None:
    """An open or closed-unmerged PR is a candidate, never a change."""
    got = closers_from_timeline(CLI, [xref(CLI, 7)], pr(CLI, 7, merged=False, sha=SHA_B))

    assert got == (Closer(how="cross-referenced-pr", repo=CLI, sha=None, pr_number=7, merged=False),)


def test_a_cross_reference_from_an_issue_is_ignored() -> None:
    """Only pull requests can carry a change."""
    entry = xref(CLI, 9)
    del entry["source"]["issue"]["pull_request"]

    assert closers_from_timeline(CLI, [entry], {}) == ()


def test_only_the_current_closing_counts_after_a_reopen() -> None:
    """Closed by a commit, re-opened, closed by hand: the old commit proves nothing now."""
    timeline = [
        closed(SHA_A, at="2026-05-12T10:00:00Z"),
        {"event": "reopened", "actor": None, "created_at": "2026-05-13T08:00:00Z"},
        closed(None, at="2026-05-14T08:00:00Z"),
    ]

    assert closers_from_timeline(CLI, timeline, {}) == ()


def test_a_pr_merged_before_the_reopen_is_left_out() -> None:
    """A PR merged before the last re-open closed an earlier closing."""
    timeline = [
        xref(CLI, 5, at="2026-05-11T08:00:00Z"),
        {"event": "reopened", "actor": None, "created_at": "2026-05-13T08:00:00Z"},
        xref(E2E, 42, at="2026-05-13T09:00:00Z"),
        closed(None, at="2026-05-14T08:00:00Z"),
    ]
    pulls = {
        **pr(CLI, 5, merged=True, sha=SHA_A, at="2026-05-12T10:00:00Z"),
        **pr(E2E, 42, merged=True, sha=SHA_B, at="2026-05-14T08:00:00Z"),
    }

    assert [c.sha for c in closers_from_timeline(CLI, timeline, pulls)] == [SHA_B]


def test_referenced_commits_are_listed_once() -> None:
    """A `referenced` commit is a candidate; duplicates collapse."""
    ref = {"event": "referenced", "commit_id": SHA_A, "commit_url": f"{API}/repos/{CLI}/commits/{SHA_A}"}

    assert closers_from_timeline(CLI, [ref, ref, {"event": "commented"}], {}) == (
        Closer(how="referenced-commit", repo=CLI, sha=SHA_A),
    )
