"""``phase4gate render-comment {e2e-41,issue-1038,history} RUN``: the exact Markdown, from the run's facts."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Print the exact Markdown of the e2e#41 (WP06) or spec-kitty#1038 (WP08) evidence
comment, rendered from the facts RUN's journal recorded (and saas.fly_image from the
configuration the run recorded, unless --config names another). Nothing is sent. A
missing fact, or a claim the evidence does not support, is an error naming the field
(exit 1); no placeholder is ever printed.

`history` renders `phase4gate history` (every run folder, RUN is ignored) as a comment
body for the tracker (comments.tracker, #1038 by default) ending in the gate's hidden
marker for "<gate id>-history"; with --post it is posted, or the comment carrying that
marker by the token's own user is edited in place. The tracker is never closed.
"""

_TEMPLATES = ("e2e-41", "issue-1038", "history")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``render-comment``'s arguments."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415
    from phase4gate.commands.history import add_filters  # noqa: PLC0415

    parser.add_argument(
        "template", choices=_TEMPLATES, help="which comment: e2e-41 (WP06), issue-1038 (WP08) or history"
    )
    parser.add_argument("run_ref", nargs="?", default="latest", metavar="RUN", help="run id, path or 'latest'")
    add_evidence_root(parser)
    add_filters(parser)
    parser.add_argument(
        "--post",
        action="store_true",
        help="history only: post it on the tracker, or edit our history comment in place (never closes)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the body; exit 1 naming the missing or unsupported fields."""
    if args.template == "history":
        return _history(args)
    if args.post:
        from phase4gate.errors import UsageError  # noqa: PLC0415

        msg = f"--post is only for the history template; {args.template} is posted by its WP"
        raise UsageError(msg, hint="run the gate (`phase4gate run`) to post the evidence comments")
    from phase4gate.checks.comments import render_e2e_comment, render_tracker_comment  # noqa: PLC0415
    from phase4gate.commands._common import evidence_root, load_config  # noqa: PLC0415
    from phase4gate.comment_facts import collect_comment_facts  # noqa: PLC0415
    from phase4gate.gate import config_from_journal, find_run, report_from_journal  # noqa: PLC0415
    from phase4gate.journal import read_journal_file  # noqa: PLC0415

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


def _history(args: argparse.Namespace) -> int:
    """Render (and with ``--post`` publish) the history comment on the tracker."""
    import json  # noqa: PLC0415
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from phase4gate.checks.history import history_comment_body, history_gate_id  # noqa: PLC0415
    from phase4gate.commands._common import load_config  # noqa: PLC0415
    from phase4gate.commands.history import build_history  # noqa: PLC0415
    from phase4gate.comment_facts import tracker_issue  # noqa: PLC0415

    history, _named, root = build_history(args)
    # Where to post and with which token come from the operator's configuration (--config,
    # ./gate.toml or the defaults), never from a journal under the evidence root: a planted or
    # stale run folder must not choose the API URL the token is sent to.
    config = load_config(args)
    repo, number = tracker_issue(config)
    body = history_comment_body(history, gate_id=config.comments.gate_id, issue=f"{repo}#{number}")
    posted: dict[str, object] | None = None
    if args.post:
        from phase4gate.adapters.publish import Publisher  # noqa: PLC0415
        from phase4gate.clients import Clients  # noqa: PLC0415 - github3 stays out of start-up

        def say(message: str) -> None:
            print(message, file=sys.stderr)

        publisher = Publisher(
            Clients(config, os.environ).github(),
            gate_id=history_gate_id(config.comments.gate_id),
            lock_dir=root,
            min_write_interval=config.comments.min_write_interval_seconds,
            say=say,
            never_close=[(repo, number)],
        )
        result = publisher.publish(repo, number, body)
        publisher.read_back(result, body)
        state = publisher.state(repo, number)
        posted = {
            "issue": result.issue,
            "action": result.action.value,
            "comment_id": result.comment_id,
            "comment_url": result.comment_url,
            "state": state,
        }
        say(f"history comment {result.comment_id} on {result.issue}: {result.action.value}, read back; {state}")
    if args.json:
        out: dict[str, object] = {"template": "history", "issue": f"{repo}#{number}", "body": body}
        if posted is not None:
            out["posted"] = posted
        print(json.dumps(out, indent=2))
    else:
        print(body, end="")
    return 0
