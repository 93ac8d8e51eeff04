"""The GitHub emulator's state: a small declarative, mutable model and its default seed.

A :class:`Seed` holds repositories (with renames and, optionally, a local git
checkout that answers commits, compare and tags), issues with their events,
pull requests, comments and the tokens the emulator accepts.  It is plain data:
a test or a demo scenario changes it while the emulator runs (under
``GitHubEmulator.lock``), e.g. with :func:`reopen`, :func:`close_with_commit`,
:func:`close_by_pr` or :func:`close_without_change`.

``load_seed(path)`` reads the same model from a JSON file (``phase4gate sandbox --seed``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from attrs import define, field

from phase4gate.errors import InputError

__all__ = [
    "BLOCKER_SCENARIOS",
    "CLI_REPO",
    "E2E_REPO",
    "EVENTS_REPO",
    "SANDBOX_BASE_COMMIT",
    "SANDBOX_FIX_COMMITS",
    "Seed",
    "SeedComment",
    "SeedCommit",
    "SeedEvent",
    "SeedIssue",
    "SeedPull",
    "SeedRepo",
    "SeedToken",
    "apply_blocker_scenario",
    "close_by_pr",
    "close_with_commit",
    "close_without_change",
    "default_seed",
    "load_seed",
    "new_token",
    "reopen",
    "sandbox_seed",
]

CLI_REPO: Final = "Priivacy-ai/spec-kitty"
E2E_REPO: Final = "Priivacy-ai/spec-kitty-end-to-end-testing"
EVENTS_REPO: Final = "Priivacy-ai/spec-kitty-events"
_T0: Final = "2026-05-10T09:00:00Z"


def new_token() -> str:
    """Return a fresh token in GitHub's classic shape (``ghp_`` + 36 characters)."""
    return "ghp_" + secrets.token_hex(18)


@define
class SeedToken:
    """A token the emulator accepts: whose it is and whether it may write."""

    login: str
    write: bool = True


@define
class SeedCommit:
    """A commit served from seeded data (when the repository has no git checkout)."""

    sha: str
    message: str = ""
    parents: list[str] = field(factory=list)
    files: list[dict[str, Any]] = field(factory=list)
    author: str = "octo-dev"
    date: str = _T0


@define
class SeedRepo:
    """A repository; ``renamed_from`` names answer 301/307 to this one."""

    full_name: str
    id: int = 0
    renamed_from: list[str] = field(factory=list)
    default_branch: str = "main"
    # A local git repository that answers commits, compare and tags (real data).
    git_path: str | None = None
    commits: dict[str, SeedCommit] = field(factory=dict)
    tags: dict[str, str] = field(factory=dict)  # tag name -> commit sha
    # Seeded compare answers ("base...head" -> ahead/behind/identical/diverged) without git.
    compare: dict[str, str] = field(factory=dict)


@define
class SeedEvent:
    """An issue event.

    ``event``: ``closed`` / ``reopened`` / ``referenced`` (in the events list and
    timeline) or ``cross-referenced`` / ``committed`` (timeline only).  ``actor``
    None is a deleted account (GitHub sends ``"actor": null``).  For
    ``cross-referenced``, ``source_repo``/``source_number`` name the PR or issue.
    """

    event: str
    actor: str | None = "octo-dev"
    commit_id: str | None = None
    commit_repo: str | None = None
    source_repo: str | None = None
    source_number: int | None = None
    state_reason: str | None = None
    created_at: str = _T0
    id: int = 0


@define
class SeedComment:
    """An issue comment."""

    id: int
    author: str
    body: str
    created_at: str = _T0
    updated_at: str = _T0


@define
class SeedIssue:
    """An issue (or the issue side of a pull request)."""

    repo: str
    number: int
    title: str = ""
    body: str = ""
    author: str = "octo-dev"
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None
    closed_by: str | None = None
    labels: list[str] = field(factory=list)
    deleted: bool = False
    events: list[SeedEvent] = field(factory=list)
    comments: list[SeedComment] = field(factory=list)
    created_at: str = _T0
    updated_at: str = _T0
    id: int = 0


@define
class SeedPull:
    """A pull request; its issue side is a :class:`SeedIssue` with the same number."""

    repo: str
    number: int
    title: str = ""
    head_sha: str = "0" * 40
    base_ref: str = "main"
    head_ref: str = "fix"
    merged: bool = False
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    author: str = "octo-dev"
    id: int = 0


