"""One exception tree and one exit-code map for the whole gate.

A failed *check* is a verdict (a :class:`~phase4gate.models.StepOutcome`), never
an exception.  Exceptions mean "could not decide": bad input, an adapter that
could not reach its peer, evidence that could not be written.  ``cli.py`` maps
each exception to its ``exit_code`` in one place.
"""

from __future__ import annotations

import enum
import re

# Imported for annotations only: `phase4gate --help` and `resolve-rc` import this module and no `typing`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Final

__all__ = [
    "AdapterError",
    "ConfigError",
    "EvidenceError",
    "EvidenceExistsError",
    "ExitCode",
    "GitError",
    "GitHubError",
    "InputError",
    "NotImplementedStepError",
    "PackageIndexError",
    "Phase4GateError",
    "ProcessError",
    "SaaSError",
    "UsageError",
    "credential_kind",
    "most_severe",
    "redact",
    "redact_data",
]


class ExitCode(enum.IntEnum):
    """Process exit codes; 0-3 are the documented contract."""

    PASSED = 0
    STOPPED = 1
    USAGE = 2
    INFRA = 3
    INTERNAL = 70
    INTERRUPTED = 130


# Which code wins when several WPs ended differently: a bug, then a configuration error
# (fix the file first), then "could not decide", then a stop.
_SEVERITY: Final = (
    ExitCode.PASSED,
    ExitCode.STOPPED,
    ExitCode.INFRA,
    ExitCode.USAGE,
    ExitCode.INTERRUPTED,
    ExitCode.INTERNAL,
)


def most_severe(codes: Iterable[ExitCode]) -> ExitCode:
    """Return the most severe of *codes* (``PASSED`` for none): 70 > 130 > 2 > 3 > 1 > 0."""
    return max(codes, key=_SEVERITY.index, default=ExitCode.PASSED)


# GitHub token shapes (classic, fine-grained, app, OAuth, refresh) and bearer headers.
_TOKEN_RE = re.compile(
    r"(gh[pousr]_[A-Za-z0-9_]{10,}|github_pat_[A-Za-z0-9_]{10,}"
    r"|(?i:authorization)\s*[:=]\s*\S+(?:\s+\S+)?|(?i:token|bearer)\s+[A-Za-z0-9_\-\.]{16,})"
)
# "Basic <base64 of user:password>": a base64-looking word holding a digit, +, / or = (never plain prose).
_BASIC_RE = re.compile(r"\b(?i:basic)\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}")
# The userinfo of a URL: everything between "scheme://" and the authority's last "@".
# Quotes, angle brackets and backslashes end it too: a URL inside JSON or HTML never swallows its neighbours.
_USERINFO_RE = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s?#@\"'<>\\`]*(?:@[^/\s?#@\"'<>\\`]*)*)@"
)
# Query (or fragment) parameters whose value is a credential: token=, access_token=, sig=, X-Amz-Signature=, ...
_SECRET_PARAM_RE = re.compile(
    r"(?P<key>[?&#;](?:[A-Za-z0-9_.-]{0,64}[_.-])?"
    r"(?i:token|sig|signature|secret|password|passwd|pwd|key|apikey|auth|credential|code|session)"
    r"(?:[_.-][A-Za-z0-9_.-]{0,64})?=)(?P<value>[^&#\s\"'<>]+)"
)
# A whole value that is "<scheme> <credential>": one word of 8+ characters holding a digit or + / = (not prose).
_SCHEME_CREDENTIAL_RE = re.compile(r"\s*(?i:bearer|basic|token)\s+(?=\S*[0-9+/=])\S{8,}\s*$")
_URL_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
MASK: Final = "***"


def _mask_userinfo(match: re.Match[str]) -> str:
    # Like pip: keep a user name beside a password ("user:***@"); a lone user part may be a token.
    user, sep, _password = match.group("userinfo").partition(":")
    kept = f"{user}:{MASK}" if sep and not _TOKEN_RE.search(user) else MASK
    return f"{match.group('scheme')}{kept}@"


