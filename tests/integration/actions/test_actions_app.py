"""A GitHub App installation token for Actions: minted from a JWT, refreshed before its hour ends, never shown."""

from __future__ import annotations

import time
from pathlib import Path

import attrs
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from phase4gate.adapters.actions.transport import Transport
from phase4gate.adapters.github_app import AppTokenSource
from phase4gate.config import GitHubAppConfig
from phase4gate.errors import ConfigError
from phase4gate.models import StepStatus
from phase4gate.retry import RetryPolicy
from phase4gate.sandbox.github_api import GitHubEmulator
from phase4gate.sandbox.github_app_routes import AppState, register_app

from .conftest import ActionsHarness

APP_ID = 424242
INSTALLATION_ID = 9001


def _key(tmp_path: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    path = tmp_path / "app.private-key.pem"
    path.write_bytes(pem)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, public


def _app_config(harness: ActionsHarness, **app: object) -> object:
    cfg = harness.config()
    return attrs.evolve(
        cfg,
        github=attrs.evolve(
            cfg.github,
            app=GitHubAppConfig(app_id=APP_ID, installation_id=INSTALLATION_ID, private_key_env="P4G_APP_KEY", **app),  # type: ignore[arg-type]
        ),
    )


def test_app_token_runs_the_canary_and_never_leaks(harness: ActionsHarness, tmp_path: Path) -> None:
    """No GITHUB_TOKEN: the App's installation token dispatches and reads; no token or JWT in any file written."""
    key_path, public = _key(tmp_path)
    app = register_app(
        harness.world.github, AppState(APP_ID, public, {INSTALLATION_ID: {"actions": "write", "metadata": "read"}})
    )
    env = {k: v for k, v in harness.environ().items() if k != "GITHUB_TOKEN"}
    env["P4G_APP_KEY"] = str(key_path)
    gate, report = harness.gate("WP04", _app_config(harness), environ=env)  # type: ignore[arg-type]
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.PASSED, step.reason if step else None
    assert len(app.minted) == 1
    claims = app.jwts[0]
    assert claims["iss"] == str(APP_ID)
    assert claims["exp"] - claims["iat"] <= 600
    assert claims["iat"] <= time.time() - 59
    secrets = [*app.minted, key_path.read_text().splitlines()[1]]
    for path in gate.run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret[:6]}... in {path}"
    with harness.world.github.lock:
        used = {r.headers.get("Authorization", "") for r in harness.world.github.requests if "/actions/" in r.path}
    assert f"Bearer {app.minted[0]}" in used


def test_app_without_actions_write_names_the_permission(harness: ActionsHarness, tmp_path: Path) -> None:
    """An installation with Actions: read only: exit 2 saying Actions: write is needed to dispatch."""
    key_path, public = _key(tmp_path)
    register_app(harness.world.github, AppState(APP_ID, public, {INSTALLATION_ID: {"actions": "read"}}))
    env = {k: v for k, v in harness.environ().items() if k != "GITHUB_TOKEN"}
    env["P4G_APP_KEY"] = str(key_path)
    _gate, report = harness.gate("WP04", _app_config(harness), environ=env)  # type: ignore[arg-type]
    step = report.step("WP04")
    assert step is not None and step.status is StepStatus.ERROR
    assert step.facts["exit_code"] == 2
    assert "Actions: read" in step.reason
    assert "needs Actions: write" in step.reason


def test_app_token_refreshed_before_its_hour_ends(tmp_path: Path) -> None:
    """A token with less than five minutes left is minted again; one with more is reused."""
    key_path, public = _key(tmp_path)
    with GitHubEmulator() as emulator:
        app = register_app(
            emulator, AppState(APP_ID, public, {INSTALLATION_ID: {"actions": "write"}}, token_seconds=320)
        )
        now = [time.time()]
        source = AppTokenSource(
            GitHubAppConfig(app_id=APP_ID, installation_id=INSTALLATION_ID, private_key_env="K"),
            api_url=emulator.api_url,
            environ={"K": str(key_path)},
            transport=Transport(RetryPolicy(max_retries=0)),
            epoch=lambda: now[0],
        )
        first = source.token()
        now[0] += 10  # 310 s left: kept
        assert source.token() == first
        now[0] += 20  # 290 s left: minted again
        second = source.token()
        assert second != first
        assert app.minted == [first, second]
        assert first not in repr(source)


def test_app_key_missing_or_wrong_is_a_config_error(tmp_path: Path) -> None:
    """No key variable, or a file that is not a PEM RSA key: ConfigError naming github.app.private_key_env."""
    config = GitHubAppConfig(app_id=APP_ID, installation_id=INSTALLATION_ID, private_key_env="K")
    transport = Transport(RetryPolicy(max_retries=0))
    source = AppTokenSource(config, api_url="http://127.0.0.1:9", environ={}, transport=transport, epoch=time.time)
    with pytest.raises(ConfigError, match=r"github\.app\.private_key_env: the environment variable K"):
        source.token()
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    source = AppTokenSource(
        config, api_url="http://127.0.0.1:9", environ={"K": str(bad)}, transport=transport, epoch=time.time
    )
    with pytest.raises(ConfigError, match="not an unencrypted RSA private key"):
        source.token()
