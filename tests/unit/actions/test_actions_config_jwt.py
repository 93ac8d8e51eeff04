"""[canary.actions], [teamspace.actions], github.tokens and github.app: strict types, clear errors; the App JWT."""

from __future__ import annotations

import base64
import json
import tomllib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given
from hypothesis import strategies as st

from phase4gate.adapters.actions.transport import Transport
from phase4gate.adapters.github_app import (
    JWT_BACKDATE_SECONDS,
    StaticToken,
    app_jwt,
    jwt_claims,
    token_source,
)
from phase4gate.config import GateConfig, PollConfig, config_from_mapping, to_toml
from phase4gate.errors import ConfigError
from phase4gate.retry import RetryPolicy


def test_defaults_are_the_real_workflow() -> None:
    """The defaults: the e2e repo's identity-boundary-canary.yml at main, the upload-artifact name, 2022-11-28."""
    actions = GateConfig().canary.actions
    assert (actions.repo, actions.workflow, actions.ref, actions.artifact) == (
        None,
        "identity-boundary-canary.yml",
        "main",
        "sync-identity-boundary",
    )
    assert actions.api_version == "2022-11-28"
    assert actions.pinned_sha is None
    assert GateConfig().teamspace.actions.parallel == 1


def test_round_trip_with_every_section() -> None:
    """A config with tokens, an App and both actions tables renders to TOML and reads back equal."""
    config = config_from_mapping(
        {
            "github": {"tokens": {"o/e2e": "E2E_ACTIONS_TOKEN"}, "app": {"app_id": 7, "installation_id": 8}},
            "canary": {
                "executor": "github-actions",
                "actions": {
                    "pinned_sha": "a" * 40,
                    "inputs": {"saas": "dev"},
                    "api_version": "2026-03-10",
                    "poll": {"initial_seconds": 2.0},
                },
            },
            "teamspace": {"actions": {"parallel": 2, "workflow": "teamspace-mvp.yml"}},
        }
    )
    assert config_from_mapping(tomllib.loads(to_toml(config))) == config
    assert config.canary.actions.poll == PollConfig(initial_seconds=2.0)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"canary": {"actions": {"api_version": "2023-01-01"}}}, "$.canary.actions.api_version: invalid value"),
        ({"canary": {"actions": {"pinned_sha": "abc"}}}, "pinned_sha must be a full 40-character"),
        ({"canary": {"actions": {"inputs": {"cli_version": "1"}}}}, "cli_version is set by the gate"),
        ({"canary": {"actions": {"inputs": {f"k{i}": "v" for i in range(24)}}}}, "exceed GitHub's 25"),
        ({"canary": {"actions": {"inputs": {"k": 1}}}}, "$.canary.actions.inputs.k: invalid value for type"),
        ({"canary": {"actions": {"workflow": "../x.yml"}}}, "workflow must be a workflow file name"),
        ({"canary": {"actions": {"queue_timeout_seconds": 0}}}, "$.canary.actions.queue_timeout_seconds"),
        ({"canary": {"actions": {"poll": {"backoff": 0.5}}}}, "$.canary.actions.poll.backoff"),
        ({"canary": {"actions": {"poll": {"initial": 1}}}}, "$.canary.actions.poll.initial: unknown key"),
        ({"canary": {"actions": {"repo": "no-slash"}}}, "repo must look like 'owner/name'"),
        ({"teamspace": {"actions": {"parallel": 5}}}, "$.teamspace.actions.parallel"),
        ({"teamspace": {"actions": {"parallel": True}}}, "$.teamspace.actions.parallel"),
        ({"github": {"tokens": {"o/r": "has-dash"}}}, "must name an environment variable"),
        ({"github": {"tokens": {"nope": "E"}}}, "must look like 'owner/name'"),
        ({"github": {"app": {"app_id": 1}}}, "$.github.app.installation_id: required key missing"),
        ({"github": {"app": {"app_id": 0, "installation_id": 1}}}, "$.github.app.app_id"),
        ({"canary": {"actions": {"ref": ""}}}, "ref must be a branch or tag name, got ''"),
        ({"teamspace": {"actions": {"ref": "a..b"}}}, "ref must be a branch or tag name, got 'a..b'"),
        ({"canary": {"actions": {"artifact": " "}}}, "artifact must be an artifact name"),
        ({"teamspace": {"actions": {"artifact": "a/b"}}}, "artifact must be an artifact name"),
        (
            {"github": {"app": {"app_id": 1, "installation_id": 1, "repos": ["not a repo"]}}},
            "repos must look like 'owner/name', got 'not a repo'",
        ),
    ],
)
def test_config_errors_name_the_field(data: dict[str, Any], needle: str) -> None:
    """Every bad value is a ConfigError (exit 2) naming where it is."""
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, source="gate.toml")
    assert needle in str(info.value)
    assert info.value.exit_code == 2


