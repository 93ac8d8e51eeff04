"""The gate's verdict as an in-toto Statement v1 (unsigned JSON).

Subjects are the evidence files (from the run's manifest), the evidence bundle and
the RC wheel, each by sha256; the predicate records every WP's result and every
canary run's outcome, so downstream release tooling can check what was verified
against what.  Like the report, the statement is a projection of the journal and
the manifest: it is rewritten atomically at the end of each invocation and
``phase4gate verify`` checks every subject digest against the files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from phase4gate.adapters.store import read_manifest, replace_projection
from phase4gate.models import GateReport, parse_run_file, run_number_from_filename

__all__ = [
    "ATTESTATION_NAME",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "build_statement",
    "check_statement",
    "write_statement",
]

ATTESTATION_NAME: Final = "attestation.intoto.json"
STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE: Final = "https://phase4gate.invalid/gate-verdict/v1"


def _canary_runs(run_dir: Path, manifest: dict[str, str]) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for rel in sorted(manifest):
        parts = rel.split("/")
        if len(parts) != 3 or parts[1] != "runs":
            continue
        n = run_number_from_filename(parts[2])
        if n is None:
            continue
        try:
            data = json.loads((run_dir / rel).read_text(encoding="utf-8"))
            run = parse_run_file(data, source=rel, file_run_number=n)
        except (OSError, ValueError) as exc:
            runs.append({"file": rel, "sha256": manifest[rel], "outcome": "unreadable", "error": str(exc)})
            continue
        runs.append(
            {
                "file": rel,
                "sha256": manifest[rel],
                "attempt": parts[0],
                "run_number": n,
                "outcome": run.outcome.value,
                "cli_version": run.cli_version_number,
                "scenarios": {str(s.scenario_id): s.status.value for s in run.scenarios},
            }
        )
    return runs


def build_statement(run_dir: Path, report: GateReport) -> dict[str, Any]:
    """Return the in-toto Statement for *report* over the files of *run_dir*."""
    manifest = read_manifest(run_dir)
    subjects: list[dict[str, Any]] = [
        {"name": rel, "digest": {"sha256": digest}} for rel, digest in sorted(manifest.items())
    ]
    facts: dict[str, Any] = {}
    for step in report.steps:
        facts.update(step.facts)
    wheel, wheel_sha = facts.get("wheel_filename"), facts.get("wheel_sha256")
    if isinstance(wheel, str) and isinstance(wheel_sha, str):
        subjects.append({"name": f"wheel:{wheel}", "digest": {"sha256": wheel_sha}})
    bundle, bundle_sha = facts.get("bundle_path"), facts.get("bundle_sha256")
    if isinstance(bundle, str) and isinstance(bundle_sha, str) and bundle not in manifest:
        subjects.append({"name": bundle, "digest": {"sha256": bundle_sha}})
    predicate = {
        "run_id": report.run_id,
        "verdict": report.verdict.value,
        "dry_run": report.dry_run,
        "requested": list(report.requested),
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat(),
        "steps": [
            {
                "wp": s.wp,
                "status": s.status.value,
                "stop_kind": s.stop_kind.value if s.stop_kind else None,
                "stop_condition": s.stop_condition,
                "reason": s.reason,
                "facts": dict(s.facts),
                "evidence": [{"path": e.path, "sha256": e.sha256} for e in s.evidence],
            }
            for s in report.steps
        ],
        "canary_runs": _canary_runs(run_dir, manifest),
    }
    return {"_type": STATEMENT_TYPE, "subject": subjects, "predicateType": PREDICATE_TYPE, "predicate": predicate}


def write_statement(run_dir: Path, report: GateReport) -> Path:
    """Write the statement beside ``report.json`` (atomically replaced, like the report).

    Raises:
        EvidenceError: it could not be written.
    """
    target = run_dir / ATTESTATION_NAME
    replace_projection(target, json.dumps(build_statement(run_dir, report), indent=2, sort_keys=True) + "\n")
    return target


def check_statement(run_dir: Path) -> list[str]:
    """Return every problem with the run's statement: unreadable, or a subject whose file differs."""
    from phase4gate.adapters.store import sha256_file  # noqa: PLC0415

    path = run_dir / ATTESTATION_NAME
    if not path.exists():
        return []
    try:
        statement = json.loads(path.read_text(encoding="utf-8"))
        subjects = statement["subject"]
        if statement.get("_type") != STATEMENT_TYPE:
            return [f"{ATTESTATION_NAME}: $._type: expected {STATEMENT_TYPE!r}"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{ATTESTATION_NAME}: unreadable ({exc})"]
    problems: list[str] = []
    for subject in subjects:
        name = subject.get("name", "")
        digest = subject.get("digest", {}).get("sha256")
        if name.startswith("wheel:"):
            continue  # the wheel lives in the install's cache, not in the run folder
        p = run_dir / name
        if not p.is_file():
            problems.append(f"{ATTESTATION_NAME}: subject {name} is missing")
        elif sha256_file(p) != digest:
            problems.append(f"{ATTESTATION_NAME}: subject {name} differs from its digest")
    return problems
