"""``verify``: recompute a run's evidence hashes, its journal chain, and check the projections.

What an unsigned run's ``verify`` proves: every file the manifest lists is present,
read-only and unaltered, no file was planted or linked in from outside, the journal's
hash chain is unbroken and its sealed head is the one the manifest recorded, and
``report.json``, ``report.md`` and the attestation are exactly what that sealed
journal prefix projects.  Someone who rewrites the journal, manifest and projections
consistently is not caught; with a signed attestation (``--key``) they are, since the
signature covers the statement and, through it, the journal head and every subject.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attrs import frozen

from phase4gate.adapters.store import (
    MANIFEST_NAME,
    VerifyResult,
    load_manifest,
    read_manifest,
    sha256_file,
    verify_tree,
)
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
    journal_problems: tuple[str, ...] = ()
    # Facts worth a line that do not make the evidence untrustworthy (torn tail, signature checked).
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing was altered, missing, extra, refused or inconsistent."""
        return self.tree.ok and not self.sealed_mismatches and not self.report_problems and not self.journal_problems

    def to_json(self) -> dict[str, Any]:
        """Return the findings as JSON-shaped data."""
        return {
            "run_dir": str(self.run_dir),
            "ok": self.ok,
            "checked": self.tree.checked,
            "altered": list(self.tree.altered),
            "missing": list(self.tree.missing),
            "extra": [e for e in self.tree.extra if e not in _REPORT_FILES],
            "refused": list(self.tree.refused),
            "mode_changed": list(self.tree.mode_changed),
            "interrupted_writes": list(self.tree.interrupted),
            "manifest_problems": list(self.tree.manifest_problems),
            "stale_temp": list(self.tree.stale_temp),
            "sealed_mismatches": list(self.sealed_mismatches),
            "journal_problems": list(self.journal_problems),
            "report_problems": list(self.report_problems),
            "notes": list(self.notes),
        }

    def render(self) -> str:
        """Return a human summary, one finding per line."""
        data = self.to_json()
        lines = [f"{self.run_dir}: {data['checked']} files checked: " + ("intact" if self.ok else "NOT intact")]
        labels = {
            "altered": "altered",
            "missing": "missing",
            "extra": "extra file (planted: never written by the gate)",
            "refused": "refused",
            "mode_changed": "mode changed",
            "manifest_problems": "manifest",
            "sealed_mismatches": "sealed mismatches",
            "journal_problems": "journal",
            "report_problems": "report problems",
        }
        for key, label in labels.items():
            lines.extend(f"  {label}: {item}" for item in data[key])
        lines.extend(
            f"  interrupted write (complete, digest matches the recorded intent): {t}"
            for t in data["interrupted_writes"]
        )
        lines.extend(
            f"  leftover temp file (a killed writer; no final file was affected): {t}" for t in data["stale_temp"]
        )
        lines.extend(f"  note: {n}" for n in data["notes"])
        return "\n".join(lines)


def _sealed_subs(run_dir: Path, listed: dict[str, str]) -> list[str]:
    sealed: list[str] = []
    for rel in sorted(listed):
        if not rel.endswith("/" + MANIFEST_NAME):
            continue
        sub = rel[: -len(MANIFEST_NAME)]
        try:
            inner_entries = read_manifest(run_dir / sub)
        except OSError as exc:
            sealed.append(f"{rel}: unreadable ({exc})")
            continue
        for inner, digest in inner_entries.items():
            p = run_dir / sub / inner
            if p.is_symlink() or not p.is_file():
                sealed.append(f"{sub}{inner}: listed in {rel} but missing")
            elif sha256_file(p) != digest:
                sealed.append(f"{sub}{inner}: differs from {rel}")
    return sealed


def _first_difference(found: object, expected: object, path: str = "$") -> str:
    """Return the JSON path of the first place *found* differs from *expected* (for the message)."""
    if isinstance(found, dict) and isinstance(expected, dict):
        for key in sorted(set(found) | set(expected)):
            if key not in found or key not in expected:
                return f"{path}.{key}: {'missing' if key not in found else 'not expected'}"
            if found[key] != expected[key]:
                return _first_difference(found[key], expected[key], f"{path}.{key}")
    elif isinstance(found, list) and isinstance(expected, list):
        if len(found) != len(expected):
            return f"{path}: {len(found)} items, expected {len(expected)}"
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"{path} differs"


def _same_bytes(path: Path, expected: str) -> str | None:
    """Return why *path* is not exactly *expected* (UTF-8), or ``None``."""
    name = path.name
    if path.is_symlink():
        return f"{name}: a symlink (refused, not followed)"
    if not path.is_file():
        return f"{name}: missing (every finished invocation writes it; re-derive it with `phase4gate run --resume`)"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"{name}: unreadable ({exc.strerror})"
    if data == expected.encode("utf-8"):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{name}: not UTF-8 (byte {exc.start + 1}), so not what the journal projects"
    return f"{name}: does not match what the sealed journal projects"


