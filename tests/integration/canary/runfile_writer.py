"""A stand-in canary runner: write a harness-spelled run file from a template, then exit.

``python runfile_writer.py TEMPLATE [--exit N] [--mtime-offset S] [--target NAME ...]``
(run in the e2e checkout).  ``@NOW@`` in the template becomes the current time (UTC,
ISO 8601) and ``@RUNID@`` a fresh id; the text is written, as is, to each target
under ``artifacts/sync_identity_boundary/`` (default ``latest.json`` and
``runs/run-1.json``).  ``--mtime-offset`` moves the files' modification time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
from pathlib import Path
from typing import Any

_SCENARIO = (
    '{{"scenario_id": {sid}, "name": "scenario-{sid}", "status": "{status}", "started_at": "{started}", '
    '"finished_at": "{finished}", "duration_seconds": {duration}, "failure_reason": {reason}}}'
)


def harness_text(
    *,
    outcome: str = "pass",
    statuses: tuple[str, ...] = ("pass",) * 4,
    started: str = "@NOW@",
    finished: str = "@NOW@",
    duration: str = "1.5",
    run_id: str = "@RUNID@",
    cli_version: str = "spec-kitty-cli version 3.2.0rc16",
) -> str:
    """Return run-file text in the harness's spelling (values spliced in as written: ``NaN`` stays ``NaN``)."""
    scenarios = ", ".join(
        _SCENARIO.format(
            sid=i,
            status=s,
            started=started,
            finished=finished,
            duration=duration,
            reason="null" if s == "pass" else '"AssertionError: boom"',
        )
        for i, s in enumerate(statuses, 1)
    )
    return (
        f'{{"run_id": "{run_id}", "outcome": "{outcome}", "cli_version": "{cli_version}", '
        f'"events_package_version": "5.1.0", "started_at": "{started}", "finished_at": "{finished}", '
        f'"saas_url": "http://127.0.0.1:1", "target_environment": "dev", "skip_reason": null, '
        f'"scenarios": [{scenarios}]}}\n'
    )


def command(template: Path, *args: Any) -> tuple[str, ...]:
    """Return the canary command running this writer with *template* and *args*."""
    return (sys.executable, str(Path(__file__).resolve()), str(template), *(str(a) for a in args))


def main(argv: list[str]) -> int:
    """Write the run file(s); return the requested exit code."""
    p = argparse.ArgumentParser()
    p.add_argument("template", type=Path)
    p.add_argument("--exit", type=int, default=0)
    p.add_argument("--mtime-offset", type=float, default=0.0)
    p.add_argument("--target", action="append", default=[])
    args = p.parse_args(argv)
    now = dt.datetime.now(dt.UTC).isoformat()
    text = args.template.read_text(encoding="utf-8").replace("@NOW@", now).replace("@RUNID@", secrets.token_hex(13))
    art = Path("artifacts") / "sync_identity_boundary"
    for name in args.target or ["latest.json", "runs/run-1.json"]:
        target = art / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        if args.mtime_offset:
            stamp = target.stat().st_mtime + args.mtime_offset
            os.utime(target, (stamp, stamp))
    print(f"wrote {', '.join(args.target or ['latest.json', 'runs/run-1.json'])}; exit {args.exit}")
    return int(args.exit)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
