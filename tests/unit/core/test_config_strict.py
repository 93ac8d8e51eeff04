"""Strict configuration: no coercion, every count and duration in range, no credential in a file.

Issue 20, cases 1, 2 and 5 (config): a typo must not weaken the gate (``canary.runs =
true`` was 1), a credential must not be read, kept or echoed, and a file that is not
UTF-8 is a clear exit-2 error.  Each error names the file, the ``$.path``, what was
expected and what was found.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phase4gate.cli import main
from phase4gate.config import GateConfig, config_from_mapping, load_config
from phase4gate.errors import ConfigError, ExitCode
from tests.conftest import HANG_GUARD_SECONDS


def _load(tmp_path: Path, body: str) -> GateConfig:
    path = tmp_path / "gate.toml"
    path.write_text(body, encoding="utf-8")
    return load_config(path)


def _error(tmp_path: Path, body: str) -> str:
    with pytest.raises(ConfigError) as excinfo:
        _load(tmp_path, body)
    assert excinfo.value.exit_code is ExitCode.USAGE
    text = str(excinfo.value)
    assert str(tmp_path / "gate.toml") in text
    return text


# --------------------------------------------------------------------------- case 1: one test per type rule


def test_a_bool_is_not_an_int(tmp_path: Path) -> None:
    """`canary.runs = true` is refused (it used to become 1 run)."""
    text = _error(tmp_path, "[canary]\nruns = true\n")
    assert "$.canary.runs: invalid value for type, expected int, found a boolean (true)" in text


def test_a_float_is_not_an_int(tmp_path: Path) -> None:
    """`teamspace.runs = 1.9` is refused (it used to become 1 run)."""
    text = _error(tmp_path, "[teamspace]\nruns = 1.9\n")
    assert "$.teamspace.runs: invalid value for type, expected int, found a float (1.9)" in text


def test_a_whole_float_is_not_an_int_either(tmp_path: Path) -> None:
    """`saas.retries = 1.0` is refused: the file says a float where a count belongs."""
    text = _error(tmp_path, "[saas]\nretries = 1.0\n")
    assert "$.saas.retries: invalid value for type, expected int, found a float (1.0)" in text


def test_a_string_is_not_a_number(tmp_path: Path) -> None:
    """`canary.runs = "4"` is refused (it used to become 4)."""
    text = _error(tmp_path, '[canary]\nruns = "4"\n')
    assert "$.canary.runs: invalid value for type, expected int, found a string ('4')" in text


def test_a_string_is_not_a_duration(tmp_path: Path) -> None:
    """`canary.timeout_seconds = "30"` is refused."""
    text = _error(tmp_path, '[canary]\ntimeout_seconds = "30"\n')
    assert "$.canary.timeout_seconds: invalid value for type, expected float, found a string ('30')" in text


def test_a_string_is_not_a_bool(tmp_path: Path) -> None:
    """`audit.proof = "false"` is refused (bool("false") would be True)."""
    text = _error(tmp_path, '[audit]\nproof = "false"\n')
    assert "$.audit.proof: invalid value for type, expected bool, found a string ('false')" in text


def test_a_number_is_not_a_string(tmp_path: Path) -> None:
    """`release.series = 3.2` is refused (it used to become the string "3.2")."""
    text = _error(tmp_path, "[release]\nseries = 3.2\n")
    assert "$.release.series: invalid value for type, expected str, found a float (3.2)" in text


def test_a_string_is_not_an_array(tmp_path: Path) -> None:
    """`canary.command = "run.sh"` is refused (it used to become one argument per character)."""
    text = _error(tmp_path, '[canary]\ncommand = "run.sh"\n')
    assert "$.canary.command: invalid value for type, expected array of str, found a string ('run.sh')" in text


def test_array_items_are_typed(tmp_path: Path) -> None:
    """`canary.scenarios = [1, "2"]` names the item."""
    text = _error(tmp_path, '[canary]\nscenarios = [1, "2"]\n')
    assert "$.canary.scenarios[1]: invalid value for type, expected int, found a string ('2')" in text


def test_table_values_are_typed(tmp_path: Path) -> None:
    """`[canary.env] X = 1` names the key."""
    text = _error(tmp_path, "[canary.env]\nX = 1\n")
    assert "$.canary.env.X: invalid value for type, expected str, found an integer (1)" in text


@pytest.mark.parametrize("value", ["nan", "+nan", "-nan"])
def test_nan_is_refused(tmp_path: Path, value: str) -> None:
    """`timeout_seconds = nan` is refused (NaN compares false with every bound)."""
    text = _error(tmp_path, f"[canary]\ntimeout_seconds = {value}\n")
    assert "$.canary.timeout_seconds: invalid value, expected a finite float > 0" in text
    assert "found nan" in text


@pytest.mark.parametrize(("value", "shown"), [("inf", "inf"), ("+inf", "inf"), ("-inf", "-inf")])
def test_infinity_is_refused(tmp_path: Path, value: str, shown: str) -> None:
    """`timeout_seconds = inf` is refused: a timeout is finite."""
    text = _error(tmp_path, f"[teamspace]\ntimeout_seconds = {value}\n")
    assert (
        f"$.teamspace.timeout_seconds: invalid value, expected a finite float > 0 and <= 604800, found {shown}" in text
    )


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("[canary]\nruns = 0\n", "$.canary.runs: invalid value, expected an int >= 1 and <= 100, found an integer (0)"),
        ("[teamspace]\nruns = -4\n", "$.teamspace.runs: invalid value, expected an int >= 1"),
        ("[canary]\ntimeout_seconds = 0\n", "$.canary.timeout_seconds: invalid value, expected a finite float > 0"),
        ("[github]\ntimeout_seconds = -1.5\n", "$.github.timeout_seconds: invalid value, expected a finite float > 0"),
        ("[release]\ninstall_timeout_seconds = 1e12\n", "expected a finite float > 0 and <= 604800"),
        ("[saas]\nretries = -1\n", "$.saas.retries: invalid value, expected an int >= 0 and <= 100"),
        ("[github]\nmax_retries = 1000\n", "$.github.max_retries: invalid value, expected an int >= 0 and <= 100"),
        ("[saas]\nexpected_business_rule_rejected = -22\n", "$.saas.expected_business_rule_rejected"),
        ("[saas]\nmax_preflight_age_hours = 0\n", "$.saas.max_preflight_age_hours: invalid value"),
        ("[comments]\nmin_write_interval_seconds = -1\n", "expected a finite float >= 0"),
        ("[comments.e2e]\nnumber = 0\n", "$.comments.e2e.number: invalid value, expected an int >= 1"),
        ("[[blockers]]\nnumber = -1141\n", "$.blockers[0].number: invalid value, expected an int >= 1"),
        ("[canary]\nscenarios = [1, 0]\n", "$.canary.scenarios[1]: invalid value, expected an int >= 1"),
        ("[canary.scenario_map]\nfoo = 0\n", "$.canary.scenario_map.foo: invalid value, expected an int >= 1"),
    ],
)
def test_every_count_and_duration_has_a_range(tmp_path: Path, body: str, line: str) -> None:
    """Counts, ids and durations out of range are refused, naming the range and the value."""
    assert line in _error(tmp_path, body)


def test_a_literal_is_exact(tmp_path: Path) -> None:
    """`release.installer = "pip"` names the allowed values."""
    text = _error(tmp_path, '[release]\ninstaller = "pip"\n')
    assert "$.release.installer: invalid value, expected one of 'uv', 'pipx', found a string ('pip')" in text


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    """Three problems in one file: three lines, each naming the file and its path."""
    path = tmp_path / "gate.toml"
    text = _error(tmp_path, '[canary]\nruns = true\ntimeout_seconds = nan\n[teamspace]\nruns = "4"\n')
    lines = [ln.strip() for ln in text.splitlines() if "$." in ln]
    assert len(lines) == 3, text
    assert all(ln.startswith(f"{path}: $.") for ln in lines), lines


def test_a_required_key_missing_is_named(tmp_path: Path) -> None:
    """A blocker without a number is named by its index."""
    assert "$.blockers[0].number: required key missing (int)" in _error(tmp_path, '[[blockers]]\ntitle = "x"\n')


def test_valid_values_still_load(tmp_path: Path) -> None:
    """An int for a float setting is fine (30 seconds), and runs inside the range load as given."""
    config = _load(tmp_path, "[canary]\nruns = 2\ntimeout_seconds = 30\n[teamspace]\nruns = 4\n")
    assert config.canary.runs == 2
    assert config.canary.timeout_seconds == 30.0
    assert isinstance(config.canary.timeout_seconds, float)


def test_configs_built_in_code_are_checked_too() -> None:
    """The same ranges hold for a config built in Python (NaN, bool, zero)."""
    from phase4gate.config import CanaryConfig, GitHubConfig, ReleaseConfig

    with pytest.raises(ValueError, match="timeout_seconds must be a finite float > 0"):
        GitHubConfig(timeout_seconds=float("nan"))
    with pytest.raises(ValueError, match="runs must be an int >= 1"):
        CanaryConfig(runs=True)
    with pytest.raises(ValueError, match="runs must be an int >= 1"):
        CanaryConfig(runs=0)
    with pytest.raises(ValueError, match="index_url holds a URL with user:password@ credentials") as excinfo:
        ReleaseConfig(index_url="http://u:pw-in-code@127.0.0.1:9/simple/")
    assert "pw-in-code" not in str(excinfo.value)


# --------------------------------------------------------------------------- case 5: not UTF-8


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """Latin-1 bytes in gate.toml: ConfigError naming the file, the byte and its line (no traceback)."""
    path = tmp_path / "gate.toml"
    path.write_bytes(b'[release]\nbaseline = "3.2.0rc15"\ntitle = "caf\xe9"\n')
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    text = str(excinfo.value)
    assert f"{path}: not UTF-8: byte 0xe9 at line 3, column 13" in text
    assert excinfo.value.exit_code is ExitCode.USAGE


@pytest.mark.parametrize(
    "argv",
    [
        ["config", "show"],
        ["status"],
        ["verify", "latest"],
        ["run", "--dry-run"],
        ["render-comment", "e2e-41"],
    ],
)
def test_not_utf8_is_exit_2_for_every_command(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Any command reading ./gate.toml exits 2 with the error, never 70."""
    (tmp_path / "gate.toml").write_bytes(b"\xff\xfe[canary]\n")
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        code = main(argv)
    finally:
        os.chdir(here)
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE, err
    assert "gate.toml: not UTF-8: byte 0xff at line 1, column 1" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- case 2: credentials

