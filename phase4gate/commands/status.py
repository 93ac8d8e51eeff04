"""``phase4gate status [RUN]``: a run's report, or the list of runs."""

from __future__ import annotations

import argparse

DESCRIPTION = "Show the report of RUN (default: the latest run), re-derived from its journal."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``status``'s options."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415

    parser.add_argument("run_ref", nargs="?", default="latest", metavar="RUN", help="run id, path or 'latest'")
    parser.add_argument("--list", action="store_true", help="list every run with its verdict")
    add_evidence_root(parser)


def run(args: argparse.Namespace) -> int:
    """Print the report; exit with the run's exit code."""
    import json  # noqa: PLC0415

    from phase4gate.commands._common import evidence_root, load_config, print_report  # noqa: PLC0415
    from phase4gate.gate import find_run, report_from_journal  # noqa: PLC0415

    config = load_config(args)
    root = evidence_root(args, config)
    if args.list:
        rows = []
        for journal in sorted(root.glob("*/journal.jsonl")):
            lines = journal.read_text(encoding="utf-8").splitlines()
            report = report_from_journal(lines, source=str(journal))
            rows.append({"run": journal.parent.name, "verdict": report.verdict.value})
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for row in rows:
                print(f"{row['run']}  {row['verdict']}")
        return 0
    run_dir = find_run(root, args.run_ref)
    journal = run_dir / "journal.jsonl"
    report = report_from_journal(journal.read_text(encoding="utf-8").splitlines(), source=str(journal))
    print_report(report, run_dir, as_json=args.json)
    return report.exit_code
