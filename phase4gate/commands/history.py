"""``phase4gate history``: every run folder of an evidence root, summarised per release candidate."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt
    from pathlib import Path

    from phase4gate.checks.history import History
    from phase4gate.config import GateConfig

DESCRIPTION = """\
Read every run folder under the evidence root (their journals and canary run files;
a damaged or foreign folder is listed as such, never fatal) and print, newest RC
first: each gate run (id, start, end, where it stopped, waiting or failed, the reason
on one line) with the attempt folders it wrote; a matrix of canary attempts x
scenarios (each failing cell named by its failure signature, or "new signature"); the
blockers each signature maps to; each unknown signature quoted once with the runs it
appeared in; which RC, if any, cleared the whole gate (run id, evidence path); and
whether the newest RC's latest preflight is older than saas.max_preflight_age_hours
allows (from --config, else the newest run's recorded configuration, else 24 h).

Markdown by default (GitHub tables with ✅/❌ cells, no HTML); --json prints the
versioned shape "phase4gate.history/1" (see the README). Exit 0, or 3 when the
evidence root cannot be read."""

EPILOG = """\
examples:
  phase4gate history
  phase4gate history --rc rc16 --since 2026-05-20
  phase4gate history --json | jq '.cleared'
  phase4gate render-comment history --post     keep the #1038 history comment current
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``history``'s options."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415

    add_evidence_root(parser)
    add_filters(parser)


def add_filters(parser: argparse.ArgumentParser) -> None:
    """Add ``--since DATE`` and ``--rc RC`` (shared with ``render-comment history``)."""
    parser.add_argument(
        "--since",
        metavar="DATE",
        help="only gate runs started at or after DATE (ISO 8601: 2026-05-20 or 2026-05-20T09:00Z; UTC if no offset)",
    )
    parser.add_argument("--rc", metavar="RC", help="only this release candidate (rc16, 3.2.0rc16 or v3.2.0rc16)")


def parse_since(text: str | None) -> dt.datetime | None:
    """Parse ``--since`` (a date or a timestamp; no offset means UTC).

    Raises:
        UsageError: not an ISO 8601 date or timestamp.
    """
    import datetime as dt  # noqa: PLC0415

    from phase4gate.errors import UsageError  # noqa: PLC0415

    if text is None:
        return None
    raw = text.strip()
    try:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        msg = f"--since: expected an ISO 8601 date or timestamp (2026-05-20, 2026-05-20T09:00Z), got {text!r}"
        raise UsageError(msg) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def build_history(
    args: argparse.Namespace, *, now: dt.datetime | None = None
) -> tuple[History, GateConfig | None, Path]:
    """Read the evidence root named by *args* and summarise it.

    Returns the history, the configuration ``--config`` named (``None`` without it) and
    the root.

    Raises:
        EvidenceError: the root cannot be read.
        UsageError: a bad ``--since``.
    """
    import datetime as dt  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from phase4gate.adapters.history_reader import read_history  # noqa: PLC0415
    from phase4gate.checks.history import summarise_history  # noqa: PLC0415
    from phase4gate.commands._common import load_config  # noqa: PLC0415

    since = parse_since(getattr(args, "since", None))
    named = load_config(args) if args.config else None
    root_arg = getattr(args, "evidence_root", None)
    root = Path(root_arg) if root_arg else Path((named or load_config(args)).evidence.root)
    folders = read_history(root)
    history = summarise_history(
        folders,
        evidence_root=str(root),
        now=now or dt.datetime.now(dt.UTC),
        since=since,
        rc=getattr(args, "rc", None),
        max_age_hours=named.saas.max_preflight_age_hours if named is not None else None,
    )
    return history, named, root


def history_json(history: History) -> str:
    """Return *history* as the ``phase4gate.history/1`` JSON text."""
    from phase4gate import convert  # noqa: PLC0415

    return convert.dumps(history)


def run(args: argparse.Namespace) -> int:
    """Print the history; exit 0 (3 when the root cannot be read, raised as EvidenceError)."""
    from phase4gate.checks.history import render_history_markdown  # noqa: PLC0415

    history, _, _ = build_history(args)
    if args.json:
        print(history_json(history), end="")
    else:
        print(render_history_markdown(history), end="")
    return 0


def demo_series(args: argparse.Namespace) -> int:
    """``phase4gate demo --history``: rc16 stops on a new signature, a green rc17 follows; print the history.

    Returns 0 when the series went as planned (WP04 failed on rc16, then every WP passed
    on rc17), else 1.
    """
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from phase4gate.checks.history import render_history_markdown  # noqa: PLC0415
    from phase4gate.gate import Gate  # noqa: PLC0415
    from phase4gate.progress import NullProgress, Progress  # noqa: PLC0415
    from phase4gate.sandbox.world import World  # noqa: PLC0415

    shown = args.evidence_root or "evidence"
    root = Path(shown).resolve()

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    verdicts: list[str] = []
    with World(scenario_name="unknown-signature") as world:
        for step, label in ((0, "rc16 with a new failure signature"), (1, "rc17 with the fix")):
            if step == 1:
                world.publish_rc("3.2.0rc17")
                say("demo: published v3.2.0rc17 (the fix of 'Batch sync failed (400)')")
            say(f"demo: gate run {step + 1} of 2: {label}")
            gate = Gate(
                world.config(root),
                evidence_root=root,
                environ=world.environ(dict(os.environ)),
                progress=NullProgress() if args.json else Progress(sys.stderr),
            )
            report = gate.run()
            halted = next((s for s in report.steps if s.status.value in {"stopped", "error"}), None)
            verdicts.append(
                f"{halted.wp} {halted.stop_kind.value if halted.stop_kind else 'error'}" if halted else "passed"
            )
            say(f"demo: run {gate.run_id}: {verdicts[-1]}")
    args.since = None
    args.rc = None
    args.evidence_root = shown  # the history names the root as the user spelled it
    history, _, _ = build_history(args)
    print(history_json(history) if args.json else render_history_markdown(history), end="")
    expected = ["WP04 failed", "passed"]
    say(f"demo: series {verdicts} {'as expected' if verdicts == expected else f'NOT as expected ({expected})'}")
    return 0 if verdicts == expected else 1