GHP = "ghp_" + "A1b2C3d4E5" * 4
TOKENS = {
    "ghp": GHP,
    "gho": "gho_" + "Z9y8X7w6V5" * 4,
    "ghu": "ghu_" + "Q1w2E3r4T5" * 4,
    "ghs": "ghs_" + "M1n2B3v4C5" * 4,
    "ghr": "ghr_" + "P0o9I8u7Y6" * 4,
    "github_pat": "github_pat_11ABCDEFG0" + "x1Y2z3" * 8,
    "bearer": "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.Sig",
    "basic": "Basic dXNlcjpzM2NyM3Q=",
    "url-userinfo": "https://user:pa55-Word-xyz@index.example.invalid/simple/",
    "url-token-user": "https://" + "ghs_" + "K1j2H3g4F5" * 4 + "@github.invalid/owner/repo.git",
    "url-query-token": "https://index.example.invalid/simple/?access_token=zzTopSecret99",
}
SECRET_PARTS = {
    "bearer": "eyJhbGciOiJIUzI1NiJ9",
    "basic": "dXNlcjpzM2NyM3Q",
    "url-userinfo": "pa55-Word-xyz",
    "url-query-token": "zzTopSecret99",
}


def _secret(name: str) -> str:
    return SECRET_PARTS.get(name, TOKENS[name])


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_a_credential_value_is_refused_and_not_echoed(tmp_path: Path, name: str) -> None:
    """Every token shape as a value (`[audit.test_env] X = "<token>"`): refused, path named, text never shown."""
    text = _error(tmp_path, f"[audit.test_env]\nX = {_toml_str(TOKENS[name])}\n")
    assert "secrets are never read from a file" in text
    assert "$.audit.test_env.X (" in text
    assert _secret(name) not in text


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_a_credential_key_is_refused_and_not_echoed(tmp_path: Path, name: str) -> None:
    """Every token shape as a key (`[audit.checkouts] "<token>" = "/tmp"`): refused, the key masked in the path."""
    text = _error(tmp_path, f'[audit.checkouts]\n{_toml_str(TOKENS[name])} = "/tmp"\n')
    assert "secrets are never read from a file" in text
    assert '$.audit.checkouts["***"] (a key holding ' in text
    assert _secret(name) not in text


