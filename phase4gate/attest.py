"""The gate's verdict as an in-toto Statement v1, unsigned or in a signed DSSE envelope.

Subjects are the evidence files (from the run's manifest), the evidence bundle and
the RC wheel, each by sha256; the predicate records every WP's result and every
canary run's outcome, so downstream release tooling can check what was verified
against what.  A canary run on GitHub Actions adds its artifact zip
(``runs/run-N.artifact.zip``, a manifest file, so a subject by its digest) annotated
with the run it came from, and the run's ``executor_run`` (``run-N.actions.json``:
id, URL, run number and attempt, head SHA) and ``artifact`` in the predicate.

Like the report, the statement is a projection of the journal and
the manifest: it is rewritten atomically at the end of each invocation and
``phase4gate verify`` checks every subject digest against the files, and that the
statement is exactly what the sealed journal prefix and manifest project.  The
predicate's ``journal`` names that prefix (``events``, ``head``), so the journal is
anchored in the statement too.

When ``PHASE4GATE_SIGNING_KEY`` names an ed25519 private key (PEM, unencrypted), the
statement is wrapped in a DSSE envelope (payload type ``application/vnd.in-toto+json``)
signed with securesystemslib's ``CryptoSigner``; ``phase4gate verify --key PUB`` checks
the signature.  The key is only ever named by the environment, never by the
configuration, and its material is never printed.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from phase4gate.adapters.store import load_manifest, replace_projection
from phase4gate.errors import ConfigError
from phase4gate.models import GateReport, StepStatus, parse_run_file, run_number_from_filename

if TYPE_CHECKING:
    from securesystemslib.signer import CryptoSigner, SSlibKey

__all__ = [
    "ATTESTATION_NAME",
    "DSSE_PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "SIGNING_KEY_ENV",
    "STATEMENT_TYPE",
    "build_statement",
    "check_signing_key",
    "check_statement",
    "load_public_key",
    "load_signer",
    "read_statement",
    "write_statement",
]

ATTESTATION_NAME: Final = "attestation.intoto.json"
STATEMENT_TYPE: Final = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE: Final = "https://phase4gate.invalid/gate-verdict/v1"
DSSE_PAYLOAD_TYPE: Final = "application/vnd.in-toto+json"
SIGNING_KEY_ENV: Final = "PHASE4GATE_SIGNING_KEY"


def _counted_run_ids(report: GateReport) -> set[str]:
    """Return the run ids a passed canary step counted (a kept but refused or failed file is not among them)."""
    ids: set[str] = set()
    for step in report.steps:
        if step.wp in {"WP04", "WP05"} and step.status is StepStatus.PASSED:
            ids.update(i for i in str(step.facts.get("run_ids") or "").split(",") if i)
    return ids


def _canary_runs(run_dir: Path, manifest: dict[str, str], counted: set[str]) -> list[dict[str, Any]]:
    """Return each kept run file's outcome, and whether a passed WP04/WP05 counted it."""
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
            runs.append(
                {"file": rel, "sha256": manifest[rel], "outcome": "unreadable", "error": str(exc), "counted": False}
            )
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
                "run_id": run.run_id,
                "counted": bool(run.run_id) and run.run_id in counted,
                **_executor_evidence(run_dir, manifest, rel),
            }
        )
    return runs


def _executor_evidence(run_dir: Path, manifest: Mapping[str, str], rel: str) -> dict[str, Any]:
    """Return what a remote executor kept beside the run file *rel*: the artifact zip and the run's metadata.

    Only files the manifest lists count (nothing for a local run): ``artifact`` (the
    zip's name and sha256) and ``executor_run`` (from ``run-N.actions.json``: id, URL,
    run number and attempt, head SHA), or ``executor_run_error`` when that file is unreadable.
    """
    from phase4gate.checks.citations import actions_meta_path, artifact_path, parse_actions_run  # noqa: PLC0415

    out: dict[str, Any] = {}
    zip_rel, meta_rel = artifact_path(rel), actions_meta_path(rel)
    if zip_rel in manifest:
        out["artifact"] = {"file": zip_rel, "sha256": manifest[zip_rel]}
    if meta_rel in manifest:
        try:
            meta = parse_actions_run(json.loads((run_dir / meta_rel).read_text(encoding="utf-8")), source=meta_rel)
        except (OSError, ValueError) as exc:
            out["executor_run_error"] = str(exc)
        else:
            out["executor_run"] = {
                "file": meta_rel,
                "id": meta.id,
                "html_url": meta.html_url,
                "run_number": meta.run_number,
                "run_attempt": meta.run_attempt,
                "head_sha": meta.head_sha,
            }
    return out


