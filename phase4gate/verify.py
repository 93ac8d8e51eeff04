"""``verify``: recompute a run's evidence hashes and check the report against the journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attrs import frozen

from phase4gate.adapters.store import MANIFEST_NAME, VerifyResult, read_manifest, sha256_file, verify_tree
from phase4gate.errors import InputError

__all__ = ["VerifyFindings", "verify_run"]

_REPORT_FILES = ("report.json", "report.md", "attestation.intoto.json")


@frozen
class VerifyFindings:
    """Everything ``phase4gate verify`` found about one run folder."""

    run_dir: Path
    tree: VerifyResult
    sealed_mismatches: tuple[str, ...]
    report_problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when nothing was altered, missing, extra or inconsistent."""
        return self.tree.ok and not self.sealed_mismatches and not self.report_problems

    def to_json(self) -> dict[str, Any]:
        """Return the findings as JSON-shaped data."""
        return {
            "run_dir": str(self.run_dir),
            "ok": self.ok,
            "checked": self.tree.checked,
            "altered": list(self.tree.altered),
            "missing": list(self.tree.missing),
            "extra": [e for e in self.tree.extra if e not in _REPORT_FILES],
            "stale_temp": list(self.tree.stale_temp),
            "sealed_mismatches": list(self.sealed_mismatches),
            "report_problems": list(self.report_problems),
        }

    def render(self) -> str:
        """Return a human summary, one finding per line."""
        data = self.to_json()
        lines = [f"{self.run_dir}: {data['checked']} files checked: " + ("intact" if self.ok else "NOT intact")]
        for key in ("altered", "missing", "extra", "sealed_mismatches", "report_problems"):
            lines.extend(f"  {key.replace('_', ' ')}: {item}" for item in data[key])
        lines.extend(
            f"  leftover temp file (a killed writer; no final file was affected): {t}" for t in data["stale_temp"]
        )
        return "\n".join(lines)


def verify_run(run_dir: Path) -> VerifyFindings:
    """Verify every hash of *run_dir*, its sealed sub-manifests, and its report.

    Raises:
        EvidenceError: *run_dir* is not an evidence folder.
    """
    from phase4gate import convert  # noqa: PLC0415
    from phase4gate.gate import report_from_journal  # noqa: PLC0415

    tree = verify_tree(run_dir)
    tree = VerifyResult(
        tree.checked,
        tree.altered,
        tree.missing,
        tuple(e for e in tree.extra if e not in _REPORT_FILES),
        tree.stale_temp,
    )
    listed = read_manifest(run_dir)
    sealed: list[str] = []
    for rel in sorted(listed):
        if not rel.endswith("/" + MANIFEST_NAME):
            continue
        sub = rel[: -len(MANIFEST_NAME)]
        for inner, digest in read_manifest(run_dir / sub).items():
            p = run_dir / sub / inner
            if not p.is_file():
                sealed.append(f"{sub}{inner}: listed in {rel} but missing")
            elif sha256_file(p) != digest:
                sealed.append(f"{sub}{inner}: differs from {rel}")
    problems: list[str] = []
    journal = run_dir / "journal.jsonl"
    try:
        report = report_from_journal(journal.read_text(encoding="utf-8").splitlines(), source=str(journal))
    except (InputError, OSError) as exc:
        problems.append(f"journal unreadable: {exc}")
    else:
        path = run_dir / "report.json"
        if path.exists() and path.read_text(encoding="utf-8") != convert.dumps(report):
            problems.append("report.json does not match the journal")
    from phase4gate.attest import check_statement  # noqa: PLC0415

    problems.extend(check_statement(run_dir))
    return VerifyFindings(run_dir, tree, tuple(sealed), tuple(problems))
