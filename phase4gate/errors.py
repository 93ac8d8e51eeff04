"""One exception tree and one exit-code map for the whole gate.

A failed *check* is a verdict (a :class:`~phase4gate.models.StepOutcome`), never
an exception.  Exceptions mean "could not decide": bad input, an adapter that
could not reach its peer, evidence that could not be written.  ``cli.py`` maps
each exception to its ``exit_code`` in one place.
"""

from __future__ import annotations

import enum
import re

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
    "redact",
]


class ExitCode(enum.IntEnum):
    """Process exit codes; 0-3 are the documented contract."""

    PASSED = 0
    STOPPED = 1
    USAGE = 2
    INFRA = 3
    INTERNAL = 70
    INTERRUPTED = 130


# GitHub token shapes (classic, fine-grained, app, OAuth, refresh) and bearer headers.
_TOKEN_RE = re.compile(
    r"(gh[pousr]_[A-Za-z0-9_]{10,}|github_pat_[A-Za-z0-9_]{10,}"
    r"|(?i:authorization)\s*[:=]\s*\S+(?:\s+\S+)?|(?i:token|bearer)\s+[A-Za-z0-9_\-\.]{16,})"
)


def redact(text: str, *secrets: str | None) -> str:
    """Return *text* with every known secret and every token-shaped string masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _TOKEN_RE.sub("***", text)


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
        self.problems = tuple(problems)
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
        # Never keep a query string: it may carry credentials.
        self.url = url.split("?", 1)[0] if url else None
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
        self.argv = argv
        self.returncode = returncode


class NotImplementedStepError(Phase4GateError):
    """A work package has no implementation yet: the gate cannot decide (never a pass)."""

    exit_code = ExitCode.INFRA