def _annotate_artifacts(subjects: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
    """Mark each canary run's artifact zip subject with the run it came from (its digest is already a subject)."""
    by_name = {s["name"]: s for s in subjects}
    for run in runs:
        artifact = run.get("artifact")
        subject = by_name.get(artifact["file"]) if artifact else None
        if subject is None:
            continue
        annotation: dict[str, Any] = {"run_file": run["file"], "run_number": run["run_number"]}
        executor_run = run.get("executor_run")
        if executor_run:
            annotation |= {"executor_run_id": executor_run["id"], "executor_run_url": executor_run["html_url"]}
        subject["annotations"] = {"phase4gate.canary_artifact": annotation}


def build_statement(run_dir: Path, report: GateReport) -> dict[str, Any]:
    """Return the in-toto Statement for *report* over the files of *run_dir*.

    The subjects are the files the manifest listed when the journal head was last
    sealed (all of them when nothing was sealed); the predicate names that head.
    """
    parsed = load_manifest(run_dir)
    sealed = parsed.sealed
    manifest = parsed.entries_before(sealed[2]) if sealed else parsed.entries
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
    canary_runs = _canary_runs(run_dir, manifest, _counted_run_ids(report))
    _annotate_artifacts(subjects, canary_runs)
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
        "canary_runs": canary_runs,
        "journal": {"events": sealed[0], "head": sealed[1]} if sealed else None,
    }
    return {"_type": STATEMENT_TYPE, "subject": subjects, "predicateType": PREDICATE_TYPE, "predicate": predicate}


def _key_error(path: str, why: str) -> ConfigError:
    return ConfigError(
        why,
        path=path,
        hint=f"{SIGNING_KEY_ENV} must name an unencrypted ed25519 private key in PEM "
        "(e.g. `openssl genpkey -algorithm ed25519`); unset it for an unsigned attestation",
    )


