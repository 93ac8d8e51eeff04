"""``phase4gate status [RUN]``: a run's report, or the list of runs."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from phase4gate.journal import RunState
    from phase4gate.models import GateReport

DESCRIPTION = """\
Show the report of RUN (default: the latest run), re-derived from its journal. A run
whose last invocation did not finish (interrupted by a signal, or killed) is shown as
"interrupted", with the WP in progress, what it had already done, and the exit code
of `run`. A torn last journal line is reported and left out. --list lists every run
with its verdict; a run whose journal cannot be read is listed as damaged.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``status``'s options."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415

    parser.add_argument("run_ref", nargs="?", default="latest", metavar="RUN", help="run id, path or 'latest'")
    parser.add_argument("--list", action="store_true", help="list every run with its verdict")
    add_evidence_root(parser)


UNSEALED = "not vouched for by any seal"


def _read(run_dir: Path) -> tuple[GateReport, RunState, list[str]]:
    """Return the run's report, how its last invocation ended, and warnings (torn tail, broken chain).

    Raises:
        InputError: the journal cannot be read or folded (names the file and line).
    """
    from phase4gate.adapters.store import load_manifest  # noqa: PLC0415
    from phase4gate.journal import (  # noqa: PLC0415
        chain_problems,
        read_journal_file,
        report_from_journal,
        run_state,
        unsealed_results,
    )

    journal = read_journal_file(run_dir / "journal.jsonl")
    report = report_from_journal(journal.lines, source=journal.source)
    warnings = [journal.torn_note] if journal.torn_note else []
    warnings += [
        f"{p}; this report cannot be trusted (`phase4gate verify` checks the evidence)"
        for p in chain_problems(journal.lines, source=journal.source)
    ]
    try:
        sealed = load_manifest(run_dir).sealed
    except OSError:
        sealed = None
    unsealed = unsealed_results(journal.lines, sealed[0] if sealed else None)
    if unsealed:
        warnings.append(
            f"{unsealed} result event(s) after the sealed journal head are {UNSEALED} (a killed invocation, "
            "or lines appended by hand); `phase4gate run --resume` runs those WPs again"
        )
    return report, run_state(journal.lines, source=journal.source), warnings


def _markdown(report: GateReport, state: RunState) -> str:
    from phase4gate.gate import render_report_markdown  # noqa: PLC0415

    text = render_report_markdown(report)
    if not state.interrupted:
        return text
    running = ", ".join(state.in_progress) or "none"
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Verdict: "):
            lines[i] = f"Verdict: **interrupted** (the last invocation did not finish; in progress: {running})"
            break
    done = {s.wp for s in report.steps}
    for wp in state.in_progress:
        row = "already " + "; ".join(state.actions.get(wp, ())) if state.actions.get(wp) else "nothing recorded yet"
        if wp not in done:
            lines.append(f"| {wp} | in progress (interrupted) |  | {row} |  |")
    return "\n".join(lines) + "\n\n" + state.render()


def _json(report: GateReport, state: RunState, run_dir: Path, warnings: list[str]) -> dict[str, Any]:
    from phase4gate import convert  # noqa: PLC0415

    data: dict[str, Any] = convert.unstructure(report)
    data["verdict"] = "interrupted" if state.interrupted else report.verdict.value
    data["exit_code"] = state.exit_code if state.interrupted and state.exit_code is not None else report.exit_code
    data["run_dir"] = str(run_dir)
    data["interrupted"] = (
        {
            "how": state.how,
            "in_progress": list(state.in_progress),
            "actions": {wp: list(a) for wp, a in state.actions.items()},
            "run_exit_code": state.exit_code,
        }
        if state.interrupted
        else None
    )
    data["warnings"] = warnings
    return data


def _list(root: Path, *, as_json: bool) -> int:
    import json  # noqa: PLC0415

    from phase4gate.errors import Phase4GateError  # noqa: PLC0415

    rows: list[dict[str, str]] = []
    for journal in sorted(root.glob("*/journal.jsonl")):
        try:
            report, state, warnings = _read(journal.parent)
        except (Phase4GateError, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            rows.append({"run": journal.parent.name, "verdict": "damaged", "problem": first})
            continue
        verdict = "interrupted" if state.interrupted else report.verdict.value
        if any("hash chain" in w or "hash-chained" in w or UNSEALED in w for w in warnings):
            verdict = f"{verdict} (journal chain broken: untrusted)"
        rows.append({"run": journal.parent.name, "verdict": verdict})
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['run']}  {row['verdict']}" + (f"  ({row['problem']})" if "problem" in row else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    """Print the report; exit with the run's exit code."""
    import json  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from phase4gate.commands._common import evidence_root, load_config  # noqa: PLC0415
    from phase4gate.gate import find_run  # noqa: PLC0415

    config = load_config(args)
    root = evidence_root(args, config)
    if args.list:
        return _list(root, as_json=args.json)
    run_dir = find_run(root, args.run_ref)
    report, state, warnings = _read(run_dir)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    from phase4gate.errors import redact, redact_data  # noqa: PLC0415 - a journal may predate a redaction rule

    if args.json:
        print(json.dumps(redact_data(_json(report, state, run_dir, warnings)), indent=2, sort_keys=True))
    else:
        print(redact(_markdown(report, state)), end="")
        print(f"\nevidence: {run_dir}")
        for step in report.steps:
            if step.status.value in {"stopped", "error"}:
                print(redact(f"{step.wp} {step.status.value}: {step.reason}"), file=sys.stderr)
    code = state.exit_code if state.interrupted and state.exit_code is not None else report.exit_code
    untrusted = any("hash chain" in w or "hash-chained" in w or UNSEALED in w for w in warnings)
    # A journal whose chain is broken, or whose results no seal vouches for, never reports a pass.
    return max(code, 1) if untrusted else code
