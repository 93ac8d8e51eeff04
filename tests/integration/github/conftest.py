"""Fixtures for the GitHub slice: the emulator on a seeded world, clients, a real git repository.

Every test here also runs under a token guard: all log records (DEBUG, every
logger: phase4gate, github3, urllib3) and all stdout/stderr a test produced are
scanned for every token the test's emulators accept; one hit fails the test.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from attrs import frozen

from phase4gate.adapters.github import GitHubClient
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, Seed, default_seed

FIX_1182 = "1182" + "b" * 36
EPOCH = 1_000_000.0


@pytest.fixture
def seen_tokens() -> list[str]:
    """Every token an emulator of this test accepts (the guard looks for them)."""
    return []


@pytest.fixture
def token_output_allowed() -> list[bool]:
    """Set ``[True]`` in a test that prints a sandbox token on purpose (``phase4gate sandbox``)."""
    return [False]


def leaked_tokens(text: str, tokens: list[str]) -> list[str]:
    """Return the (shortened) tokens found in *text*."""
    return [t[:4] + "..." for t in tokens if t and t in text]


@pytest.fixture(autouse=True)
def _no_token_in_output(
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    seen_tokens: list[str],
    token_output_allowed: list[bool],
) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    out, err = capfd.readouterr()
    streams = "" if token_output_allowed[0] else out + err
    text = streams + caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    leaked = leaked_tokens(text, seen_tokens)
    assert not leaked, f"a token appeared in captured output or logs: {leaked}"


def start_emulator(seed: Seed, seen_tokens: list[str]) -> GitHubEmulator:
    """Start an emulator on *seed* and register its tokens with the guard."""
    seen_tokens.extend(seed.tokens)
    return GitHubEmulator(seed).start()


@pytest.fixture
def make_emulator(seen_tokens: list[str]) -> Iterator[Callable[[Seed], GitHubEmulator]]:
    """Start emulators on given seeds; all are stopped at the end."""
    started: list[GitHubEmulator] = []

    def make(seed: Seed) -> GitHubEmulator:
        em = start_emulator(seed, seen_tokens)
        started.append(em)
        return em

    yield make
    for em in started:
        em.stop()


@frozen
class GitRepo:
    """A real git repository with named commits and tags."""

    path: Path
    commits: dict[str, str]


def _git(path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": "2026-05-12T10:00:00+00:00",
        "GIT_COMMITTER_DATE": "2026-05-12T10:00:00+00:00",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
    }
    base = ["git", "-C", str(path), "-c", "user.name=dev", "-c", "user.email=dev@example.invalid"]
    return subprocess.run(
        [*base, *args], capture_output=True, text=True, check=True, env=env, timeout=60
    ).stdout.strip()


@pytest.fixture(scope="session")
def git_repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """base -> fix (tag v3.2.0rc16, annotated) on main; base tagged v3.2.0rc15 (lightweight); side branch diverges."""
    path = tmp_path_factory.mktemp("cli-repo")
    _git(path, "init", "-q", "-b", "main")
    (path / "queue.py").write_text("def queue_event():\n    return False\n", encoding="utf-8")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "base")
    base = _git(path, "rev-parse", "HEAD")
    _git(path, "tag", "v3.2.0rc15")
    (path / "queue.py").write_text("def queue_event():\n    return True\n", encoding="utf-8")
    (path / "test_queue.py").write_text("def test_it():\n    assert True\n", encoding="utf-8")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "Fix queue_event (closes #1141)")
    fix = _git(path, "rev-parse", "HEAD")
    _git(path, "tag", "-a", "v3.2.0rc16", "-m", "rc16")
    _git(path, "checkout", "-q", "-b", "side", base)
    (path / "other.py").write_text("x = 1\n", encoding="utf-8")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "side work")
    side = _git(path, "rev-parse", "HEAD")
    _git(path, "checkout", "-q", "main")
    return GitRepo(path, {"base": base, "fix": fix, "side": side})


@pytest.fixture
def world(make_emulator: Callable[[Seed], GitHubEmulator], git_repo: GitRepo) -> GitHubEmulator:
    """The default world: blockers closed by their fixes, the CLI repo answered from real git."""
    seed = default_seed(
        {1141: git_repo.commits["fix"], 1182: FIX_1182},
        repo_paths={CLI_REPO: str(git_repo.path)},
        cli_renamed_from=["Priivacy-ai/spec-kitty-old"],
    )
    return make_emulator(seed)


@pytest.fixture
def sleeps() -> list[float]:
    """Every delay a client asked to sleep (nothing really sleeps)."""
    return []


@pytest.fixture
def make_client(world: GitHubEmulator, sleeps: list[float]) -> Callable[..., GitHubClient]:
    """Build a client on *world* whose sleep records and whose clock advances by the recorded sleeps."""

    def make(token: str | None = "", **kwargs: object) -> GitHubClient:
        chosen = world.token if token == "" else token
        kw: dict[str, object] = {
            "sleep": sleeps.append,
            "clock": lambda: float(sum(sleeps)),
            "epoch": lambda: EPOCH,
            **kwargs,
        }
        return GitHubClient(world.api_url, chosen, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(make_client: Callable[..., GitHubClient]) -> GitHubClient:
    """A write-token client on the default world."""
    return make_client()