@pytest.mark.parametrize(
    ("section", "key"),
    [("release", "index_url"), ("saas", "base_url"), ("github", "api_url"), ("canary", "command")],
)
def test_urls_with_credentials_are_refused_where_urls_belong(tmp_path: Path, section: str, key: str) -> None:
    """`release.index_url = "http://user:secret@..."`: refused, the password never shown."""
    url = _toml_str("http://user:s3cr3t-pw@127.0.0.1:9/simple/")
    value = f"[{url}]" if key == "command" else url
    text = _error(tmp_path, f"[{section}]\n{key} = {value}\n")
    assert "a URL with user:password@ credentials" in text
    assert "s3cr3t-pw" not in text


def test_plain_urls_and_ssh_users_are_not_credentials(tmp_path: Path) -> None:
    """A URL without userinfo and an `ssh://git@` clone URL load fine."""
    config = _load(
        tmp_path,
        '[release]\nindex_url = "http://127.0.0.1:9/simple/"\n'
        '[audit.checkouts]\n"Priivacy-ai/spec-kitty" = "ssh://git@github.invalid/Priivacy-ai/spec-kitty.git"\n',
    )
    assert config.release.index_url == "http://127.0.0.1:9/simple/"
    assert config.audit.checkouts["Priivacy-ai/spec-kitty"].startswith("ssh://git@")


