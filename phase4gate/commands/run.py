"""``phase4gate run``: the whole gate, or part of it."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Run the gate's work packages in dependency order (WP03 beside WP02), halting at the
first stop condition. Every step is journalled in <evidence root>/<run id>/, with a
report (report.md, report.json) beside the journal.

examples:
  phase4gate run                         the whole gate
  phase4gate run --until WP03            blockers, RC and preflight only
  phase4gate run --resume latest         continue the latest run; passed WPs whose
                                         evidence is intact are not re-run
  phase4gate run --dry-run               read-only: print what each WP would do
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``run``'s options."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415

    add_evidence_root(parser)
    parser.add_argument("--resume", metavar="RUN", help="continue run RUN (an id, a path, or 'latest')")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--only", metavar="WPxx", help="run only this WP (its dependencies must have passed in RUN)")
    group.add_argument("--until", metavar="WPxx", help="run WPs up to and including this one")
    parser.add_argument(
        "--dry-run", action="store_true", help="no GitHub writes, no installs: print what each WP would do"
    )
    parser.add_argument(
        "--install-mode",
        choices=("as-users-get-it", "as-of-release"),
        help="WP02: which environment the canary uses (default from the config)",
    )
    parser.add_argument("--junit", metavar="FILE", help="also write one JUnit test case per WP to FILE")


def run(args: argparse.Namespace) -> int:
    """Run the gate and print its report."""
    return execute(args, only=args.only, until=args.until)


def execute(args: argparse.Namespace, *, only: str | None, until: str | None) -> int:
    """Shared by ``run`` and ``wp``."""
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from phase4gate.commands._common import (  # noqa: PLC0415
        evidence_root,
        load_config,
        print_report,
        write_outputs,
    )
    from phase4gate.gate import Gate  # noqa: PLC0415
    from phase4gate.progress import NullProgress, Progress  # noqa: PLC0415

    config = load_config(args)
    from phase4gate.attest import check_signing_key  # noqa: PLC0415

    check_signing_key(os.environ)  # a bad PHASE4GATE_SIGNING_KEY is exit 2 before any WP runs
    options = {}
    if getattr(args, "install_mode", None):
        options["install_mode"] = args.install_mode
    gate = Gate(
        config,
        evidence_root=evidence_root(args, config),
        resume=args.resume,
        dry_run=args.dry_run,
        environ=os.environ,
        progress=NullProgress() if args.json else Progress(sys.stderr),
        options=options,
    )
    report = gate.run(only=only, until=until)
    print_report(report, gate.run_dir, as_json=args.json)
    write_outputs(report, args)
    return report.exit_code
