"""Helpers for the release-area tests: a stand-in CLI git repository."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import attrs


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Fixture",
        "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
        "GIT_COMMITTER_NAME": "Fixture",
        "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
        "GIT_AUTHOR_DATE": "2026-05-01T12:00:00Z",
        "GIT_COMMITTER_DATE": "2026-05-01T12:00:00Z",
        "PATH": os.environ["PATH"],
        "HOME": str(repo),
    }
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


@attrs.frozen
class CliCheckout:
    """A real git repository standing in for the CLI repo: tags and named commits."""

    path: Path
    commits: dict[str, str]


def build_cli_checkout(path: Path, tags: Mapping[str, str] | None = None) -> CliCheckout:
    """Build: base (v3.2.0rc15) -> fix -> release (v3.2.0rc16), and a side-branch fix in no RC.

    *tags* adds more tags (tag -> commit name).
    """
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    commits: dict[str, str] = {}
    for name in ("base", "fix", "release"):
        (path / f"{name}.txt").write_text(name)
        _git(path, "add", ".")
        _git(path, "commit", "-q", "-m", name)
        commits[name] = _git(path, "rev-parse", "HEAD")
    _git(path, "tag", "v3.2.0rc15", commits["base"])
    _git(path, "tag", "-a", "-m", "rc16", "v3.2.0rc16", commits["release"])
    _git(path, "checkout", "-q", "-b", "side", commits["base"])
    (path / "side.txt").write_text("side")
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "side fix")
    commits["side_fix"] = _git(path, "rev-parse", "HEAD")
    _git(path, "checkout", "-q", "main")
    for tag, name in (tags or {}).items():
        _git(path, "tag", tag, commits[name])
    return CliCheckout(path, commits)


def git_commit_and_tag(path: Path, tag: str) -> Path:
    """A one-commit repository at *path* with *tag* on it (a stand-in CLI checkout)."""
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    (path / "README").write_text(tag)
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", tag)
    _git(path, "tag", tag)
    return path
