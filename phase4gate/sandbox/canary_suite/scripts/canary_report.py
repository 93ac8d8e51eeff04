"""Write one canary run file in the harness's spelling from pytest's JUnit XML.

Called by ``run-sync-identity-boundary-canary.sh`` after each run: writes
``latest.json``, copies it to ``runs/run-N.json`` and to ``<run_id>.json``, the way the
real harness does (the next run overwrites ``latest.json`` and ``runs/``).  Prints
the outcome.  The SaaS state knob ``canary.inconsistent`` makes it write ``pass``
whatever the scenarios did (a harness bug the gate must catch).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_SCENARIO_RE = re.compile(r"test_scenario_([0-9]+)_")
_NAMES = {
    1: "scenario-1",
    2: "scenario-2",
    3: "scenario-3",
    4: "scenario-4",
}


def ulid() -> str:
    """Return a ULID-shaped id: 48 bits of milliseconds, 80 random bits, Crockford base32."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    out = []
    for _ in range(26):
        out.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


def _get(url: str) -> Any:  # noqa: ANN401 - JSON of any shape
    if not url.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - scheme checked above
            return json.loads(resp.read() or b"null")
    except (OSError, ValueError, urllib.error.HTTPError):
        return None


def _scenarios(junit: Path) -> list[dict[str, Any]]:
    if not junit.exists():
        return []
    root = ET.fromstring(junit.read_text(encoding="utf-8"))  # noqa: S314 - our own pytest's report
    out: dict[int, dict[str, Any]] = {}
    for case in root.iter("testcase"):
        m = _SCENARIO_RE.search(case.get("name", "") + " " + case.get("classname", ""))
        if not m:
            continue
        sid = int(m.group(1))
        status, reason = "pass", None
        for tag, st in (("failure", "fail"), ("error", "error"), ("skipped", "skipped")):
            node = case.find(tag)
            if node is not None:
                status, reason = st, (node.get("message") or "") + ("\n" + node.text if node.text else "")
                break
        seconds = float(case.get("time") or 0)
        out[sid] = {
            "scenario_id": sid,
            "name": _NAMES.get(sid, f"scenario-{sid}"),
            "status": status,
            "duration_seconds": round(seconds, 3),
            "failure_reason": reason,
            "boundary_evidence": {"test": f"{case.get('classname')}::{case.get('name')}", "checked": ["identity"]},
        }
    return [out[k] for k in sorted(out)]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str]) -> int:
    """Write the run file; print its outcome."""
    p = argparse.ArgumentParser()
    p.add_argument("--junit", type=Path, required=True)
    p.add_argument("--run", type=int, required=True)
    p.add_argument("--started", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--cli-version", required=True)
    args = p.parse_args(argv)
    saas_url = os.environ.get("SPEC_KITTY_SAAS_URL", "").rstrip("/")
    health = _get(saas_url + "/health/") or {}
    state = _get(saas_url + "/__sandbox/state") or {}
    scenarios = _scenarios(args.junit)
    now = dt.datetime.now(dt.UTC)
    started = dt.datetime.fromisoformat(args.started)
    for s in scenarios:
        s["started_at"] = started.isoformat()
        s["finished_at"] = now.isoformat()
    all_pass = len(scenarios) == 4 and all(s["status"] == "pass" for s in scenarios)
    all_skipped = bool(scenarios) and all(s["status"] == "skipped" for s in scenarios)
    outcome = "pass" if all_pass else ("skipped" if all_skipped else "fail")
    if (state.get("canary") or {}).get("inconsistent"):
        outcome = "pass"
    run_id = ulid()
    out_dir: Path = args.out
    doc = {
        "run_id": run_id,
        "outcome": outcome,
        "cli_version": args.cli_version,
        "events_package_version": health.get("spec_kitty_events"),
        "evidence_path": str(out_dir / f"{run_id}.json"),
        "started_at": started.isoformat(),
        "finished_at": now.isoformat(),
        "saas_url": saas_url,
        "target_environment": health.get("environment"),
        "skip_reason": "every scenario skipped" if all_skipped else None,
        "scenarios": scenarios,
    }
    text = json.dumps(doc, indent=2) + "\n"
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    _write(out_dir / "latest.json", text)
    _write(out_dir / "runs" / f"run-{args.run}.json", text)
    _write(out_dir / f"{run_id}.json", text)
    print(f"run {args.run}: outcome {outcome} ({out_dir / 'latest.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