def redact(text: str, *secrets: str | None) -> str:
    """Return *text* with every known secret and every credential-shaped string masked.

    The one redaction used at every boundary (stdout, stderr, child-process logs,
    journal, report, evidence, exception text): each *secret* given, GitHub token
    shapes, ``Authorization:`` / ``Bearer`` / ``Basic`` credentials, the userinfo
    of any URL (``https://user:***@host``, ``https://***@host``) and credential
    query values (``?token=***``, ``&sig=***``).
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _USERINFO_RE.sub(_mask_userinfo, text)
    text = _SECRET_PARAM_RE.sub(lambda m: m.group("key") + MASK, text)
    text = _BASIC_RE.sub(lambda m: m.group(0).split(None, 1)[0] + " " + MASK, text)
    return _TOKEN_RE.sub(MASK, text)


def credential_kind(text: str) -> str | None:
    """Say what kind of credential *text* holds, without quoting it; ``None`` when it holds none.

    Stricter than :func:`redact` (which must leave prose alone): a whole value
    ``Bearer …``, ``Basic …`` or ``token …`` counts, and so does a URL with a password,
    an ``http(s)`` URL with a user part, or a credential query value.  A plain
    ``ssh://git@host`` user is not a credential.
    """
    from urllib.parse import urlsplit  # noqa: PLC0415 - rare; kept out of start-up

    if _TOKEN_RE.search(text):
        return "a token-shaped string"
    if _SCHEME_CREDENTIAL_RE.match(text) or _BASIC_RE.search(text):
        return "an HTTP credential (Bearer/Basic/token scheme)"
    for match in _URL_RE.finditer(text):
        parts = urlsplit(match.group(0))
        if parts.password is not None:
            return "a URL with user:password@ credentials"
        if parts.username and parts.scheme.lower() in {"http", "https"}:
            return "a URL with a user@ credential"
        if _SECRET_PARAM_RE.search(match.group(0)):
            return "a URL with a credential in its query"
    return None


def redact_data(data: object) -> object:
    """Return JSON-shaped *data* with :func:`redact` applied to every string in it (keys too)."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact(str(k)) if isinstance(k, str) else k: redact_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v) for v in data]
    return data


class Phase4GateError(Exception):
    """Base of every error the gate raises on purpose.

    ``hint`` names the next step for the operator, like pypa/build's ``TIP``.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(redact(message))
        self.hint = redact(hint) if hint else None


class UsageError(Phase4GateError, ValueError):
    """The command line asked for something that cannot be done (e.g. ``--only`` before its needs)."""

    exit_code = ExitCode.USAGE


class ConfigError(Phase4GateError, ValueError):
    """The configuration file is unreadable, has an unknown key, a wrong type, or holds a secret."""

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        prefix = f"{path}: " if path else ""
        where = f"{field}: " if field else ""
        super().__init__(f"{prefix}{where}{message}", hint=hint)
        self.path = path
        self.field = field


class InputError(Phase4GateError, ValueError):
    """A file the gate reads (run file, journal, manifest) is malformed or inconsistent.

    ``problems`` holds every problem found, one line each, so a user fixes the file
    in one pass.  This is a stop (exit 1): the evidence itself is bad.
    """

    exit_code = ExitCode.STOPPED

    def __init__(self, path: str, problems: tuple[str, ...] | list[str], *, hint: str | None = None) -> None:
        self.path = path
        self.problems = tuple(redact(p) for p in problems)
        lines = "\n".join(f"{path}: {p}" for p in self.problems) or f"{path}: invalid"
        super().__init__(lines, hint=hint)


class EvidenceError(Phase4GateError, OSError):
    """Evidence could not be written or read back."""

    exit_code = ExitCode.INFRA

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class EvidenceExistsError(EvidenceError):
    """An evidence file already exists; evidence is write-once and is never replaced."""

    exit_code = ExitCode.INFRA


class AdapterError(Phase4GateError):
    """An adapter could not get an answer from its peer: the gate could not decide."""

    exit_code = ExitCode.INFRA

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        # Never keep a query string or a userinfo: they may carry credentials.
        self.url = redact(url.split("?", 1)[0]) if url else None
        super().__init__(message, hint=hint)


class GitHubError(AdapterError):
    """GitHub answered with an error, or not at all."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, url=url, hint=hint)
        self.status = status


class PackageIndexError(AdapterError):
    """The package index could not be read."""


class SaaSError(AdapterError):
    """The SaaS could not be reached or answered something unreadable."""


class GitError(AdapterError):
    """A git command failed."""


class ProcessError(AdapterError):
    """A child process could not be started, timed out, or failed where that means "could not decide"."""

    def __init__(
        self,
        message: str,
        *,
        argv: tuple[str, ...] = (),
        returncode: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        # The command line may hold an index URL with its credentials: kept redacted.
        self.argv = tuple(redact(a) for a in argv)
        self.returncode = returncode


class NotImplementedStepError(Phase4GateError):
    """A work package has no implementation yet: the gate cannot decide (never a pass)."""

    exit_code = ExitCode.INFRA
