"""Git I/O for the fix audit: commits, both sides of changed files, worktrees, clones.

Both sides of every changed file are read with one ``git cat-file --batch``
(no ``git show`` per file).  A merge commit is diffed against its first parent;
a squash has one parent.  Every git call is bounded by a timeout and its
failure raises :class:`~phase4gate.errors.GitError` naming the repository, the
command and git's own message.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from attrs import frozen

from phase4gate.adapters.proc import record_child
from phase4gate.checks.fix_substance import FileChange
from phase4gate.errors import GitError

__all__ = [
    "GIT_TIMEOUT_SECONDS",
    "CommitInfo",
    "add_worktree",
    "changed_paths",
    "commit_info",
    "ensure_checkout",
    "git_output",
    "is_ancestor",
    "list_files",
    "prune_worktrees",
    "read_blobs",
    "read_changes",
    "read_sources",
    "remove_worktree",
    "resolve",
]

GIT_TIMEOUT_SECONDS: Final = 120.0
_ENV_DROP: Final = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")


@frozen
class CommitInfo:
    """A commit's sha, parents and message."""

    sha: str
    parents: tuple[str, ...]
    message: str


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ENV_DROP}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    return env


def _git(
    repo: Path, *args: str, input_bytes: bytes | None = None, timeout: float = GIT_TIMEOUT_SECONDS, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    argv = ("git", "-C", str(repo), *args)
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, input=input_bytes, capture_output=True, timeout=timeout, env=_env(), check=False)
    except subprocess.TimeoutExpired:
        raise GitError(f"{repo}: `git {' '.join(args[:3])}` did not finish within {timeout:.0f}s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}", hint="install git") from None
    finally:
        record_child(time.monotonic() - start)
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise GitError(f"{repo}: `git {' '.join(args[:3])}` failed: {err[-1] if err else proc.returncode}")
    return proc


def git_output(repo: Path, *args: str, timeout: float = GIT_TIMEOUT_SECONDS) -> str | None:
    """Run ``git -C repo ARGS``; return its stripped stdout, or None when git exits non-zero.

    Raises:
        GitError: git is missing or did not finish within *timeout*.
    """
    proc = _git(repo, *args, timeout=timeout, check=False)
    return proc.stdout.decode("utf-8", errors="replace").strip() if proc.returncode == 0 else None


def resolve(repo: Path, rev: str) -> str:
    """Return the full sha of commit *rev* in *repo*.

    Raises:
        GitError: *repo* is not a git repository or *rev* is not a commit there.
    """
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        raise GitError(f"{repo}: not a git repository", hint="pass --repo with a checkout of the fixed repository")
    proc = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if proc.returncode != 0:
        raise GitError(f"{repo}: no commit {rev!r}", hint="fetch the repository or check the sha")
    return proc.stdout.decode().strip()


def commit_info(repo: Path, rev: str) -> CommitInfo:
    """Return *rev*'s sha, parents and full message."""
    sha = resolve(repo, rev)
    out = _git(repo, "show", "-s", "--format=%H %P%n%B", sha).stdout.decode("utf-8", errors="replace")
    head, _, message = out.partition("\n")
    ids = head.split()
    return CommitInfo(sha=ids[0], parents=tuple(ids[1:]), message=message.strip())


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    """Return whether *ancestor* is an ancestor of (or equal to) *descendant*."""
    proc = _git(repo, "merge-base", "--is-ancestor", ancestor, descendant, check=False)
    if proc.returncode not in {0, 1}:
        raise GitError(f"{repo}: cannot compare {ancestor} and {descendant}")
    return proc.returncode == 0


_STATUS_RE = re.compile(r"^[ACDMRTUXB][0-9]*$")


def changed_paths(repo: Path, parent: str | None, sha: str) -> list[tuple[str, str | None, str]]:
    """Return ``(status letter, old path or None, path)`` for every file *sha* changes against *parent*.

    Renames are detected (``R``); *parent* ``None`` means a root commit.
    """
    args = ["diff-tree", "-r", "-z", "-M", "--no-commit-id", "--name-status"]
    args += [parent, sha] if parent else ["--root", sha]
    fields = _git(repo, *args).stdout.decode("utf-8", errors="surrogateescape").split("\0")
    out: list[tuple[str, str | None, str]] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        if not _STATUS_RE.match(status):  # pragma: no cover - git's format
            raise GitError(f"{repo}: unexpected diff-tree status {status!r}")
        if status[0] in "RC":
            out.append((status[0], fields[i + 1], fields[i + 2]))
            i += 3
        else:
            out.append((status[0], None, fields[i + 1]))
            i += 2
    return out


def read_blobs(repo: Path, specs: Sequence[str], *, timeout: float = GIT_TIMEOUT_SECONDS) -> list[bytes | None]:
    """Read every ``rev:path`` in *specs* with one ``git cat-file --batch``; ``None`` where missing."""
    if not specs:
        return []
    if any("\n" in s for s in specs):
        raise GitError(f"{repo}: a path with a newline cannot be read")
    data = _git(repo, "cat-file", "--batch", input_bytes=("\n".join(specs) + "\n").encode(), timeout=timeout).stdout
    out: list[bytes | None] = []
    pos = 0
    for spec in specs:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) == 2 and header[1] == b"missing":
            out.append(None)
            continue
        if len(header) != 3:  # pragma: no cover - git's format
            raise GitError(f"{repo}: unexpected cat-file header for {spec!r}")
        size = int(header[2])
        out.append(data[pos : pos + size] if header[1] == b"blob" else None)
        pos += size + 1
    return out