def test_a_token_in_the_tokens_table_is_refused() -> None:
    """github.tokens holds variable names; a token-shaped value is refused without being quoted."""
    token = "ghp_" + "A" * 36
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"github": {"tokens": {"o/r": token}}}, source="gate.toml")
    assert "holds a secret" in str(info.value)
    assert token not in str(info.value)


@given(st.integers(1, 10**9), st.floats(1.0e9, 4.0e9))
def test_jwt_claims(app_id: int, now: float) -> None:
    """iat 60 s in the past, exp at most 10 minutes after now, iss the app id."""
    claims = jwt_claims(app_id, now)
    assert claims["iss"] == str(app_id)
    assert claims["iat"] == int(now) - JWT_BACKDATE_SECONDS
    assert int(now) < int(claims["exp"]) <= now + 600
    assert int(claims["exp"]) - int(claims["iat"]) <= 600


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_jwt_is_rs256_signed_by_the_key() -> None:
    """The JWT verifies with the App's public key; header RS256; the claims are jwt_claims."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    token = app_jwt(42, pem, 1_800_000_000.0)
    header, payload, signature = token.split(".")
    assert json.loads(_b64(header)) == {"alg": "RS256", "typ": "JWT"}
    assert json.loads(_b64(payload)) == jwt_claims(42, 1_800_000_000.0)
    key.public_key().verify(_b64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())


def test_a_non_rsa_key_is_refused() -> None:
    """A key that is not RSA (or not PEM) is a ConfigError naming the key variable."""
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ConfigError, match=r"github\.app\.private_key_env"):
        app_jwt(1, pem, 0.0)
    with pytest.raises(ConfigError, match="not an unencrypted RSA private key"):
        app_jwt(1, b"-----BEGIN NOTHING-----", 0.0)


def test_token_source_per_repository() -> None:
    """github.tokens wins for its repository; the App for the others it covers; else github.token_env."""
    config = config_from_mapping(
        {"github": {"tokens": {"O/E2E": "E2E_TOKEN"}, "app": {"app_id": 1, "installation_id": 2, "repos": ["o/app"]}}}
    )
    transport = Transport(RetryPolicy(max_retries=0))
    env = {"E2E_TOKEN": "t-e2e", "GITHUB_TOKEN": "t-default"}
    e2e = token_source(config, "o/e2e", env, transport=transport, epoch=lambda: 0.0)
    assert isinstance(e2e, StaticToken)
    assert (e2e.where, e2e.token()) == ("E2E_TOKEN", "t-e2e")
    assert "t-e2e" not in repr(e2e)
    app = token_source(config, "o/app", env, transport=transport, epoch=lambda: 0.0)
    assert app.where == "the GitHub App 1 installation 2"
    other = token_source(config, "o/other", env, transport=transport, epoch=lambda: 0.0)
    assert (other.where, other.token()) == ("GITHUB_TOKEN", "t-default")


def test_poll_interval_backs_off_to_its_cap() -> None:
    """The poll pause grows by backoff per read, capped."""
    poll = PollConfig(initial_seconds=2.0, backoff=2.0, max_seconds=10.0)
    assert [poll.interval(n) for n in range(1, 6)] == [2.0, 4.0, 8.0, 10.0, 10.0]
