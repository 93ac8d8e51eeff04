"""The GitHub seed: the default world, scenario edits, JSON seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phase4gate.errors import InputError
from phase4gate.sandbox.github_seed import (
    CLI_REPO,
    E2E_REPO,
    SANDBOX_BASE_COMMIT,
    SANDBOX_FIX_COMMITS,
    apply_blocker_scenario,
    close_without_change,
    default_seed,
    load_seed,
    new_token,
    reopen,
    sandbox_seed,
)

FIX_1141 = "1" * 40
FIX_1182 = "2" * 40


def test_default_world_closes_blockers_by_their_fix_commits() -> None:
    """#1141 by a closed event's commit, #1182 by a merged PR; e2e#41 and #1038 open."""
    seed = default_seed({1141: FIX_1141, 1182: FIX_1182})

    i1141 = seed.issue(CLI_REPO, 1141)
    closed = [e for e in i1141.events if e.event == "closed"]
    assert (i1141.state, i1141.state_reason, [e.commit_id for e in closed]) == ("closed", "completed", [FIX_1141])
    i1182 = seed.issue(CLI_REPO, 1182)
    assert [e.commit_id for e in i1182.events if e.event == "closed"] == [None]
    pull = next(p for p in seed.pulls if p.merge_commit_sha == FIX_1182)
    assert (pull.repo, pull.merged) == (CLI_REPO, True)
    assert seed.issue(E2E_REPO, 41).state == "open"
    assert seed.issue(CLI_REPO, 1038).state == "open"


def test_without_fix_commits_the_blockers_stay_open() -> None:
    """No fix, no closing."""
    seed = default_seed()

    assert {seed.issue(CLI_REPO, n).state for n in (1141, 1182)} == {"open"}


def test_a_sibling_fix_reopens_and_closes_by_a_sibling_pr() -> None:
    """The real #1141: closed by a commit, re-opened, closed by an e2e PR."""
    seed = default_seed({1141: FIX_1141}, sibling_fixes={1141: "3" * 40})

    events = [e.event for e in seed.issue(CLI_REPO, 1141).events]
    assert events == ["referenced", "closed", "reopened", "cross-referenced", "closed"]
    assert seed.pulls[-1].repo == E2E_REPO


def test_scenario_edits_change_the_state() -> None:
    """reopen / close_without_change flip state and append events."""
    seed = default_seed({1141: FIX_1141})

    reopen(seed, CLI_REPO, 1141)
    assert seed.issue(CLI_REPO, 1141).state_reason == "reopened"
    close_without_change(seed, CLI_REPO, 1141, reason="not_planned", actor=None)
    issue = seed.issue(CLI_REPO, 1141)
    assert (issue.state, issue.state_reason, issue.events[-1].actor) == ("closed", "not_planned", None)


def test_tokens_are_token_shaped_and_distinct() -> None:
    """Tokens look like GitHub's, so redaction catches them even unknown."""
    seed = default_seed()

    assert len(seed.tokens) == 2
    assert all(t.startswith("ghp_") and len(t) == 40 for t in seed.tokens)
    assert new_token() != new_token()


def test_seed_round_trips_through_json(tmp_path: Path) -> None:
    """A JSON seed with repos, issues, events, comments, pulls and tokens loads."""
    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps(
            {
                "repos": [{"full_name": "o/r", "renamed_from": ["old/r"], "commits": [{"sha": "c" * 40}]}],
                "issues": [
                    {
                        "repo": "o/r",
                        "number": 1,
                        "state": "closed",
                        "state_reason": "completed",
                        "events": [{"event": "closed", "actor": None, "commit_id": "c" * 40}],
                        "comments": [{"id": 5, "author": "a", "body": "hi"}],
                    }
                ],
                "pulls": [{"repo": "o/r", "number": 2, "merged": True, "merge_commit_sha": "c" * 40}],
                "tokens": {"ghp_" + "x" * 36: {"login": "bot", "write": False}},
            }
        ),
        encoding="utf-8",
    )

    seed = load_seed(path)

    assert seed.renamed_to("OLD/r") is seed.repo("o/r")
    assert seed.issue("o/r", 1).events[0].actor is None
    assert seed.find_issue("o/r", 2) is not None
    assert [s.write for s in seed.tokens.values()] == [False]


def test_seed_without_tokens_gets_fresh_ones(tmp_path: Path) -> None:
    """A seed naming no tokens gets a write and a read-only token."""
    path = tmp_path / "seed.json"
    path.write_text("{}", encoding="utf-8")

    assert sorted(s.write for s in load_seed(path).tokens.values()) == [False, True]


@pytest.mark.parametrize(
    ("text", "words"),
    [("not json", "cannot read a JSON seed"), ('{"issues": [{"repo": "o/r", "number": 1, "colour": 1}]}', "colour")],
)
def test_a_bad_seed_names_the_file(tmp_path: Path, text: str, words: str) -> None:
    """Unreadable or unknown fields: InputError naming the file and the problem."""
    path = tmp_path / "seed.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(InputError) as excinfo:
        load_seed(path)

    assert str(path) in str(excinfo.value)
    assert words in str(excinfo.value)


@pytest.mark.parametrize(
    ("scenario", "state", "reason", "last_event"),
    [
        ("issue-open", "open", "reopened", "reopened"),
        ("not-planned", "closed", "not_planned", "closed"),
        ("duplicate", "closed", "duplicate", "closed"),
        ("closed-without-fix", "closed", "completed", "closed"),
        ("sibling-pr", "closed", "completed", "closed"),
    ],
)
def test_blocker_scenarios(scenario: str, state: str, reason: str, last_event: str) -> None:
    """Each demo scenario re-opens the closed blocker and gives it its shape."""
    seed = default_seed({1141: FIX_1141})

    issue = apply_blocker_scenario(seed, scenario, sha="4" * 40)

    assert (issue.state, issue.state_reason, issue.events[-1].event) == (state, reason, last_event)
    assert issue.events[-1].commit_id is None
    if scenario == "sibling-pr":
        assert (seed.pulls[-1].repo, seed.pulls[-1].merge_commit_sha) == (E2E_REPO, "4" * 40)


def test_unknown_or_incomplete_scenarios_are_refused() -> None:
    """An unknown name or a sibling-pr without its commit is a ValueError naming the choices."""
    seed = default_seed()

    with pytest.raises(ValueError, match="issue-open"):
        apply_blocker_scenario(seed, "closed-by-magic")
    with pytest.raises(ValueError, match="sha="):
        apply_blocker_scenario(seed, "sibling-pr")


def test_the_sandbox_world_needs_no_git() -> None:
    """sandbox_seed: blockers closed by seeded fix commits with files; rc16 contains both fixes."""
    seed = sandbox_seed()
    cli = seed.repo(CLI_REPO)
    assert cli is not None

    fix = SANDBOX_FIX_COMMITS[1141]
    assert seed.issue(CLI_REPO, 1141).state == "closed"
    assert cli.commits[fix].files[0]["filename"] == "src/specify_cli/sync/queue.py"
    assert cli.commits[fix].parents == [SANDBOX_BASE_COMMIT]
    assert cli.compare[f"{fix}...v3.2.0rc16"] == "ahead"
    assert cli.tags["v3.2.0rc15"] == SANDBOX_BASE_COMMIT