@define
class Seed:
    """Everything the emulator serves; mutate it (under the emulator's lock) to change a scenario."""

    repos: list[SeedRepo] = field(factory=list)
    issues: list[SeedIssue] = field(factory=list)
    pulls: list[SeedPull] = field(factory=list)
    tokens: dict[str, SeedToken] = field(factory=dict, repr=False)
    next_id: int = 1000

    def new_id(self) -> int:
        """Return a fresh object id."""
        self.next_id += 1
        return self.next_id

    def repo(self, name: str) -> SeedRepo | None:
        """Return the repository called *name* (case-insensitive), not following renames."""
        lower = name.lower()
        return next((r for r in self.repos if r.full_name.lower() == lower), None)

    def renamed_to(self, name: str) -> SeedRepo | None:
        """Return the repository that used to be called *name*."""
        lower = name.lower()
        return next((r for r in self.repos if any(o.lower() == lower for o in r.renamed_from)), None)

    def issue(self, repo: str, number: int) -> SeedIssue:
        """Return issue *repo*#*number*.

        Raises:
            KeyError: no such issue in the seed.
        """
        lower = repo.lower()
        for i in self.issues:
            if i.repo.lower() == lower and i.number == number:
                return i
        raise KeyError(f"{repo}#{number}")

    def find_issue(self, repo: str, number: int) -> SeedIssue | None:
        """Return issue *repo*#*number*, or None."""
        try:
            return self.issue(repo, number)
        except KeyError:
            return None

    def pull(self, repo: str, number: int) -> SeedPull | None:
        """Return pull request *repo*#*number*, or None."""
        lower = repo.lower()
        return next((p for p in self.pulls if p.repo.lower() == lower and p.number == number), None)

    def add_pull(self, pull: SeedPull, *, body: str = "") -> SeedPull:
        """Add *pull* and its issue side."""
        pull.id = pull.id or self.new_id()
        self.pulls.append(pull)
        self.issues.append(
            SeedIssue(
                repo=pull.repo,
                number=pull.number,
                title=pull.title,
                body=body,
                author=pull.author,
                state="closed" if pull.merged else "open",
                closed_at=pull.merged_at,
                id=self.new_id(),
            )
        )
        return pull

    def add_event(self, issue: SeedIssue, event: SeedEvent) -> SeedEvent:
        """Append *event* to *issue* with a fresh id."""
        event.id = event.id or self.new_id()
        issue.events.append(event)
        return event

    def add_comment(self, issue: SeedIssue, author: str, body: str, at: str = _T0) -> SeedComment:
        """Append a comment to *issue*."""
        comment = SeedComment(id=self.new_id(), author=author, body=body, created_at=at, updated_at=at)
        issue.comments.append(comment)
        return comment


# ----------------------------------------------------------------------------- scenario edits


def reopen(seed: Seed, repo: str, number: int, *, actor: str | None = "octo-dev", at: str = _T0) -> SeedIssue:
    """Re-open an issue (state ``open``, state_reason ``reopened``, a ``reopened`` event)."""
    issue = seed.issue(repo, number)
    issue.state, issue.state_reason, issue.closed_at, issue.closed_by = "open", "reopened", None, None
    seed.add_event(issue, SeedEvent("reopened", actor=actor, created_at=at))
    return issue


def _close(  # noqa: PLR0913, PLR0917 - private; every field of a closing
    seed: Seed, issue: SeedIssue, reason: str, actor: str | None, at: str, commit: str | None, crepo: str
) -> None:
    issue.state, issue.state_reason, issue.closed_at, issue.closed_by = "closed", reason, at, actor
    issue.updated_at = at
    seed.add_event(
        issue,
        SeedEvent("closed", actor=actor, commit_id=commit, commit_repo=crepo if commit else None, created_at=at),
    )


def close_with_commit(  # noqa: PLR0913 - keyword knobs of a scenario edit
    seed: Seed,
    repo: str,
    number: int,
    sha: str,
    *,
    commit_repo: str | None = None,
    actor: str | None = "octo-dev",
    at: str = "2026-05-12T10:00:00Z",
) -> SeedIssue:
    """Close an issue as completed by a commit (a ``closed`` event with ``commit_id``)."""
    issue = seed.issue(repo, number)
    crepo = commit_repo or repo
    seed.add_event(issue, SeedEvent("referenced", actor=actor, commit_id=sha, commit_repo=crepo, created_at=at))
    _close(seed, issue, "completed", actor, at, sha, crepo)
    return issue


