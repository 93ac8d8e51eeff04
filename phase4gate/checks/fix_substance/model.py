"""The audit's values: changed files, options, focus, per-file reports and the pre-proof classification."""

from __future__ import annotations

import enum
from typing import Final

from attrs import frozen

DEFAULT_LOGGING_NAMES: Final = ("logger", "logging", "log", "_log", "_logger", "LOGGER", "LOG")


class FileKind(enum.StrEnum):
    """What a changed file's change is."""

    BEHAVIOURAL = "behavioural"
    LOGGING_ONLY = "logging-only"
    DOCS_ONLY = "docs-only"
    TEST = "test"
    NOT_ANALYSED = "not-analysed"  # other languages and config: counted as behavioural
    UNPARSEABLE = "unparseable"


class Verdict(enum.StrEnum):
    """WP01's per-blocker verdicts; every one but ``substantive`` is a stop reason."""

    SUBSTANTIVE = "substantive"
    LOGGING_ONLY = "logging-only"
    DOCS_ONLY = "docs-only"
    FOCUS_UNTOUCHED = "focus-untouched"
    NO_TEST = "no-test"
    TEST_NOT_REFERENCING = "test-not-referencing"
    TEST_PASSES_WITHOUT_FIX = "test-passes-without-fix"
    TEST_FAILS_WITH_FIX = "test-fails-with-fix"
    PROOF_ONLY_MISSING_NAME = "proof-only-missing-name"
    PROOF_ONLY_LOGS = "proof-only-logs"
    UNPARSEABLE = "unparseable"


@frozen
class FileChange:
    """One changed file of a commit: both sides' text (``None`` where the side does not exist)."""

    path: str
    before: str | None
    after: str | None
    old_path: str | None = None  # set for renames

    @property
    def status(self) -> str:
        """``added``, ``deleted``, ``renamed`` or ``modified``."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "deleted"
        if self.old_path and self.old_path != self.path:
            return "renamed"
        return "modified"


@frozen
class AuditOptions:
    """Which names are loggers, and whether ``warnings.warn`` only observes."""

    logging_names: tuple[str, ...] = DEFAULT_LOGGING_NAMES
    warnings_are_logging: bool = False


@frozen
class Focus:
    """The files and symbols that belong to one blocker; empty means the whole commit."""

    files: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing is configured: the whole commit is judged."""
        return not self.files and not self.symbols


@frozen
class ChangedSymbol:
    """A function, method or class whose code changed, with its line range."""

    path: str
    qualname: str  # "OfflineQueue.queue_event"; "<module>" for module-level statements
    change: str  # "modified", "added", "deleted"
    start: int
    end: int
    behavioural: bool = True  # False: changed only by logging, docstrings or comments
    in_focus: bool = False

    @property
    def name(self) -> str:
        """The last component of the qualified name."""
        return self.qualname.rsplit(".", 1)[-1]

    def __str__(self) -> str:
        return f"{self.path}:{self.qualname} ({self.start}-{self.end})"


@frozen
class FileReport:
    """One file's classification."""

    path: str
    status: str
    kind: FileKind
    old_path: str | None = None
    in_focus: bool = False
    symbols: tuple[ChangedSymbol, ...] = ()
    error: str | None = None


@frozen
class Classification:
    """The audit of one commit for one blocker, before (or without) the proof."""

    verdict: Verdict
    reason: str
    files: tuple[FileReport, ...]
    changed_symbols: tuple[ChangedSymbol, ...]
    closes: tuple[int, ...] = ()
    focus: Focus = Focus()
    focus_callers: tuple[str, ...] = ()
    outside_focus: tuple[str, ...] = ()
    referencing_tests: tuple[str, ...] = ()  # "path: name" of tests naming a changed focus symbol
    test_ids: tuple[str, ...] = ()  # pytest node ids to run in the proof
    restore_paths: tuple[str, ...] = ()  # behavioural focus files to restore to the parent
    # "path:qualname" of the behavioural focus symbols the proof reverts (only these, when focus symbols narrow).
    restore_symbols: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def needs_proof(self) -> bool:
        """True when the verdict so far is ``substantive`` and a test must prove it."""
        return self.verdict is Verdict.SUBSTANTIVE
