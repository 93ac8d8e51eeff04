"""Helpers for the publishing tests: a recording sleep, a real client and publisher on the emulator."""

from __future__ import annotations

from pathlib import Path

from phase4gate.adapters.github import GitHubClient
from phase4gate.adapters.publish import Publisher
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_seed import CLI_REPO, E2E_REPO

GATE = "phase4-canary-gate-01KS1W46"
E2E = (E2E_REPO, 41)
TRACKER = (CLI_REPO, 1038)


class Recorder:
    """A clock that stands still and a sleep that records what was asked (nothing sleeps)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def clock(self) -> float:
        return 100.0


def make_client(github: GitHubEmulator, recorder: Recorder, *, token: str | None = None) -> GitHubClient:
    return GitHubClient(
        github.api_url,
        token or github.token,
        max_retries=2,
        sleep=recorder.sleep,
        never_close=[TRACKER],
    )


def make_publisher(
    github: GitHubEmulator,
    recorder: Recorder,
    lock_dir: Path,
    *,
    interval: float = 1.0,
    token: str | None = None,
    dry_run: bool = False,
    said: list[str] | None = None,
) -> Publisher:
    out = said if said is not None else []
    return Publisher(
        None if dry_run else make_client(github, recorder, token=token),
        gate_id=GATE,
        lock_dir=lock_dir,
        min_write_interval=interval,
        sleep=recorder.sleep,
        clock=recorder.clock,
        dry_run=dry_run,
        say=out.append,
        never_close=[TRACKER],
    )
