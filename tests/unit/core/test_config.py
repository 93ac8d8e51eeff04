"""Configuration: defaults are the real gate's, errors name the key, secrets are refused."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from phase4gate.config import GateConfig, config_from_mapping, load_config, to_toml
from phase4gate.errors import ConfigError, ExitCode


def test_defaults_are_the_real_gate() -> None:
    """Defaults come from REAL_WORLD.md and the plan."""
    c = GateConfig()
    assert c.github.cli_repo == "Priivacy-ai/spec-kitty"
    assert c.release.baseline == "3.2.0rc15"
    assert (c.saas.expected_terminal_failed, c.saas.expected_business_rule_rejected) == (0, 22)
    assert [b.number for b in c.blockers] == [1141, 1182]
    assert "OfflineQueue.queue_event" in c.blockers[0].focus_symbols
    assert c.canary.command[-2:] == ("--single", "--yes")
    assert c.canary.env["SPEC_KITTY_ENABLE_SAAS_SYNC"] == "1"
    assert c.comments.e2e.close and c.comments.tracker.never_close


def test_toml_round_trip() -> None:
    """`config show` output reads back to the same configuration."""
    c = GateConfig()
    assert config_from_mapping(tomllib.loads(to_toml(c))) == c


def test_overrides_apply(tmp_path: Path) -> None:
    """A partial file overrides only what it names."""
    path = tmp_path / "gate.toml"
    path.write_text('[release]\nbaseline = "3.2.0rc21"\n[saas]\nbase_url = "http://127.0.0.1:9"\n')
    c = load_config(path)
    assert c.release.baseline == "3.2.0rc21"
    assert c.saas.base_url == "http://127.0.0.1:9"
    assert c.release.package == "spec-kitty-cli"


def test_unknown_key_and_wrong_type_are_named(tmp_path: Path) -> None:
    """Every bad key is reported with the expected type, exit 2."""
    path = tmp_path / "gate.toml"
    path.write_text('[github]\napi_urll = "x"\ntimeout_seconds = "soon"\n')
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    text = str(excinfo.value)
    assert str(path) in text
    assert "$.github.timeout_seconds: invalid value for type, expected float" in text
    assert "api_urll" in text
    assert excinfo.value.exit_code is ExitCode.USAGE


@pytest.mark.parametrize(
    "body",
    [
        '[github]\ntoken = "abc"\n',
        '[audit.test_env]\nX = "ghp_abcdefghijklmnopqrstuvwxyz0123"\n',
        "[saas]\npassword = 'x'\n",
    ],
)
def test_secrets_in_a_file_are_refused(tmp_path: Path, body: str) -> None:
    """A token (by key or by shape) in the file is refused, and not echoed."""
    path = tmp_path / "gate.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match="secrets are never read from a file") as excinfo:
        load_config(path)
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123" not in str(excinfo.value)


def test_missing_and_invalid_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A named missing file is an error; no ./gate.toml means defaults; bad TOML is named."""
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    monkeypatch.chdir(tmp_path)
    assert load_config(None) == GateConfig()
    (tmp_path / "gate.toml").write_text("[release\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(None)


def test_validators() -> None:
    """Section validators reject impossible values."""
    with pytest.raises(ConfigError, match="must look like 'owner/name'"):
        config_from_mapping({"github": {"cli_repo": "not a repo"}})
    with pytest.raises(ConfigError, match="both close = true and never_close = true"):
        config_from_mapping({"comments": {"tracker": {"number": 1038, "close": True, "never_close": True}}})
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        config_from_mapping({"canary": {"signatures": [{"name": "x", "pattern": "("}]}})


def test_token_comes_from_the_environment() -> None:
    """The token is read from the variable named by github.token_env only."""
    c = config_from_mapping({"github": {"token_env": "MY_TOKEN"}})
    assert c.token({"MY_TOKEN": "t0k"}) == "t0k"
    assert c.token({"GITHUB_TOKEN": "other"}) is None
