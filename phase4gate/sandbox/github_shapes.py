"""The JSON shapes of the GitHub emulator's answers, and the git readers behind them.

Every object here conforms to GitHub's published OpenAPI description (REST API version
2022-11-28): ``tests/integration/github/test_gh_openapi.py`` checks each route's answers.
Every ``url``/``*_url`` field is absolute and points at the emulator's own origin.
Commits, compare and tags are read from a real git repository (``SeedRepo.git_path``)
through the project's one git helper (:func:`phase4gate.adapters.git.git_output`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from phase4gate.adapters.git import git_output
from phase4gate.errors import GitError
from phase4gate.sandbox.github_seed import Seed, SeedComment, SeedEvent, SeedIssue, SeedPull, SeedRepo

__all__ = [
    "ZERO_SHA",
    "GitHubShapes",
    "commit_from_git",
    "compare_from_git",
    "git_text",
    "tag_from_git",
    "tag_names_from_git",
    "tag_object_from_git",
]

ZERO_SHA: Final = "0" * 40


class GitHubShapes:
    """Build GitHub's objects for *state*, with URLs under *api_url* and *origin*."""

    def __init__(self, state: Seed, api_url: str, origin: str) -> None:
        self.state = state
        self.api_url = api_url
        self.origin = origin

    def user(self, login: str | None) -> dict[str, Any] | None:
        """Return a ``simple-user`` (with the public profile fields) for *login*; None for no login."""
        if login is None:
            return None
        base = f"{self.api_url}/users/{login}"
        uid = int(hashlib.sha256(login.encode()).hexdigest()[:6], 16)
        return {
            "login": login,
            "id": uid,
            "node_id": f"U_{uid}",
            "avatar_url": f"{self.origin}/avatars/{login}",
            "gravatar_id": "",
            "url": base,
            "html_url": f"{self.origin}/{login}",
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": "Bot" if login.endswith("-bot") else "User",
            "site_admin": False,
            "name": login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }

    def private_user(self, login: str) -> dict[str, Any] | None:
        """Return the authenticated user (``private-user``): the public profile plus the account's own counts."""
        user = self.user(login)
        if user is None:
            return None
        user.update(
            {
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 0,
                "collaborators": 0,
                "two_factor_authentication": True,
            }
        )
        return user

    def repo(self, repo: SeedRepo) -> dict[str, Any]:
        """Return a ``full-repository``."""
        base = f"{self.api_url}/repos/{repo.full_name}"
        html = f"{self.origin}/{repo.full_name}"
        owner, name = repo.full_name.split("/", 1)
        urls = {
            "archive_url": "/{archive_format}{/ref}",
            "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}",
            "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}",
            "contributors_url": "/contributors",
            "deployments_url": "/deployments",
            "downloads_url": "/downloads",
            "events_url": "/events",
            "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "hooks_url": "/hooks",
            "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}",
            "labels_url": "/labels{/name}",
            "languages_url": "/languages",
            "merges_url": "/merges",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}",
            "stargazers_url": "/stargazers",
            "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers",
            "subscription_url": "/subscription",
            "tags_url": "/tags",
            "teams_url": "/teams",
            "trees_url": "/git/trees{/sha}",
        }
        out: dict[str, Any] = {k: base + v for k, v in urls.items()}
        open_issues = sum(
            1 for i in self.state.issues if i.repo.lower() == repo.full_name.lower() and i.state == "open"
        )
        out.update(
            {
                "id": repo.id,
                "node_id": f"R_{repo.id}",
                "name": name,
                "full_name": repo.full_name,
                "owner": self.user(owner),
                "private": False,
                "html_url": html,
                "description": None,
                "fork": False,
                "url": base,
                "clone_url": f"{html}.git",
                "git_url": f"git://127.0.0.1/{repo.full_name}.git",
                "ssh_url": f"git@127.0.0.1:{repo.full_name}.git",
                "svn_url": html,
                "mirror_url": None,
                "homepage": None,
                "language": "Python",
                "archived": False,
                "disabled": False,
                "default_branch": repo.default_branch,
                "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2026-05-01T00:00:00Z",
                "pushed_at": "2026-05-01T00:00:00Z",
                "size": 1,
                "forks_count": 0,
                "network_count": 0,
                "open_issues_count": open_issues,
                "stargazers_count": 0,
                "subscribers_count": 0,
                "watchers_count": 0,
                "has_downloads": True,
                "has_issues": True,
                "has_pages": False,
                "has_projects": False,
                "has_wiki": False,
                "has_discussions": False,
                "visibility": "public",
                "license": None,
                "forks": 0,
                "open_issues": open_issues,
                "watchers": 0,
            }
        )
        return out

    def issue(self, issue: SeedIssue) -> dict[str, Any]:
        """Return an ``issue`` (with ``pull_request`` when the issue is a PR)."""
        repo_base = f"{self.api_url}/repos/{issue.repo}"
        base = f"{repo_base}/issues/{issue.number}"
        pull = self.state.pull(issue.repo, issue.number)
        out: dict[str, Any] = {
            "url": base,
            "repository_url": repo_base,
            "labels_url": f"{base}/labels{{/name}}",
            "comments_url": f"{base}/comments",
            "events_url": f"{base}/events",
            "timeline_url": f"{base}/timeline",
            "html_url": f"{self.origin}/{issue.repo}/{'pull' if pull else 'issues'}/{issue.number}",
            "id": issue.id,
            "node_id": f"I_{issue.id}",
            "number": issue.number,
            "title": issue.title,
            "user": self.user(issue.author),
            "labels": [
                {
                    "id": 1 + i,
                    "node_id": f"L_{i}",
                    "url": f"{repo_base}/labels/{quote(lbl)}",
                    "name": lbl,
                    "color": "ededed",
                    "default": False,
                    "description": None,
                }
                for i, lbl in enumerate(issue.labels)
            ],
            "state": issue.state,
            "state_reason": issue.state_reason,
            "locked": False,
            "active_lock_reason": None,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": len(issue.comments),
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
            "closed_by": self.user(issue.closed_by) if issue.state == "closed" else None,
            "author_association": "MEMBER",
            "body": issue.body,
            "body_html": f"<p>{issue.body}</p>",
            "body_text": issue.body,
            "performed_via_github_app": None,
        }
        if pull is not None:
            out["pull_request"] = {
                "url": f"{repo_base}/pulls/{pull.number}",
                "html_url": f"{self.origin}/{pull.repo}/pull/{pull.number}",
                "diff_url": f"{self.origin}/{pull.repo}/pull/{pull.number}.diff",
                "patch_url": f"{self.origin}/{pull.repo}/pull/{pull.number}.patch",
                "merged_at": pull.merged_at,
            }
        return out

    def event(self, issue: SeedIssue, event: SeedEvent) -> dict[str, Any]:
        """Return an ``issue-event`` of *issue*."""
        crepo = event.commit_repo or issue.repo
        return {
            "id": event.id,
            "node_id": f"E_{event.id}",
            "url": f"{self.api_url}/repos/{issue.repo}/issues/events/{event.id}",
            "actor": self.user(event.actor),
            "event": event.event,
            "commit_id": event.commit_id,
            "commit_url": f"{self.api_url}/repos/{crepo}/commits/{event.commit_id}" if event.commit_id else None,
            "created_at": event.created_at,
            "state_reason": event.state_reason,
            "performed_via_github_app": None,
        }

    def comment(self, issue: SeedIssue, comment: SeedComment) -> dict[str, Any]:
        """Return an ``issue-comment`` on *issue*."""
        return {
            "id": comment.id,
            "node_id": f"IC_{comment.id}",
            "url": f"{self.api_url}/repos/{issue.repo}/issues/comments/{comment.id}",
            "html_url": f"{self.origin}/{issue.repo}/issues/{issue.number}#issuecomment-{comment.id}",
            "issue_url": f"{self.api_url}/repos/{issue.repo}/issues/{issue.number}",
            "user": self.user(comment.author),
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
            "author_association": "MEMBER",
            "body": comment.body,
            "body_html": f"<p>{comment.body}</p>",
            "body_text": comment.body,
            "performed_via_github_app": None,
        }

    def pull(self, pull: SeedPull) -> dict[str, Any]:
        """Return a ``pull-request``; head and base carry the repository."""
        repo = self.state.repo(pull.repo)
        repo_json = self.repo(repo) if repo else None
        issue = self.state.find_issue(pull.repo, pull.number)
        base = f"{self.api_url}/repos/{pull.repo}/pulls/{pull.number}"
        html = f"{self.origin}/{pull.repo}/pull/{pull.number}"
        owner = pull.repo.split("/", 1)[0]

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha, "user": self.user(owner), "repo": repo_json}

        state = "closed" if pull.merged or (issue is not None and issue.state == "closed") else "open"
        return {
            "url": base,
            "id": pull.id,
            "node_id": f"PR_{pull.id}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{self.api_url}/repos/{pull.repo}/issues/{pull.number}",
            "commits_url": f"{base}/commits",
            "review_comments_url": f"{base}/comments",
            "review_comment_url": f"{self.api_url}/repos/{pull.repo}/pulls/comments{{/number}}",
            "comments_url": f"{self.api_url}/repos/{pull.repo}/issues/{pull.number}/comments",
            "statuses_url": f"{self.api_url}/repos/{pull.repo}/statuses/{pull.head_sha}",
            "number": pull.number,
            "state": state,
            "locked": False,
            "active_lock_reason": None,
            "title": pull.title,
            "user": self.user(pull.author),
            "body": issue.body if issue else "",
            "body_html": f"<p>{issue.body if issue else ''}</p>",
            "body_text": issue.body if issue else "",
            "created_at": "2026-05-11T09:00:00Z",
            "updated_at": pull.merged_at or "2026-05-11T09:00:00Z",
            "closed_at": pull.merged_at,
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [],
            "milestone": None,
            "draft": False,
            "head": side(pull.head_ref, pull.head_sha),
            "base": side(pull.base_ref, ZERO_SHA),
            "_links": {
                "self": {"href": base},
                "html": {"href": html},
                "issue": {"href": f"{self.api_url}/repos/{pull.repo}/issues/{pull.number}"},
                "comments": {"href": f"{self.api_url}/repos/{pull.repo}/issues/{pull.number}/comments"},
                "review_comments": {"href": f"{base}/comments"},
                "commits": {"href": f"{base}/commits"},
                "statuses": {"href": f"{self.api_url}/repos/{pull.repo}/statuses/{pull.head_sha}"},
                "review_comment": {"href": f"{self.api_url}/repos/{pull.repo}/pulls/comments{{/number}}"},
            },
            "auto_merge": None,
            "maintainer_can_modify": False,
            "author_association": "MEMBER",
            "merged": pull.merged,
            "mergeable": None,
            "mergeable_state": "unknown",
            "merged_by": self.user(pull.author) if pull.merged else None,
            "comments": 0,
            "review_comments": 0,
            "commits": 1,
            "additions": 1,
            "deletions": 0,
            "changed_files": 1,
        }

    def timeline_entry(self, issue: SeedIssue, e: SeedEvent) -> dict[str, Any]:
        """Return one timeline entry: ``cross-referenced`` (with the source repository), ``committed`` or an event."""
        if e.event == "cross-referenced":
            source = self.state.find_issue(e.source_repo or issue.repo, e.source_number or 0)
            src: dict[str, Any] | None = None
            if source is not None:
                src = self.issue(source)
                src_repo = self.state.repo(source.repo)
                src["repository"] = self.repo(src_repo) if src_repo else None
            return {
                "event": "cross-referenced",
                "actor": self.user(e.actor),
                "created_at": e.created_at,
                "updated_at": e.created_at,
                "source": {"type": "issue", "issue": src},
            }
        if e.event == "committed":
            crepo = e.commit_repo or issue.repo
            return {
                "event": "committed",
                "sha": e.commit_id,
                "node_id": f"C_{e.id}",
                "url": f"{self.api_url}/repos/{crepo}/git/commits/{e.commit_id}",
                "html_url": f"{self.origin}/{crepo}/commit/{e.commit_id}",
                "author": {"name": e.actor or "ghost", "email": "dev@example.invalid", "date": e.created_at},
                "committer": {"name": e.actor or "ghost", "email": "dev@example.invalid", "date": e.created_at},
                "message": f"commit {e.commit_id}",
                "parents": [],
            }
        return self.event(issue, e)

    def commit(self, repo: SeedRepo, sha: str, *, stub: bool = False) -> dict[str, Any] | None:
        """Return a ``commit`` with files and patches from git or the seed (*stub*: a placeholder); None if unknown."""
        parents: list[str]
        files: list[dict[str, Any]]
        if stub:
            message, author, date, parents, files = "", "octo-dev", "2026-05-10T09:00:00Z", [], []
        elif repo.git_path:
            info = commit_from_git(repo.git_path, sha)
            if info is None:
                return None
            sha, message, author, date, parents, files = info
        else:
            seeded = repo.commits.get(sha) or next((c for s, c in repo.commits.items() if s.startswith(sha)), None)
            if seeded is None or len(sha) < 7:
                return None
            sha, message, author, date = seeded.sha, seeded.message, seeded.author, seeded.date
            parents, files = list(seeded.parents), [dict(f) for f in seeded.files]
        base = f"{self.api_url}/repos/{repo.full_name}"
        html = f"{self.origin}/{repo.full_name}"
        for f in files:
            name = f["filename"]
            f.setdefault("sha", hashlib.sha1(name.encode()).hexdigest())  # noqa: S324 - an id, not security
            f.setdefault("status", "modified")
            f.setdefault("additions", 0)
            f.setdefault("deletions", 0)
            f["changes"] = f["additions"] + f["deletions"]
            f["blob_url"] = f"{html}/blob/{sha}/{name}"
            f["raw_url"] = f"{html}/raw/{sha}/{name}"
            f["contents_url"] = f"{base}/contents/{name}?ref={sha}"
        adds = sum(f["additions"] for f in files)
        dels = sum(f["deletions"] for f in files)
        person = {"name": author, "email": f"{author}@example.invalid", "date": date}
        return {
            "sha": sha,
            "node_id": f"C_{sha[:10]}",
            "url": f"{base}/commits/{sha}",
            "html_url": f"{html}/commit/{sha}",
            "comments_url": f"{base}/commits/{sha}/comments",
            "commit": {
                "url": f"{base}/git/commits/{sha}",
                "author": person,
                "committer": person,
                "message": message,
                "tree": {"url": f"{base}/git/trees/{ZERO_SHA}", "sha": ZERO_SHA},
                "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
            },
            "author": self.user(author),
            "committer": self.user(author),
            "parents": [{"sha": p, "url": f"{base}/commits/{p}", "html_url": f"{html}/commit/{p}"} for p in parents],
            "stats": {"additions": adds, "deletions": dels, "total": adds + dels},
            "files": files,
        }