def test_prose_about_tokens_is_not_a_credential(tmp_path: Path) -> None:
    """A blocker titled "Token refresh fails" or "Basic auth broken" is a title, not a secret."""
    config = _load(
        tmp_path,
        '[[blockers]]\nnumber = 7\ntitle = "Token refresh fails"\n[[blockers]]\nnumber = 8\ntitle = "Basic auth broken"\n',
    )
    assert [b.title for b in config.blockers] == ["Token refresh fails", "Basic auth broken"]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phase4gate", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"},
        check=False,
    )


def test_cli_exit_2_for_a_bool_count(tmp_path: Path) -> None:
    """Through the real CLI: `canary.runs = true` is exit 2 with the file, path, expected and found."""
    (tmp_path / "gate.toml").write_text("[canary]\nruns = true\n[teamspace]\nruns = 1.9\n")
    result = _cli(tmp_path, "config", "show")
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert "gate.toml: $.canary.runs: invalid value for type, expected int, found a boolean (true)" in result.stderr
    assert "gate.toml: $.teamspace.runs: invalid value for type, expected int, found a float (1.9)" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_token_key_never_echoed_or_journalled(tmp_path: Path) -> None:
    """Through the real CLI: a token-shaped key is exit 2 for `config show` and `run`; no output or file holds it."""
    (tmp_path / "gate.toml").write_text(f'[audit.checkouts]\n"{GHP}" = "/tmp"\n')
    shown = _cli(tmp_path, "config", "show")
    ran = _cli(tmp_path, "run", "--dry-run", "--evidence-root", str(tmp_path / "evidence"))
    for result in (shown, ran):
        assert result.returncode == ExitCode.USAGE, result.stderr
        assert GHP not in result.stdout + result.stderr
        assert '$.audit.checkouts["***"]' in result.stderr
    assert not (tmp_path / "evidence").exists()


# --------------------------------------------------------------------------- fuzz

_TOML_VALUES = st.recursive(
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.text(max_size=12)
    | st.datetimes(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_SETTINGS = [
    ("canary", "runs"),
    ("canary", "timeout_seconds"),
    ("canary", "scenarios"),
    ("canary", "command"),
    ("canary", "env"),
    ("canary", "scenario_map"),
    ("canary", "signatures"),
    ("teamspace", "runs"),
    ("saas", "retries"),
    ("saas", "base_url"),
    ("release", "installer"),
    ("release", "index_url"),
    ("audit", "proof"),
    ("audit", "checkouts"),
    ("comments", "e2e"),
    ("github", "deadline_seconds"),
]


@given(setting=st.sampled_from(_SETTINGS), value=_TOML_VALUES)
def test_any_value_loads_or_names_file_and_path(setting: tuple[str, str], value: object) -> None:
    """Any TOML value at any setting: a config, or a ConfigError naming the file and the setting's `$.path`."""
    section, key = setting
    try:
        config = config_from_mapping({section: {key: value}}, source="fuzz.toml")
    except ConfigError as exc:
        text = str(exc)
        assert text.startswith("fuzz.toml: ")
        assert f"$.{section}.{key}" in text or "holds a secret at $." in text, text
    else:
        loaded = getattr(getattr(config, section), key)
        assert loaded is not None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[release]\ntag_format = "v{ver}"\n',
            "$.release: invalid value: tag_format: 'v{ver}' names {ver}; only {version}",
        ),
        (
            '[teamspace]\nlog_path = "/tmp/run-{x}.log"\n',
            "log_path: '/tmp/run-{x}.log' names {x}; only {n} may be used",
        ),
        ('[teamspace]\nlog_path = "/tmp/run-{n}{"\n', "log_path: '/tmp/run-{n}{' is not a valid format string"),
        ('[audit]\ninstall_command = ["sh", "-c", "${f} {python}"]\n', "install_command: '${f} {python}' names {f}"),
    ],
)
def test_format_placeholders_are_checked_when_the_config_loads(tmp_path: Path, body: str, expected: str) -> None:
    """A placeholder the step cannot fill is a config error (exit 2), not a KeyError inside the step (exit 70)."""
    assert expected in _error(tmp_path, body)


def test_the_documented_placeholders_load(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        '[release]\ntag_format = "release-{version}"\n[teamspace]\nlog_path = "/tmp/ts-{n:02d}.log"\n'
        '[audit]\ninstall_command = ["uv", "pip", "install", "--python", "{python}", "-e", ".[{{test}}]"]\n',
    )
    assert config.release.tag_format.format(version="3.2.0rc16") == "release-3.2.0rc16"
    assert config.teamspace.log_path.format(n=3) == "/tmp/ts-03.log"  # noqa: S108 - a config value, not a file
    assert config.audit.install_command[-1].format(python="p", env="e") == ".[{test}]"
