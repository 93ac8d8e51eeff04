"""`phase4gate demo`: not implemented yet."""

from __future__ import annotations

import argparse

DESCRIPTION = "Not implemented yet."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Accept anything for now."""
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:  # noqa: ARG001 - placeholder
    """Refuse: the command is not implemented yet."""
    from phase4gate.errors import NotImplementedStepError  # noqa: PLC0415

    msg = "phase4gate demo is not implemented yet"
    raise NotImplementedStepError(msg)