def close_by_pr(  # noqa: PLR0913 - keyword knobs of a scenario edit
    seed: Seed,
    repo: str,
    number: int,
    merge_sha: str,
    *,
    pr_repo: str | None = None,
    pr_number: int | None = None,
    merged: bool = True,
    commit_id_on_event: bool = False,
    actor: str | None = "octo-dev",
    at: str = "2026-05-12T10:00:00Z",
) -> SeedPull:
    """Close an issue as completed by a PR (same or sibling repository) cross-referencing it.

    The ``closed`` event carries ``commit_id`` only when *commit_id_on_event*: GitHub
    does not reliably set it when a PR merge closes an issue.
    """
    issue = seed.issue(repo, number)
    prepo = pr_repo or repo
    prn = pr_number or max((i.number for i in seed.issues if i.repo.lower() == prepo.lower()), default=0) + 1
    pull = seed.add_pull(
        SeedPull(
            repo=prepo,
            number=prn,
            title=f"Fix #{number}",
            head_sha=merge_sha,
            merged=merged,
            merged_at=at if merged else None,
            merge_commit_sha=merge_sha,
        ),
        body=f"Fixes {repo}#{number}",
    )
    seed.add_event(
        issue, SeedEvent("cross-referenced", actor=actor, source_repo=prepo, source_number=prn, created_at=at)
    )
    _close(seed, issue, "completed", actor, at, merge_sha if commit_id_on_event else None, prepo)
    return pull


def close_without_change(  # noqa: PLR0913 - keyword knobs of a scenario edit
    seed: Seed,
    repo: str,
    number: int,
    *,
    reason: str = "completed",
    actor: str | None = "octo-dev",
    at: str = "2026-05-12T10:00:00Z",
) -> SeedIssue:
    """Close an issue by hand with *reason* (completed, not_planned, duplicate) and no linked change."""
    issue = seed.issue(repo, number)
    _close(seed, issue, reason, actor, at, None, repo)
    return issue


BLOCKER_SCENARIOS: Final = ("issue-open", "not-planned", "duplicate", "closed-without-fix", "sibling-pr")


def apply_blocker_scenario(  # noqa: PLR0913 - keyword knobs of a scenario edit
    seed: Seed,
    scenario: str,
    *,
    number: int = 1141,
    repo: str = CLI_REPO,
    sha: str | None = None,
    sibling_repo: str = E2E_REPO,
) -> SeedIssue:
    """Turn blocker *repo*#*number* into a demo scenario's shape (a closed blocker is re-opened first).

    ``issue-open``: left open; ``not-planned`` / ``duplicate``: closed by hand with
    that reason; ``closed-without-fix``: closed as completed with no linked change;
    ``sibling-pr``: closed by a merged PR of *sibling_repo* whose merge commit is *sha*.

    Raises:
        ValueError: an unknown scenario, or ``sibling-pr`` without *sha*.
    """
    if scenario not in BLOCKER_SCENARIOS:
        raise ValueError(f"unknown blocker scenario {scenario!r}; expected one of {', '.join(BLOCKER_SCENARIOS)}")
    issue = seed.issue(repo, number)
    if issue.state == "closed":
        reopen(seed, repo, number, at="2026-05-13T08:00:00Z")
    at = "2026-05-14T08:00:00Z"
    if scenario == "not-planned":
        close_without_change(seed, repo, number, reason="not_planned", at=at)
    elif scenario == "duplicate":
        close_without_change(seed, repo, number, reason="duplicate", at=at)
    elif scenario == "closed-without-fix":
        close_without_change(seed, repo, number, at=at)
    elif scenario == "sibling-pr":
        if not sha:
            raise ValueError("the sibling-pr scenario needs the sibling fix commit (sha=...)")
        close_by_pr(seed, repo, number, sha, pr_repo=sibling_repo, at=at)
    return seed.issue(repo, number)


# ----------------------------------------------------------------------------- the default world


def _repo(seed: Seed, name: str, **kw: Any) -> SeedRepo:  # noqa: ANN401 - attrs keyword pass-through
    r = SeedRepo(full_name=name, id=seed.new_id(), **kw)
    seed.repos.append(r)
    return r


