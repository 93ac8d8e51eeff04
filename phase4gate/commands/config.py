"""``phase4gate config show``: the effective configuration."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Print the effective configuration (built-in defaults overlaid by --config or
./gate.toml) as TOML that can be saved and edited. The GitHub token is read only
from the environment variable named by github.token_env and is never printed.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``config``'s actions."""
    parser.add_argument("action", choices=("show",), help="show: print the effective configuration")


def run(args: argparse.Namespace) -> int:
    """Print the configuration."""
    import json  # noqa: PLC0415

    from phase4gate import convert  # noqa: PLC0415
    from phase4gate.commands._common import load_config  # noqa: PLC0415
    from phase4gate.config import to_toml  # noqa: PLC0415
    from phase4gate.errors import ExitCode  # noqa: PLC0415

    config = load_config(args)
    if args.json:
        print(json.dumps(convert.unstructure(config), indent=2, sort_keys=True))
    else:
        print(to_toml(config), end="")
    return ExitCode.PASSED