def _text(blob: bytes | None) -> str | None:
    return None if blob is None else blob.decode("utf-8", errors="replace")


def read_changes(
    repo: Path, rev: str, *, parent: str | None = None
) -> tuple[CommitInfo, str | None, tuple[FileChange, ...]]:
    """Return the commit, the parent it is diffed against, and both sides of each changed file.

    The parent is *parent* when given, else the first parent (merges) or the only one (squash).

    Raises:
        GitError: not a repository, unknown commit, or git failed.
    """
    info = commit_info(repo, rev)
    base = resolve(repo, parent) if parent else (info.parents[0] if info.parents else None)
    paths = changed_paths(repo, base, info.sha)
    # Two slots per file (before, after); only sides that exist are asked of git.
    wanted: list[tuple[int, str]] = []
    for i, (status, old, new) in enumerate(paths):
        if base and status != "A":
            wanted.append((2 * i, f"{base}:{old or new}"))
        if status != "D":
            wanted.append((2 * i + 1, f"{info.sha}:{new}"))
    values: list[bytes | None] = [None] * (2 * len(paths))
    for (slot, _spec), blob in zip(wanted, read_blobs(repo, [s for _, s in wanted]), strict=True):
        values[slot] = blob
    changes = tuple(
        FileChange(path=new, before=_text(values[2 * i]), after=_text(values[2 * i + 1]), old_path=old)
        for i, (_status, old, new) in enumerate(paths)
    )
    return info, base, changes


def list_files(repo: Path, rev: str) -> list[str]:
    """Return every file path in *rev*'s tree."""
    out = _git(repo, "ls-tree", "-r", "-z", "--name-only", rev).stdout.decode("utf-8", errors="surrogateescape")
    return [p for p in out.split("\0") if p]


def read_sources(repo: Path, rev: str, paths: Iterable[str]) -> dict[str, str]:
    """Return ``{path: text}`` of *paths* at *rev* (one ``cat-file --batch``)."""
    wanted = list(paths)
    blobs = read_blobs(repo, [f"{rev}:{p}" for p in wanted])
    return {p: b.decode("utf-8", errors="replace") for p, b in zip(wanted, blobs, strict=True) if b is not None}


def add_worktree(repo: Path, rev: str, path: Path) -> Path:
    """Check out *rev* detached at *path* as a throwaway worktree."""
    _git(repo, "worktree", "add", "--detach", "--force", str(path), rev)
    return path


def remove_worktree(repo: Path, path: Path) -> None:
    """Remove a worktree made by :func:`add_worktree` (missing ones are ignored)."""
    _git(repo, "worktree", "remove", "--force", str(path), check=False)
    _git(repo, "worktree", "prune", check=False)


def prune_worktrees(repo: Path, under: Path) -> list[Path]:
    """Remove every worktree of *repo* registered inside *under*, then prune stale entries.

    For throwaway worktrees a killed gate left behind (the fix audit makes them in
    its cache): the caller makes sure no live gate uses *under*.  Returns the paths
    removed; the main worktree and worktrees elsewhere are never touched.
    """
    listing = _git(repo, "worktree", "list", "--porcelain", check=False)
    if listing.returncode != 0:
        return []
    root = under.resolve()
    removed: list[Path] = []
    lines = listing.stdout.decode("utf-8", errors="surrogateescape").splitlines()
    paths = [Path(ln.removeprefix("worktree ")) for ln in lines if ln.startswith("worktree ")]
    for path in paths[1:]:  # the first is the main worktree
        if path.resolve().is_relative_to(root):
            # A `worktree add` killed half-way leaves the entry locked ("initializing").
            _git(repo, "worktree", "unlock", str(path), check=False)
            _git(repo, "worktree", "remove", "--force", "--force", str(path), check=False)
            removed.append(path)
    _git(repo, "worktree", "prune", check=False)
    return removed


def ensure_checkout(spec: str, cache_dir: Path, *, timeout: float = 600.0) -> Path:
    """Return a local checkout for *spec*: an existing directory, or a clone of a URL into *cache_dir*.

    A clone is fetched again when it exists already.

    Raises:
        GitError: the clone or fetch failed.
    """
    local = Path(spec).expanduser()
    if local.is_dir():
        return local
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec.rstrip("/").removesuffix(".git"))[-80:]
    target = cache_dir / name
    if (target / ".git").exists() or (target / "HEAD").exists():
        _git(target, "fetch", "--quiet", "--all", "--tags", timeout=timeout)
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    argv = ("git", "clone", "--quiet", "--no-checkout", spec, str(target))
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, env=_env(), check=False)
    except subprocess.TimeoutExpired:
        raise GitError(f"cloning {spec} did not finish within {timeout:.0f}s", url=spec) from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise GitError(f"cannot clone {spec}: {err[-1] if err else proc.returncode}", url=spec)
    return target
