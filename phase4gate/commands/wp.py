"""``phase4gate wp WPxx``: one work package."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Run one work package. WP01 and WP03 need nothing; any other WP needs its
dependencies to have passed in the run named by --resume (default: a new run,
which only WP01 and WP03 can start). Same exit codes as `run`.

examples:
  phase4gate wp WP01                     audit the blockers' fixes
  phase4gate wp WP05 --resume latest     the four-run canary protocol on the latest run
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``wp``'s options."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415

    parser.add_argument("wp", metavar="WPxx", help="WP01 ... WP08")
    add_evidence_root(parser)
    parser.add_argument("--resume", metavar="RUN", help="the run whose earlier WPs passed (id, path or 'latest')")
    parser.add_argument("--dry-run", action="store_true", help="no GitHub writes, no installs")
    parser.add_argument(
        "--install-mode", choices=("as-users-get-it", "as-of-release"), help="WP02: which environment the canary uses"
    )
    parser.add_argument("--junit", metavar="FILE", help="also write a JUnit report to FILE")


def run(args: argparse.Namespace) -> int:
    """Run one WP."""
    from phase4gate.commands.run import execute  # noqa: PLC0415

    return execute(args, only=args.wp, until=None)
