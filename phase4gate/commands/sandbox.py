"""`phase4gate sandbox`: run the local sandbox world in the foreground until SIGINT or SIGTERM.

The first line on stdout is one JSON object naming every base URL and secret the
sandbox serves, e.g. ``{"github": "http://127.0.0.1:PORT/api/v3", "token": "...",
"read_only_token": "..."}``; it is built from the emulators in ``EMULATORS`` (each
adds its own keys), so more emulators join the same line.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, TextIO

if TYPE_CHECKING:
    from types import FrameType

    from phase4gate.sandbox.world import World

DESCRIPTION = """\
Run the sandbox world in the foreground: the GitHub REST emulator (issues 1141 and 1182
closed by real fix commits, e2e#41 and #1038 open), the package index, the SaaS, and the
fixture repositories, all on 127.0.0.1.  The first line on stdout is JSON with every base
URL, path and the tokens it accepts; stop with Ctrl-C or SIGTERM."""

EPILOG = """\
examples:
  phase4gate sandbox                         the default world
  phase4gate sandbox --seed world.json       a declarative GitHub seed (repos, issues, pulls, tokens)
  phase4gate sandbox --executor github-actions
                                             dispatched canary workflows really run (the JSON
                                             line names canary_workflow and e2e_pinned_sha)
  phase4gate sandbox --write-config gate.toml
                                             also write a gate.toml pointing the real gate at this
                                             world (the token is not in it: export the variable the
                                             sandbox names on stderr), then in another shell:
                                             phase4gate --config gate.toml run | run --resume latest |
                                             status | verify latest
"""


# One sandbox emulator: started server, and the keys it adds to the JSON line.
class _Stoppable(Protocol):
    def stop(self) -> None: ...


Started = tuple[_Stoppable, dict[str, str]]
_POLL_SECONDS: Final = 0.2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--seed FILE``."""
    parser.add_argument(
        "--seed",
        metavar="FILE",
        help="JSON seed: run only the GitHub emulator with it (default: the whole world)",
    )
    parser.add_argument(
        "--scenario", default="green", metavar="NAME", help="build the world of a demo scenario (default: green)"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "github-actions"),
        default=None,
        help="github-actions: also run the sandbox Actions runner, so dispatched canary runs execute "
        "(default: the scenario's executor, local for the classic scenarios)",
    )
    parser.add_argument(
        "--write-config",
        metavar="FILE",
        help="write a gate.toml pointing `phase4gate run` at this world (no token in it; the variable "
        "that takes the token is printed on stderr)",
    )
    parser.add_argument(
        "--evidence-root",
        metavar="DIR",
        help="with --write-config: the evidence root it names (default: ./evidence)",
    )


def _start_world(args: argparse.Namespace) -> Started:
    """The whole world (repositories, GitHub, index, SaaS) unless --seed asks for GitHub alone."""
    from phase4gate.sandbox.world import World  # noqa: PLC0415

    world = World(
        scenario_name=getattr(args, "scenario", None) or "green", executor=getattr(args, "executor", None)
    ).start()
    target = getattr(args, "write_config", None)
    if target:
        try:
            _write_config(world, Path(target), Path(getattr(args, "evidence_root", None) or "evidence").resolve())
        except BaseException:
            world.stop()
            raise
    return world, world.describe()


def _write_config(world: World, target: Path, evidence_root: Path) -> None:
    """Write the gate configuration of *world* to *target*; say which variable takes the token.

    Raises:
        UsageError: *target* cannot be written.
    """
    from phase4gate.config import to_toml  # noqa: PLC0415
    from phase4gate.errors import UsageError  # noqa: PLC0415

    config = world.config(evidence_root)
    try:
        with target.open("x", encoding="utf-8") as out:  # never overwrite an operator's file
            out.write(to_toml(config))
    except FileExistsError:
        msg = f"{target} exists; --write-config never overwrites a file"
        raise UsageError(msg, hint="remove it or name another file") from None
    except OSError as exc:
        msg = f"cannot write {target}: {exc.strerror or exc}"
        raise UsageError(msg, hint="--write-config needs a writable file path") from None
    var = config.github.token_env
    print(
        f"sandbox: wrote {target} (evidence under {evidence_root}); the gate reads the GitHub token from "
        f'${var}: export {var}=<the "token" value of the JSON line on stdout>',
        file=sys.stderr,
    )


def _start_github(args: argparse.Namespace) -> Started:
    from phase4gate.sandbox.github_api import GitHubEmulator  # noqa: PLC0415
    from phase4gate.sandbox.github_seed import load_seed, sandbox_seed  # noqa: PLC0415

    seed = load_seed(Path(args.seed)) if getattr(args, "seed", None) else sandbox_seed()
    emulator = GitHubEmulator(seed).start()
    return emulator, {
        "github": emulator.api_url,
        "token": emulator.token,
        "read_only_token": emulator.read_only_token,
    }


# (name, starter) in start order; later issues append the index and SaaS emulators here.
EMULATORS: Final[tuple[tuple[str, Callable[[argparse.Namespace], Started]], ...]] = (("world", _start_world),)
SEEDED: Final[tuple[tuple[str, Callable[[argparse.Namespace], Started]], ...]] = (("github", _start_github),)


def serve(args: argparse.Namespace, stop: threading.Event, out: TextIO) -> dict[str, str]:
    """Start every emulator, print the JSON line to *out*, wait for *stop*, stop them all.

    Returns the JSON line's content.

    Raises:
        InputError: the ``--seed`` file is unreadable or malformed.
        UsageError: ``--write-config`` with ``--seed``, or its file cannot be written.
    """
    if getattr(args, "seed", None) and getattr(args, "write_config", None):
        from phase4gate.errors import UsageError  # noqa: PLC0415

        msg = "--write-config needs the whole world; it cannot be combined with --seed"
        raise UsageError(msg)
    started: list[_Stoppable] = []
    line: dict[str, str] = {}
    try:
        for _name, start in SEEDED if getattr(args, "seed", None) else EMULATORS:
            server, keys = start(args)
            started.append(server)
            line.update(keys)
        out.write(json.dumps(line) + "\n")
        out.flush()
        while not stop.wait(_POLL_SECONDS):
            pass
    finally:
        for server in reversed(started):
            server.stop()
    return line


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(args: argparse.Namespace) -> int:
    """Run the sandbox until SIGINT or SIGTERM; exit 0 after a clean stop."""
    stop = threading.Event()
    with _stop_on_signals(stop):
        serve(args, stop, sys.stdout)
    print("sandbox stopped", file=sys.stderr)
    return 0
