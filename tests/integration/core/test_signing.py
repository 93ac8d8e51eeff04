"""Issue 19: signed attestations (DSSE, ed25519, securesystemslib) and ``verify --key``."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phase4gate.attest import ATTESTATION_NAME, DSSE_PAYLOAD_TYPE, SIGNING_KEY_ENV, STATEMENT_TYPE
from phase4gate.config import GateConfig
from phase4gate.errors import ConfigError, ExitCode
from phase4gate.gate import Gate
from tests.conftest import HANG_GUARD_SECONDS
from tests.gate_helpers import Recorder


def keypair(folder: Path, name: str) -> tuple[Path, Path, bytes]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    priv_path, pub_path = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    priv_path.write_bytes(private)
    pub_path.write_bytes(public)
    return priv_path, pub_path, private


def verify(run_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phase4gate", "verify", str(run_dir), *extra],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        cwd=run_dir.parent,
        check=False,
    )


def signed_run(tmp_path: Path, key: Path) -> Path:
    gate = Gate(
        GateConfig(), evidence_root=tmp_path / "ev", steps=Recorder({}).steps(), environ={SIGNING_KEY_ENV: str(key)}
    )
    gate.run()
    return gate.run_dir


def test_signed_attestation_verifies_with_the_right_key(tmp_path: Path) -> None:
    """PHASE4GATE_SIGNING_KEY gives a DSSE envelope of the statement; verify --key PUB accepts it (exit 0)."""
    priv, pub, material = keypair(tmp_path, "gate")
    run_dir = signed_run(tmp_path, priv)
    envelope = json.loads((run_dir / ATTESTATION_NAME).read_text())
    assert envelope["payloadType"] == DSSE_PAYLOAD_TYPE
    assert len(envelope["signatures"]) == 1
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicate"]["journal"]["head"].startswith("sha256:")
    result = verify(run_dir, "--key", str(pub))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "attestation signature verified with" in result.stdout
    body = b"".join(material.splitlines()[1:-1]).decode()
    assert body not in result.stdout + result.stderr
    assert body not in (run_dir / "journal.jsonl").read_text()


def test_wrong_key_fails(tmp_path: Path) -> None:
    """Another key's public half: exit 1, the signature line says so."""
    priv, _, _ = keypair(tmp_path, "gate")
    _, other_pub, _ = keypair(tmp_path, "other")
    run_dir = signed_run(tmp_path, priv)
    result = verify(run_dir, "--key", str(other_pub))
    assert result.returncode == 1
    assert f"the DSSE signature does not verify with {other_pub}" in result.stdout


def test_tampered_envelope_fails(tmp_path: Path) -> None:
    """A payload edited inside the envelope (signature kept): exit 1."""
    priv, pub, _ = keypair(tmp_path, "gate")
    run_dir = signed_run(tmp_path, priv)
    path = run_dir / ATTESTATION_NAME
    envelope = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["verdict"] = "passed-with-honours"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(envelope))
    result = verify(run_dir, "--key", str(pub))
    assert result.returncode == 1
    assert "the DSSE signature does not verify" in result.stdout
    assert f"{ATTESTATION_NAME}: does not match what the sealed journal projects" in result.stdout


def test_unsigned_is_the_default_and_key_asks_for_a_signature(tmp_path: Path) -> None:
    """Without the variable the statement is bare JSON; verify --key on it fails (exit 1)."""
    _, pub, _ = keypair(tmp_path, "gate")
    gate = Gate(GateConfig(), evidence_root=tmp_path / "ev", steps=Recorder({}).steps(), environ={})
    gate.run()
    statement = json.loads((gate.run_dir / ATTESTATION_NAME).read_text())
    assert statement["_type"] == STATEMENT_TYPE
    assert verify(gate.run_dir).returncode == 0
    result = verify(gate.run_dir, "--key", str(pub))
    assert result.returncode == 1
    assert "not signed, but --key asks for a signature" in result.stdout


@pytest.mark.parametrize("content", [b"not a key at all\n", b"", None])
def test_bad_signing_key_file_names_the_file(tmp_path: Path, content: bytes | None) -> None:
    """A signing key that is garbage, empty or missing: ConfigError (exit 2) naming the file, no content echoed."""
    key = tmp_path / "bad.pem"
    if content is not None:
        key.write_bytes(content)
    gate = Gate(
        GateConfig(), evidence_root=tmp_path / "ev", steps=Recorder({}).steps(), environ={SIGNING_KEY_ENV: str(key)}
    )
    with pytest.raises(ConfigError) as excinfo:
        gate.run()
    assert excinfo.value.exit_code == ExitCode.USAGE
    assert str(key) in str(excinfo.value)
    assert "not a key at all" not in str(excinfo.value)


def test_bad_public_key_file_is_exit_2(tmp_path: Path) -> None:
    """verify --key naming a file that is not a public key: exit 2 naming it."""
    gate = Gate(GateConfig(), evidence_root=tmp_path / "ev", steps=Recorder({}).steps(), environ={})
    gate.run()
    bad = tmp_path / "pub.pem"
    bad.write_text("garbage\n")
    result = verify(gate.run_dir, "--key", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_signing_key_stops_run_before_any_wp(tmp_path: Path) -> None:
    """`phase4gate run` with a bad PHASE4GATE_SIGNING_KEY: exit 2 naming the file, no run folder made."""
    key = tmp_path / "bad.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n")
    result = subprocess.run(
        [sys.executable, "-m", "phase4gate", "run", "--evidence-root", str(tmp_path / "ev")],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        cwd=tmp_path,
        env={**os.environ, SIGNING_KEY_ENV: str(key)},
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert str(key) in result.stderr
    assert "not really" not in result.stderr + result.stdout
    assert not (tmp_path / "ev").exists()