def _issue(seed: Seed, repo: str, number: int, title: str) -> SeedIssue:
    i = SeedIssue(repo=repo, number=number, title=title, body=f"{title}.", id=seed.new_id())
    seed.issues.append(i)
    return i


SANDBOX_BASE_COMMIT: Final = hashlib.sha1(b"spec-kitty 3.2.0rc15 baseline").hexdigest()  # noqa: S324 - an id
SANDBOX_FIX_COMMITS: Final = {
    n: hashlib.sha1(f"fix #{n}".encode()).hexdigest()  # noqa: S324 - an id
    for n in (1141, 1182)
}
_FIX_FILES: Final = {1141: "src/specify_cli/sync/queue.py", 1182: "src/specify_cli/sync/errors.py"}


def _seeded_fix(number: int, sha: str) -> SeedCommit:
    source = _FIX_FILES.get(number, f"src/specify_cli/fix_{number}.py")
    test = f"tests/test_issue_{number}.py"
    return SeedCommit(
        sha=sha,
        message=f"Fix #{number}\n\nCloses #{number}",
        parents=[SANDBOX_BASE_COMMIT],
        files=[
            {
                "filename": source,
                "additions": 1,
                "deletions": 1,
                "patch": "@@ -1,2 +1,2 @@\n def fixed():\n-    return False\n+    return True",
            },
            {"filename": test, "status": "added", "additions": 1, "patch": "@@ -0,0 +1 @@\n+def test_fix():"},
        ],
        date="2026-05-12T10:00:00Z",
    )


def sandbox_seed() -> Seed:
    """Return the world ``phase4gate sandbox`` serves by default (no git checkout needed).

    #1141 and #1182 closed by :data:`SANDBOX_FIX_COMMITS` (seeded commits with
    files), tags ``v3.2.0rc15`` (baseline) and ``v3.2.0rc16`` (containing both
    fixes), and compare answers between the fixes and the tags.
    """
    rc16 = hashlib.sha1(b"spec-kitty 3.2.0rc16").hexdigest()  # noqa: S324 - an id
    seed = default_seed(SANDBOX_FIX_COMMITS, tags={"v3.2.0rc15": SANDBOX_BASE_COMMIT, "v3.2.0rc16": rc16})
    cli = seed.repo(CLI_REPO)
    if cli is not None:  # always: default_seed made it
        cli.commits[SANDBOX_BASE_COMMIT] = SeedCommit(SANDBOX_BASE_COMMIT, "spec-kitty 3.2.0rc15 baseline")
        cli.commits[rc16] = SeedCommit(rc16, "Release 3.2.0rc16", parents=list(SANDBOX_FIX_COMMITS.values()))
        for sha in SANDBOX_FIX_COMMITS.values():
            for ref in (rc16, "v3.2.0rc16"):
                cli.compare[f"{sha}...{ref}"] = "ahead"
            cli.compare[f"{sha}...v3.2.0rc15"] = "behind"
        cli.compare["v3.2.0rc15...v3.2.0rc16"] = "ahead"
    return seed