# ---------------------------------------------------------------------- git readers


def git_text(path: str, *args: str) -> str | None:
    """Run git in *path* through the project's one git helper; return stripped stdout, or None when git fails."""
    try:
        return git_output(Path(path), *args)
    except GitError:
        return None


def _rev(path: str, ref: str) -> str | None:
    if ref.startswith("-"):
        return None
    return git_text(path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")


def commit_from_git(path: str, ref: str) -> tuple[str, str, str, str, list[str], list[dict[str, Any]]] | None:
    """Return (sha, message, author, date, parents, files) of *ref* in the repository at *path*."""
    sha = _rev(path, ref)
    if sha is None:
        return None
    meta = git_text(path, "show", "-s", "--format=%P%x00%an%x00%aI%x00%B", sha)
    if meta is None:
        return None
    parent_line, author, date, message = meta.split("\x00", 3)
    parents = parent_line.split()
    if parents:
        numstat = git_text(path, "diff", "--numstat", "--no-renames", parents[0], sha) or ""
        patch = git_text(path, "diff", "--no-renames", parents[0], sha) or ""
    else:
        numstat = git_text(path, "show", "--format=", "--numstat", "--no-renames", "--root", sha) or ""
        patch = git_text(path, "show", "--format=", "--no-renames", "--root", sha) or ""
    patches = _split_patch(patch)
    files: list[dict[str, Any]] = []
    for line in numstat.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        adds, dels, name = parts
        text = patches.get(name, "")
        status = (
            "added"
            if "\nnew file mode" in "\n" + text
            else "removed"
            if "\ndeleted file mode" in "\n" + text
            else "modified"
        )
        body = text.split("\n@@", 1)
        files.append(
            {
                "filename": name,
                "status": status,
                "additions": int(adds) if adds.isdigit() else 0,
                "deletions": int(dels) if dels.isdigit() else 0,
                "patch": "@@" + body[1] if len(body) == 2 else "",
            }
        )
    date_z = dt.datetime.fromisoformat(date).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return sha, message.strip(), author, date_z, parents, files


def _split_patch(patch: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for chunk in re.split(r"(?m)^diff --git ", patch):
        if not chunk.strip():
            continue
        header = chunk.split("\n", 1)[0]
        m = re.match(r"a/(?P<a>.+) b/(?P<b>.+)$", header)
        if m:
            out[m["b"]] = chunk
    return out


def compare_from_git(path: str, base: str, head: str) -> tuple[str, str, int, int] | None:
    """Return (base sha, head sha, ahead, behind) of *base*...*head*."""
    base_sha, head_sha = _rev(path, base), _rev(path, head)
    if base_sha is None or head_sha is None:
        return None
    counts = git_text(path, "rev-list", "--left-right", "--count", f"{base_sha}...{head_sha}")
    if counts is None:
        return None
    behind, ahead = (int(x) for x in counts.split())
    return base_sha, head_sha, ahead, behind


def tag_from_git(path: str, tag: str) -> tuple[str, str] | None:
    """Return (object type, object sha) that tag *tag* points at."""
    if tag.startswith("-"):
        return None
    sha = git_text(path, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}")
    if sha is None:
        return None
    kind = git_text(path, "cat-file", "-t", sha)
    return ("tag" if kind == "tag" else "commit", sha)


def tag_object_from_git(path: str, sha: str) -> tuple[str, str, str] | None:
    """Return (name, message, target commit) of the annotated tag object *sha*."""
    if git_text(path, "cat-file", "-t", sha) != "tag":
        return None
    raw = git_text(path, "cat-file", "tag", sha) or ""
    head, _, message = raw.partition("\n\n")
    fields = dict(line.split(" ", 1) for line in head.splitlines() if " " in line)
    target = git_text(path, "rev-parse", f"{sha}^{{commit}}")
    if target is None:
        return None
    return fields.get("tag", ""), message.strip(), target


def tag_names_from_git(path: str) -> list[str]:
    """Return the repository's tag names, sorted."""
    out = git_text(path, "tag", "--list") or ""
    return sorted(line for line in out.splitlines() if line)