def load_signer(path: Path) -> CryptoSigner:
    """Load the ed25519 private key at *path* as a DSSE signer.

    Raises:
        ConfigError: the file cannot be read or is not an unencrypted ed25519 PEM private key (exit 2).
    """
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415
        from cryptography.hazmat.primitives.serialization import load_pem_private_key  # noqa: PLC0415
        from securesystemslib.signer import CryptoSigner  # noqa: PLC0415
    except ImportError:  # pragma: no cover - a dependency of phase4gate
        raise _key_error(str(path), "signing needs securesystemslib[crypto], which is not installed") from None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _key_error(str(path), f"cannot read the signing key: {exc.strerror}") from None
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # Never echo the file: it may be key material in another format.
        raise _key_error(str(path), "not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise _key_error(str(path), f"not an ed25519 key ({type(key).__name__.removeprefix('_')})")
    return CryptoSigner(key)


def load_public_key(path: Path) -> SSlibKey:
    """Load the ed25519 public key at *path* (PEM) for ``verify --key``.

    Raises:
        ConfigError: the file cannot be read or is not an ed25519 PEM public key (exit 2).
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import load_pem_public_key  # noqa: PLC0415
    from securesystemslib.signer import SSlibKey  # noqa: PLC0415

    hint = "--key names the ed25519 public key (PEM) matching the gate's signing key"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the public key: {exc.strerror}", path=str(path), hint=hint) from None
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError):
        raise ConfigError("not a PEM public key", path=str(path), hint=hint) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError("not an ed25519 public key", path=str(path), hint=hint)
    return SSlibKey.from_crypto(key)


def _signing_key_path(environ: Mapping[str, str] | None) -> Path | None:
    env = os.environ if environ is None else environ
    value = env.get(SIGNING_KEY_ENV, "").strip()
    return Path(value) if value else None


def check_signing_key(environ: Mapping[str, str] | None = None) -> None:
    """Load the signing key ``PHASE4GATE_SIGNING_KEY`` names, if any, so a bad one stops a run before it starts.

    Raises:
        ConfigError: the key is unusable (exit 2, naming the file).
    """
    path = _signing_key_path(environ)
    if path is not None:
        load_signer(path)


def write_statement(run_dir: Path, report: GateReport, *, environ: Mapping[str, str] | None = None) -> Path:
    """Write the statement beside ``report.json`` (atomically replaced, like the report).

    Signed (a DSSE envelope) when ``PHASE4GATE_SIGNING_KEY`` in *environ* (default:
    the process environment) names a key.

    Raises:
        EvidenceError: it could not be written.
        ConfigError: the signing key is unusable (exit 2).
    """
    target = run_dir / ATTESTATION_NAME
    statement = build_statement(run_dir, report)
    key_path = _signing_key_path(environ)
    if key_path is None:
        replace_projection(target, json.dumps(statement, indent=2, sort_keys=True) + "\n")
        return target
    from securesystemslib.dsse import Envelope  # noqa: PLC0415

    signer = load_signer(key_path)
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")
    envelope = Envelope(payload, DSSE_PAYLOAD_TYPE, {})
    envelope.sign(signer)
    replace_projection(target, json.dumps(envelope.to_dict(), indent=2, sort_keys=True) + "\n")
    return target


def read_statement(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Return (statement, DSSE envelope or ``None``) from the attestation at *path*.

    Raises:
        ValueError: it is not UTF-8 JSON, not an envelope of an in-toto payload, or not a statement.
        OSError: it cannot be read.
    """
    data = json.loads(path.read_bytes().decode("utf-8"))
    if not isinstance(data, dict):
        msg = "not a JSON object"
        raise ValueError(msg)  # noqa: TRY004 - callers treat every malformed shape alike
    envelope: dict[str, Any] | None = None
    if "payloadType" in data:
        envelope = data
        if data.get("payloadType") != DSSE_PAYLOAD_TYPE:
            msg = f"$.payloadType: expected {DSSE_PAYLOAD_TYPE!r}"
            raise ValueError(msg)
        try:
            data = json.loads(base64.b64decode(str(data.get("payload", "")), validate=True).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            msg = f"$.payload: not base64 of a JSON statement ({exc})"
            raise ValueError(msg) from None
        if not isinstance(data, dict):
            msg = "$.payload: not a JSON object"
            raise ValueError(msg)
    return data, envelope


def check_statement(run_dir: Path) -> list[str]:
    """Return every problem with the run's statement: missing, unreadable, or a subject whose file differs."""
    from phase4gate.adapters.store import path_refusal, sha256_file  # noqa: PLC0415

    path = run_dir / ATTESTATION_NAME
    if not path.exists():
        return [f"{ATTESTATION_NAME}: missing (every finished invocation writes it)"]
    try:
        statement, _ = read_statement(path)
        subjects = statement["subject"]
        if statement.get("_type") != STATEMENT_TYPE:
            return [f"{ATTESTATION_NAME}: $._type: expected {STATEMENT_TYPE!r}"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{ATTESTATION_NAME}: unreadable ({exc})"]
    problems: list[str] = []
    for subject in subjects if isinstance(subjects, list) else []:
        name = str(subject.get("name", "")) if isinstance(subject, dict) else ""
        digest = subject.get("digest", {}).get("sha256") if isinstance(subject, dict) else None
        if name.startswith("wheel:"):
            continue  # the wheel lives in the install's cache, not in the run folder
        refused = path_refusal(run_dir, name)
        p = run_dir / name
        if refused is not None:
            problems.append(f"{ATTESTATION_NAME}: subject {refused}")
        elif not p.is_file():
            problems.append(f"{ATTESTATION_NAME}: subject {name} is missing")
        elif sha256_file(p) != digest:
            problems.append(f"{ATTESTATION_NAME}: subject {name} differs from its digest")
    return problems