def default_seed(  # noqa: PLR0913 - keyword knobs of a scenario edit
    cli_fix_commits: Mapping[int, str] | None = None,
    *,
    repo_paths: Mapping[str, str] | None = None,
    sibling_fixes: Mapping[int, str] | None = None,
    tags: Mapping[str, str] | None = None,
    cli_repo: str = CLI_REPO,
    e2e_repo: str = E2E_REPO,
    cli_renamed_from: Sequence[str] = (),
    write_token: str | None = None,
    read_only_token: str | None = None,
) -> Seed:
    """Return the real gate's GitHub world.

    * *cli_repo*, *e2e_repo* and the events repository; names in *cli_renamed_from*
      answer 301 (GET) / 307 (writes) to *cli_repo*, as GitHub does for a moved repository;
    * blockers #1141 and #1182 in *cli_repo*: each closed as completed by its fix in
      *cli_fix_commits* (number -> sha).  #1141 is closed by a ``closed`` event whose
      ``commit_id`` is the fix; #1182 by a merged PR of the CLI repository whose
      ``merge_commit_sha`` is the fix (the ``closed`` event has no ``commit_id``, as on
      GitHub).  A blocker without a fix commit stays open;
    * *sibling_fixes* (number -> sha): close that blocker instead by a merged PR of
      *e2e_repo* (the real #1141's second closing);
    * e2e#41 and #1038 open; the #1038 tracker has one earlier comment;
    * *repo_paths* (repo name -> local git path): commits, compare and tags are read there;
    * *tags* (tag -> sha) for *cli_repo* when it has no git path;
    * tokens: *write_token* (login ``gate-bot``, may write) and *read_only_token*.
    """
    seed = Seed()
    paths = dict(repo_paths or {})
    cli = _repo(
        seed, cli_repo, git_path=paths.get(cli_repo), tags=dict(tags or {}), renamed_from=list(cli_renamed_from)
    )
    _repo(seed, e2e_repo, git_path=paths.get(e2e_repo))
    _repo(seed, EVENTS_REPO, git_path=paths.get(EVENTS_REPO))
    _issue(seed, cli_repo, 1038, "Release tracker: 3.2.0")
    seed.add_comment(seed.issue(cli_repo, 1038), "maintainer", "Tracking the 3.2.0 release gate.")
    _issue(seed, cli_repo, 1141, "OfflineQueue.queue_event silent replacement")
    _issue(seed, cli_repo, 1182, "sync now unknown-error misclassification")
    _issue(seed, e2e_repo, 41, "Auth identity-boundary canary: 4/4 pass evidence")
    fixes = dict(cli_fix_commits or {})
    if cli.git_path is None:
        # Without a git checkout, the fix commits are answered from seeded data.
        for number, sha in fixes.items():
            cli.commits.setdefault(sha, _seeded_fix(number, sha))
    for number, sha in sorted(fixes.items()):
        if number == 1182:
            close_by_pr(seed, cli_repo, number, sha, pr_number=1200 + (number % 100))
        else:
            close_with_commit(seed, cli_repo, number, sha)
    for number, sha in sorted((sibling_fixes or {}).items()):
        issue = seed.issue(cli_repo, number)
        if issue.state == "closed":
            reopen(seed, cli_repo, number, at="2026-05-13T08:00:00Z")
        close_by_pr(seed, cli_repo, number, sha, pr_repo=e2e_repo, at="2026-05-14T08:00:00Z")
    seed.tokens[write_token or new_token()] = SeedToken("gate-bot", write=True)
    seed.tokens[read_only_token or new_token()] = SeedToken("reader-bot", write=False)
    return seed


# ----------------------------------------------------------------------------- JSON seeds


def load_seed(path: Path) -> Seed:
    """Read a seed from a JSON file: ``{"repos": [...], "issues": [...], "pulls": [...], "tokens": {...}}``.

    Issue objects may hold ``events`` and ``comments`` lists; keys are the
    attribute names of the ``Seed*`` classes.

    Raises:
        InputError: the file is unreadable, not JSON, or has an unknown or wrong field.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), [f"$: cannot read a JSON seed: {exc}"]) from None
    try:
        return seed_from_mapping(data)
    except (TypeError, KeyError, AttributeError) as exc:
        raise InputError(str(path), [f"$: {exc}"]) from None


def seed_from_mapping(data: Mapping[str, Any]) -> Seed:
    """Build a :class:`Seed` from decoded JSON (see :func:`load_seed`).

    Raises:
        TypeError: an unknown or missing field.
    """
    seed = Seed()
    for r in data.get("repos", []):
        commits = {c["sha"]: SeedCommit(**c) for c in r.get("commits", [])}
        repo = SeedRepo(**{**r, "commits": commits})
        repo.id = repo.id or seed.new_id()
        seed.repos.append(repo)
    for i in data.get("issues", []):
        events = [SeedEvent(**e) for e in i.get("events", [])]
        comments = [SeedComment(**c) for c in i.get("comments", [])]
        issue = SeedIssue(**{**i, "events": events, "comments": comments})
        issue.id = issue.id or seed.new_id()
        for e in issue.events:
            e.id = e.id or seed.new_id()
        seed.issues.append(issue)
    for p in data.get("pulls", []):
        pull = SeedPull(**p)
        pull.id = pull.id or seed.new_id()
        seed.pulls.append(pull)
        if seed.find_issue(pull.repo, pull.number) is None:
            seed.issues.append(SeedIssue(repo=pull.repo, number=pull.number, title=pull.title, id=seed.new_id()))
    for token, spec in data.get("tokens", {}).items():
        seed.tokens[token] = SeedToken(**spec)
    if not seed.tokens:
        seed.tokens[new_token()] = SeedToken("gate-bot", write=True)
        seed.tokens[new_token()] = SeedToken("reader-bot", write=False)
    return seed