def _journal_checks(run_dir: Path) -> tuple[list[str], list[str], list[str] | None]:
    """Return (problems, notes, the sealed journal prefix or ``None``)."""
    from phase4gate.journal import (  # noqa: PLC0415
        JOURNAL_NAME,
        chain_problems,
        line_digest,
        read_journal_file,
        unsealed_results,
    )

    problems: list[str] = []
    notes: list[str] = []
    path = run_dir / JOURNAL_NAME
    if path.is_symlink():
        return [f"{JOURNAL_NAME}: a symlink (refused, not followed)"], notes, None
    try:
        journal = read_journal_file(path)
    except InputError as exc:
        return [str(exc)], notes, None
    if journal.torn_note:
        notes.append(journal.torn_note)
    lines = list(journal.lines)
    if not lines:
        return [f"{JOURNAL_NAME}: missing or empty"], notes, None
    problems.extend(chain_problems(lines, source=JOURNAL_NAME))
    try:
        sealed = load_manifest(run_dir).sealed
    except OSError:
        sealed = None
    if sealed is None:
        problems.append(
            f"{MANIFEST_NAME}: no journal head sealed (no invocation of this run finished, or the seal was removed)"
        )
        return problems, notes, None
    n, head, _ = sealed
    if n > len(lines):
        problems.append(f"{JOURNAL_NAME}: {len(lines)} lines, but {MANIFEST_NAME} sealed {n}: lines were removed")
        return problems, notes, None
    if line_digest(lines[n - 1]) != head:
        problems.append(f"{JOURNAL_NAME}: line {n} is not the head {MANIFEST_NAME} sealed: the journal was rewritten")
        return problems, notes, None
    unsealed = unsealed_results(lines, n)
    if unsealed:
        problems.append(
            f"{JOURNAL_NAME}: {unsealed} result event(s) after the sealed head, not vouched for by any seal "
            "(a killed invocation, or lines appended by hand); `phase4gate run --resume` runs those WPs again"
        )
    elif len(lines) > n:
        notes.append(
            f"{JOURNAL_NAME}: {len(lines) - n} event(s) after the sealed head (an invocation that did not finish; "
            "`phase4gate status` shows it; the report projects the sealed prefix)"
        )
    return problems, notes, lines[:n]


def _signature_checks(run_dir: Path, key: Path | None) -> tuple[list[str], list[str]]:
    from phase4gate.attest import ATTESTATION_NAME, load_public_key, read_statement  # noqa: PLC0415

    path = run_dir / ATTESTATION_NAME
    if not path.is_file():
        return [], []
    try:
        _, envelope = read_statement(path)
    except (OSError, ValueError) as exc:
        return [f"{ATTESTATION_NAME}: unreadable ({exc})"], []
    if envelope is None:
        if key is not None:
            return [f"{ATTESTATION_NAME}: not signed, but --key asks for a signature"], []
        return [], ["attestation is unsigned (set PHASE4GATE_SIGNING_KEY when running the gate to sign it)"]
    if key is None:
        return [], ["attestation is signed; its signature was not checked (pass --key PUB)"]
    from securesystemslib.dsse import Envelope  # noqa: PLC0415
    from securesystemslib.exceptions import VerificationError  # noqa: PLC0415

    public = load_public_key(key)
    try:
        Envelope.from_dict(dict(envelope)).verify([public], 1)
    except (VerificationError, ValueError, KeyError, TypeError):
        return [f"{ATTESTATION_NAME}: the DSSE signature does not verify with {key}"], []
    return [], [f"attestation signature verified with {key} (keyid {public.keyid[:16]}...)"]


def verify_run(run_dir: Path, *, key: Path | None = None) -> VerifyFindings:
    """Verify every hash of *run_dir*, its sealed sub-manifests, its journal chain, and its projections.

    Raises:
        EvidenceError: *run_dir* is not an evidence folder.
        ConfigError: *key* is not a readable ed25519 public key.
    """
    from phase4gate import convert  # noqa: PLC0415
    from phase4gate.attest import ATTESTATION_NAME, build_statement, check_statement, read_statement  # noqa: PLC0415
    from phase4gate.checks.citations import report_json_data  # noqa: PLC0415
    from phase4gate.gate import render_report_markdown  # noqa: PLC0415
    from phase4gate.journal import report_from_journal  # noqa: PLC0415

    if key is not None:
        from phase4gate.attest import load_public_key  # noqa: PLC0415

        load_public_key(key)  # a bad --key is a usage error before anything is checked
    tree = verify_tree(run_dir)
    tree = VerifyResult(
        tree.checked,
        tree.altered,
        tree.missing,
        tuple(e for e in tree.extra if e not in _REPORT_FILES),
        tree.stale_temp,
        tree.refused,
        tree.mode_changed,
        tree.interrupted,
        tree.manifest_problems,
    )
    try:
        listed = read_manifest(run_dir)
    except OSError:
        listed = {}
    sealed = _sealed_subs(run_dir, listed)
    journal_problems, notes, prefix = _journal_checks(run_dir)
    problems: list[str] = []
    if prefix is not None:
        try:
            report = report_from_journal(prefix, source="journal.jsonl")
        except InputError as exc:
            journal_problems.append(str(exc))
        else:
            for name, text in (
                ("report.json", convert.dumps(report_json_data(report))),
                ("report.md", render_report_markdown(report)),
            ):
                why = _same_bytes(run_dir / name, text)
                if why:
                    problems.append(why)
            attestation = run_dir / ATTESTATION_NAME
            if attestation.is_file() and not attestation.is_symlink():
                try:
                    statement, _ = read_statement(attestation)
                except (OSError, ValueError):
                    pass  # check_statement names it
                else:
                    expected = build_statement(run_dir, report)
                    if statement != expected:
                        where = _first_difference(statement, json.loads(json.dumps(expected)))
                        problems.append(
                            f"{ATTESTATION_NAME}: does not match what the sealed journal projects ({where})"
                        )
    else:
        problems.extend(
            f"{name}: cannot be checked: the journal is damaged" for name in _REPORT_FILES if (run_dir / name).exists()
        )
    problems.extend(check_statement(run_dir))
    sig_problems, sig_notes = _signature_checks(run_dir, key)
    problems.extend(sig_problems)
    notes.extend(sig_notes)
    return VerifyFindings(
        run_dir, tree, tuple(sealed), tuple(dict.fromkeys(problems)), tuple(journal_problems), tuple(notes)
    )
