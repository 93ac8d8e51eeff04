"""``phase4gate render-comment {e2e-41,issue-1038} RUN``: the exact Markdown, from the run's facts."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Print the exact Markdown of the e2e#41 (WP06) or spec-kitty#1038 (WP08) evidence
comment, rendered from the facts RUN's journal recorded (and saas.fly_image from the
configuration the run recorded, unless --config names another). Nothing is sent. A
missing fact, or a claim the evidence does not support, is an error naming the field
(exit 1); no placeholder is ever printed.
"""

_TEMPLATES = ("e2e-41", "issue-1038")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``render-comment``'s arguments."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415

    parser.add_argument("template", choices=_TEMPLATES, help="which comment: e2e-41 (WP06) or issue-1038 (WP08)")
    parser.add_argument("run_ref", nargs="?", default="latest", metavar="RUN", help="run id, path or 'latest'")
    add_evidence_root(parser)


def run(args: argparse.Namespace) -> int:
    """Print the body; exit 1 naming the missing or unsupported fields."""
    from phase4gate.checks.comments import render_e2e_comment, render_tracker_comment  # noqa: PLC0415
    from phase4gate.commands._common import evidence_root, load_config  # noqa: PLC0415
    from phase4gate.gate import config_from_journal, find_run, report_from_journal  # noqa: PLC0415
    from phase4gate.journal import read_journal_file  # noqa: PLC0415
    from phase4gate.steps.wp06 import collect_comment_facts  # noqa: PLC0415

    config = load_config(args)
    run_dir = find_run(evidence_root(args, config), args.run_ref)
    journal = read_journal_file(run_dir / "journal.jsonl")  # names the file and line of a bad one
    lines = list(journal.lines)
    report = report_from_journal(lines, source=journal.source)
    if not args.config:
        config = config_from_journal(lines, source=journal.source) or config
    facts = {s.wp: dict(s.facts) for s in report.steps if s.status.value == "passed"}
    comment = collect_comment_facts(config, facts, run_dir)
    render = render_e2e_comment if args.template == "e2e-41" else render_tracker_comment
    body = render(comment)
    if args.json:
        import json  # noqa: PLC0415

        print(json.dumps({"template": args.template, "run": str(run_dir), "body": body}, indent=2))
    else:
        print(body, end="")
    return 0
