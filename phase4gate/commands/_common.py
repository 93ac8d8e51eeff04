"""Helpers shared by the subcommands (imported lazily, inside ``run``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phase4gate.config import GateConfig
    from phase4gate.models import GateReport


def load_config(args: argparse.Namespace) -> GateConfig:
    """Load the configuration named by ``--config`` (or ./gate.toml, or the defaults)."""
    from phase4gate.config import load_config as _load  # noqa: PLC0415

    return _load(Path(args.config) if args.config else None)


def evidence_root(args: argparse.Namespace, config: GateConfig) -> Path:
    """Return ``--evidence-root`` or the configured evidence root."""
    root = getattr(args, "evidence_root", None)
    return Path(root) if root else Path(config.evidence.root)


def add_evidence_root(parser: argparse.ArgumentParser) -> None:
    """Add ``--evidence-root DIR``."""
    parser.add_argument(
        "--evidence-root",
        metavar="DIR",
        help="where run folders live (default: evidence.root from the config, 'evidence')",
    )


def print_report(report: GateReport, run_dir: Path, *, as_json: bool) -> None:
    """Print the report as JSON (stdout) or as the Markdown table (redacted: a journal may predate a redaction rule)."""
    from phase4gate.checks.citations import report_json_data  # noqa: PLC0415
    from phase4gate.errors import redact, redact_data  # noqa: PLC0415
    from phase4gate.gate import render_report_markdown  # noqa: PLC0415

    if as_json:
        data = report_json_data(report)  # report.json's data (with canary_runs when executor runs were cited)
        data["verdict"] = report.verdict.value
        data["exit_code"] = int(report.exit_code)
        data["run_dir"] = str(run_dir)
        print(json.dumps(redact_data(data), indent=2, sort_keys=True))
        return
    print(redact(render_report_markdown(report)), end="")
    print(f"\nevidence: {run_dir}")
    for step in report.steps:
        if step.status.value in {"stopped", "error"}:
            print(redact(f"{step.wp} {step.status.value}: {step.reason}"), file=sys.stderr)


def write_outputs(report: GateReport, args: argparse.Namespace) -> None:
    """Write ``--junit FILE`` if asked, and the GitHub Actions job summary when running there."""
    if getattr(args, "junit", None):
        from phase4gate.junit import write_junit  # noqa: PLC0415

        write_junit(report, Path(args.junit))
    github_summary(report)


def github_summary(report: GateReport) -> None:
    """Append the report to the GitHub Actions job summary when running there."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    from phase4gate.gate import render_report_markdown  # noqa: PLC0415

    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(render_report_markdown(report))
