"""The one redaction function: every credential shape masked, ordinary text left alone.

Issue 20, case 3: ``errors.redact`` is used at every boundary (child-process logs,
install logs and records, index errors, WP02's evidence, journal and report), so it
must know URL userinfo and credential query values as well as the token shapes.
"""

from __future__ import annotations

import pytest

from phase4gate.errors import InputError, PackageIndexError, ProcessError, credential_kind, redact, redact_data

GHP = "ghp_" + "A1b2C3d4E5" * 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # URL userinfo: the user stays beside a masked password (as pip shows it); a lone user part may be a token.
        (
            "GET http://user:s3cret@127.0.0.1:9/simple/x/: refused",
            "GET http://user:***@127.0.0.1:9/simple/x/: refused",
        ),
        ("https://user:p%40ss@host/simple/", "https://user:***@host/simple/"),
        ("https://user:p@ss@host/simple/", "https://user:***@host/simple/"),
        ("https://t0kenvalue@host/x", "https://***@host/x"),
        (f"https://x-access-token:{GHP}@github.com/o/r", "https://x-access-token:***@github.com/o/r"),
        (f"https://{GHP}:x@github.com/o/r", "https://***@github.com/o/r"),
        ("--index-url http://u:pw@127.0.0.1:1/simple/ x.whl", "--index-url http://u:***@127.0.0.1:1/simple/ x.whl"),
        # Credential query values.
        ("https://h/x?token=abc&page=2", "https://h/x?token=***&page=2"),
        ("https://h/x?a=1&access_token=zz", "https://h/x?a=1&access_token=***"),
        ("https://blob/x?sv=2020&sig=AbC%2Bd", "https://blob/x?sv=2020&sig=***"),
        (
            "https://s3/x?X-Amz-Signature=abcdef&X-Amz-Credential=AKIA/2026",
            "https://s3/x?X-Amz-Signature=***&X-Amz-Credential=***",
        ),
        ("https://h/x?api_key=k1&private_token=k2", "https://h/x?api_key=***&private_token=***"),
        # Token shapes and authorization schemes.
        (f"token {GHP}", "***"),
        (f"using {GHP} now", "using *** now"),
        ("gho_" + "x" * 36, "***"),
        ("ghu_" + "x" * 36, "***"),
        ("ghs_" + "x" * 36, "***"),
        ("ghr_" + "x" * 36, "***"),
        ("github_pat_" + "x1" * 30, "***"),
        ("Bearer abcdefghijklmnopqrstuv", "***"),
        ("Authorization: Basic dXNlcjpzZWNyZXQ=", "***"),
        ("sent Basic dXNlcjpzZWNyZXQ= to the index", "sent Basic *** to the index"),
        # Left alone: no credential in it.
        ("Basic authentication is used", "Basic authentication is used"),
        ("ok http://127.0.0.1:9/simple/spec-kitty-cli/", "ok http://127.0.0.1:9/simple/spec-kitty-cli/"),
        ("https://h/x?page=2&keyword=sync&monkey=1", "https://h/x?page=2&keyword=sync&monkey=1"),
        ("git@github.com:owner/repo.git", "git@github.com:owner/repo.git"),
        ("mail fixture@example.invalid", "mail fixture@example.invalid"),
        ('{"a":"http://host/","b":"x@y"}', '{"a":"http://host/","b":"x@y"}'),
        ('{"a":"http://host","b":"x@y"}', '{"a":"http://host","b":"x@y"}'),
        ('{"u":"http://u:pw@h/"}', '{"u":"http://u:***@h/"}'),
        ("token_env = GITHUB_TOKEN", "token_env = GITHUB_TOKEN"),
    ],
)
def test_redact_table(text: str, expected: str) -> None:
    """Each shape is masked exactly, and text without a credential is unchanged."""
    assert redact(text) == expected


def test_redact_is_idempotent() -> None:
    """Redacting twice changes nothing more (the journal may hold text redacted before)."""
    text = "GET http://user:s3cret@127.0.0.1:9/?token=abc Basic dXNlcjpzZWNyZXQ= " + GHP
    once = redact(text)
    assert redact(once) == once
    assert "s3cret" not in once
    assert "abc" not in once


def test_known_secrets_are_masked_wherever_they_appear() -> None:
    """A secret passed in is masked even when nothing marks it as one."""
    assert redact("password was hunter2-x, again hunter2-x", "hunter2-x") == "password was ***, again ***"


def test_redact_data_walks_keys_and_values() -> None:
    """Every string of JSON-shaped data, keys included, goes through redact."""
    data = {"index_url": "http://u:pw1@h/simple/", "files": [{"url": "http://u:pw1@h/f.whl"}], GHP: 3, "n": 1}
    out = redact_data(data)
    assert out == {"index_url": "http://u:***@h/simple/", "files": [{"url": "http://u:***@h/f.whl"}], "***": 3, "n": 1}


def test_adapter_errors_never_carry_credentials() -> None:
    """An index error's text and its url attribute hold no password (and no query string)."""
    exc = PackageIndexError("GET http://u:pw1@h/simple/x/ answered 500", url="http://u:pw1@h/simple/x/?token=t")
    assert "pw1" not in str(exc)
    assert exc.url == "http://u:***@h/simple/x/"


def test_exception_context_never_carries_credentials() -> None:
    """A ProcessError's argv and an InputError's problems are kept redacted too."""
    proc = ProcessError("uv failed", argv=("uv", "pip", "install", "--index-url", "http://u:pw1@h/simple/"))
    assert proc.argv[-1] == "http://u:***@h/simple/"
    bad = InputError("run.json", ["$.saas_url: http://u:pw1@h/ is not allowed"])
    assert "pw1" not in " ".join(bad.problems)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (GHP, "a token-shaped string"),
        ("Bearer abc123def456", "an HTTP credential (Bearer/Basic/token scheme)"),
        ("Basic dXNlcjpwdw==", "an HTTP credential (Bearer/Basic/token scheme)"),
        ("http://u:p@h/", "a URL with user:password@ credentials"),
        ("https://t0ken@h/", "a URL with a user@ credential"),
        ("https://h/?access_token=x", "a URL with a credential in its query"),
        ("ssh://git@github.com/o/r.git", None),
        ("http://127.0.0.1:9/simple/", None),
        ("Basic authentication", None),
        ("Token refresh fails after an hour", None),
    ],
)
def test_credential_kind(text: str, kind: str | None) -> None:
    """The configuration's refusal says what kind of credential it found, never the credential."""
    assert credential_kind(text) == kind
