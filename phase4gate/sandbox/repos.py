"""Real git repositories for the fix audit: a small spec-kitty-shaped CLI and a sibling e2e harness.

:func:`build_cli_repo` makes a repository shaped like spec-kitty
(``src/specify_cli/sync/queue.py`` with ``OfflineQueue.queue_event`` and its
silent-replacement bug; ``src/specify_cli/status/adapters.py`` with
``fire_saas_fanout -> emit_wp_status_changed -> OfflineQueue.queue_event``;
``tests/``; a ``pyproject.toml`` with a ``test`` extra; a ``uv.lock``) and one
commit per audit verdict, each a child of ``base``.  :func:`build_e2e_fix_repo`
makes the sibling repository whose harness fix closed #1141 the second time.

Dates and identities are fixed, and the lock is resolved with a fixed
``--exclude-newer``, so the shas are the same on every build.  The only
test dependency is pytest, so a proof environment builds in a second from uv's cache.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from attrs import frozen

from phase4gate.errors import GitError, ProcessError

__all__ = [
    "CLI_VARIANTS",
    "EXCLUDE_NEWER",
    "SCENARIO_FIXES",
    "CliRepo",
    "build_cli_repo",
    "build_e2e_fix_repo",
    "commit_files",
    "git",
    "scenario_fixes",
]

EXCLUDE_NEWER: Final = "2026-05-01T00:00:00Z"
_BASE_DATE: Final = "2026-05-10T10:00:00+00:00"
_TIMEOUT: Final = 120.0


@frozen
class CliRepo:
    """A built repository: its path and its named commits (name -> sha)."""

    path: Path
    commits: dict[str, str]

    def sha(self, name: str) -> str:
        """Return the sha of commit *name*."""
        return self.commits[name]


def git(repo: Path, *args: str, date: str = _BASE_DATE) -> str:
    """Run git in a fixture repository with the fixed identity and *date*; return stdout.

    Raises:
        GitError: git failed.
    """
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": "Spec Kitty Dev",
        "GIT_AUTHOR_EMAIL": "dev@spec-kitty.invalid",
        "GIT_COMMITTER_NAME": "Spec Kitty Dev",
        "GIT_COMMITTER_EMAIL": "dev@spec-kitty.invalid",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    argv = ("git", "-C", str(repo), "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args)
    proc = subprocess.run(argv, capture_output=True, timeout=_TIMEOUT, env=env, check=False)
    if proc.returncode != 0:
        raise GitError(f"{repo}: `git {' '.join(args[:2])}` failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode().strip()


def commit_files(repo: Path, files: Mapping[str, str | None], message: str, *, date: str, parent: str | None) -> str:
    """Write *files* (``None`` deletes) on top of *parent* (detached) and commit; return the sha."""
    if parent:
        git(repo, "checkout", "--quiet", "--detach", "--force", parent)
    for rel, text in files.items():
        target = repo / rel
        if text is None:
            git(repo, "rm", "--quiet", "--", rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        git(repo, "add", "--", rel)
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD")


def _lock(repo: Path) -> str:
    """Resolve ``uv.lock`` for *repo*'s pyproject at the fixed date (from uv's cache when offline)."""
    last = ""
    for extra in ((), ("--offline",)):
        argv = ("uv", "lock", "--quiet", "--exclude-newer", EXCLUDE_NEWER, *extra)
        try:
            proc = subprocess.run(argv, cwd=repo, capture_output=True, timeout=_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            last = str(exc)
            continue
        if proc.returncode == 0:
            return (repo / "uv.lock").read_text(encoding="utf-8")
        last = proc.stderr.decode(errors="replace").strip()
    raise ProcessError(f"{repo}: cannot resolve uv.lock for the fixture: {last}", argv=("uv", "lock"))


def _pyproject(name: str, package: str) -> str:
    return f"""\
[project]
name = "{name}"
version = "3.2.0rc15"
requires-python = ">=3.11"
dependencies = []

[project.optional-dependencies]
test = ["pytest>=8"]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/{package}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
# Like the real harness: deployed tests are deselected by default.
addopts = ["-m", "not deployed_dev"]
markers = ["deployed_dev: needs the deployed SaaS"]
"""


_QUEUE: Final = '''\
"""The offline queue: sync events waiting for the SaaS."""

from __future__ import annotations


class OfflineQueue:
    """Pending sync events, oldest first."""

    def __init__(self) -> None:
        self._rows: list[dict[str, str]] = []

    def queue_event(self, event: dict[str, str]) -> bool:
        """Queue *event* for the SaaS."""
        key = event["aggregate_id"]
        for i, row in enumerate(self._rows):
            if row["aggregate_id"] == key:
                # A newer event for the same aggregate takes the pending one's place.
                self._rows[i] = event
                return True
        self._rows.append(event)
        return True

    def pending(self) -> list[dict[str, str]]:
        """Return the pending events, oldest first."""
        return list(self._rows)

    def peek(self) -> dict[str, str] | None:
        """Return the newest pending event."""
        return self._rows[-1] if self._rows else None

    def stats(self) -> dict[str, int]:
        """Return counters for `sync status`."""
        return {"pending": len(self._rows)}
'''

_BUGGY_BRANCH: Final = """\
        key = event["aggregate_id"]
        for i, row in enumerate(self._rows):
            if row["aggregate_id"] == key:
                # A newer event for the same aggregate takes the pending one's place.
                self._rows[i] = event
                return True
        self._rows.append(event)
        return True
"""

_FIXED_BRANCH: Final = """\
        # Every event is kept: a rollback must never silently take an earlier row's place.
        self._rows.append(event)
        return True
"""

_QUEUE_FIXED: Final = _QUEUE.replace(_BUGGY_BRANCH, _FIXED_BRANCH).replace(
    '"""Queue *event* for the SaaS."""', '"""Queue *event* for the SaaS; never replace a pending event."""'
)

_LOGGING_HEAD: Final = (
    '"""The offline queue: sync events waiting for the SaaS."""\n\nfrom __future__ import annotations\n\n'
    "import logging\n\nlogger = logging.getLogger(__name__)\n"
)


def _with_logger(text: str) -> str:
    return text.replace(
        '"""The offline queue: sync events waiting for the SaaS."""\n\nfrom __future__ import annotations\n',
        _LOGGING_HEAD,
    )


_QUEUE_LOGGING_ONLY: Final = _with_logger(_QUEUE).replace(
    '        key = event["aggregate_id"]\n',
    '        key = event["aggregate_id"]\n        logger.debug("queue_event %s for %s", event.get("type"), key)\n',
)

_QUEUE_LOGGING_AND_FIX: Final = _with_logger(_QUEUE_FIXED).replace(
    "        self._rows.append(event)\n        return True\n",
    "        self._rows.append(event)\n"
    '        logger.debug("queued %s (%d pending)", event["aggregate_id"], len(self._rows))\n'
    "        return True\n",
)

_QUEUE_SIDE_EFFECT: Final = _with_logger(_QUEUE).replace(
    "                self._rows[i] = event\n",
    '                logger.info("replacing pending row %s", self._rows.pop(i))\n'
    "                self._rows[i] = event\n",
)

# The counter appears with the first replacement, made by queue_event (the focus) itself; stats (outside the
# focus) reads it.  Without the fix the tests fail only on the missing attribute or report key, whether the
# tree without the fix reverts queue_event alone (#1141's focus symbols) or the whole file (no focus).
_QUEUE_MISSING_NAME: Final = (
    _QUEUE.replace(
        "        self._rows: list[dict[str, str]] = []\n",
        "        self._rows: list[dict[str, str]] = []\n        # replaced_count appears with the first replacement.\n",
    )
    .replace(
        "                self._rows[i] = event\n",
        "                self._rows[i] = event\n"
        '                self.replaced_count = getattr(self, "replaced_count", 0) + 1\n',
    )
    .replace(
        'return {"pending": len(self._rows)}', 'return {"pending": len(self._rows), "replaced": self.replaced_count}'
    )
)

# The earlier shape of the missing-name fixture: the counter is created in __init__, outside #1141's focus
# symbols.  With those symbols only queue_event is reverted, the counter stays 0 and the tests fail on their
# assertions: the proof comes from queue_event's own change (issue 20: this verdict moved to substantive).
_QUEUE_MISSING_NAME_OUTSIDE_FOCUS: Final = (
    _QUEUE.replace(
        "        self._rows: list[dict[str, str]] = []\n",
        "        self._rows: list[dict[str, str]] = []\n        self.replaced_count = 0\n",
    )
    .replace(
        "                self._rows[i] = event\n",
        "                self._rows[i] = event\n                self.replaced_count += 1\n",
    )
    .replace(
        'return {"pending": len(self._rows)}', 'return {"pending": len(self._rows), "replaced": self.replaced_count}'
    )
)

_QUEUE_SYNTAX_ERROR: Final = _QUEUE_FIXED.replace(
    "    def queue_event(self, event: dict[str, str]) -> bool:",
    "    def queue_event(self, event: dict[str, str]) -> bool",
)

_QUEUE_DOCS: Final = _QUEUE.replace(
    '"""Pending sync events, oldest first."""',
    '"""Pending sync events, oldest first.\n\n'
    '    See #1141: a newer event for an aggregate replaces its pending row.\n    """',
)

_ADAPTERS: Final = '''\
"""Status adapters: fan work-package status changes out to the SaaS."""

from __future__ import annotations

import logging

from specify_cli.sync.queue import OfflineQueue

logger = logging.getLogger(__name__)


def emit_wp_status_changed(queue: OfflineQueue, wp_id: str, from_lane: str, to_lane: str) -> bool:
    """Queue a WPStatusChanged event."""
    event = {"aggregate_id": wp_id, "type": "WPStatusChanged", "from": from_lane, "to": to_lane}
    return queue.queue_event(event)


def fire_saas_fanout(queue: OfflineQueue, wp_id: str, from_lane: str, to_lane: str) -> bool:
    """Fan a status change out to the SaaS queue."""
    if from_lane == to_lane:
        logger.warning("fan-out skipped for %s: no lane change", wp_id)
        return False
    return emit_wp_status_changed(queue, wp_id, from_lane, to_lane)
'''

# #1141's real "fix": a breadcrumb, extra fields on the existing warning, docstring text.
_ADAPTERS_BREADCRUMBS: Final = _ADAPTERS.replace(
    '    """Fan a status change out to the SaaS queue."""\n    if from_lane == to_lane:\n'
    '        logger.warning("fan-out skipped for %s: no lane change", wp_id)\n',
    '    """Fan a status change out to the SaaS queue.\n\n'
    "    Logs a breadcrumb for every fan-out so a lost rollback can be traced (#1141).\n"
    '    """\n'
    '    logger.info("saas fan-out %s: %s -> %s", wp_id, from_lane, to_lane)\n'
    "    if from_lane == to_lane:\n"
    '        logger.warning("fan-out skipped for %s: no lane change", wp_id,'
    ' extra={"wp_id": wp_id, "lane": to_lane})\n',
)

_TRANSITIONS: Final = '''\
"""Lane transitions of work packages."""

from __future__ import annotations

from specify_cli.status.adapters import fire_saas_fanout
from specify_cli.sync.queue import OfflineQueue


def move_wp(queue: OfflineQueue, wp_id: str, from_lane: str, to_lane: str) -> bool:
    """Move a work package to *to_lane* and tell the SaaS."""
    return fire_saas_fanout(queue, wp_id, from_lane, to_lane)
'''

_ERRORS: Final = '''\
"""Classify sync failures for `spec-kitty sync now`."""

from __future__ import annotations


def classify_sync_error(code: str) -> str:
    """Return the category `sync now` reports for an error code."""
    if code in {"FORBIDDEN_KEY"}:
        return "forbidden"
    return "unknown"
'''

_ERRORS_FIXED: Final = _ERRORS.replace(
    '    if code in {"FORBIDDEN_KEY"}:\n',
    '    if code.split(":", 1)[0].strip() in {"FORBIDDEN_KEY", "FORBIDDEN_FIELD"}:\n',
)

_TEST_QUEUE: Final = """\
from specify_cli.sync.queue import OfflineQueue


def test_queue_event_keeps_an_event():
    queue = OfflineQueue()
    assert queue.queue_event({"aggregate_id": "WP01", "from": "planned", "to": "doing"})
    assert len(queue.pending()) == 1
"""

_TEST_ERRORS: Final = """\
from specify_cli.sync.errors import classify_sync_error


def test_unknown_code_is_unknown():
    assert classify_sync_error("SOMETHING") == "unknown"
"""

_ROLLBACK_TEST: Final = """\
from specify_cli.sync.{module} import OfflineQueue


def test_rollback_is_queued_not_replaced():
    queue = OfflineQueue()
    queue.queue_event({{"aggregate_id": "WP01", "from": "for_review", "to": "in_review"}})
    queue.queue_event({{"aggregate_id": "WP02", "from": "planned", "to": "doing"}})
    queue.queue_event({{"aggregate_id": "WP01", "from": "in_review", "to": "for_review"}})
    peeked = queue.peek()
    assert peeked == {{"aggregate_id": "WP01", "from": "in_review", "to": "for_review"}}, (
        f"peeked row is not the rollback we triggered: from={{peeked['from']!r}} to={{peeked['to']!r}}"
    )
    assert len(queue.pending()) == 3
"""

_TEST_PASSES_ANYWAY: Final = """\
from specify_cli.sync.queue import OfflineQueue


def test_queue_event_accepts_two_aggregates():
    queue = OfflineQueue()
    queue.queue_event({"aggregate_id": "WP01", "from": "planned", "to": "doing"})
    queue.queue_event({"aggregate_id": "WP02", "from": "planned", "to": "doing"})
    assert len(queue.pending()) == 2
"""

_TEST_FAILS_WITH_FIX: Final = """\
from specify_cli.sync.queue import OfflineQueue


def test_queue_event_keeps_one_row_per_aggregate():
    queue = OfflineQueue()
    queue.queue_event({"aggregate_id": "WP01", "from": "planned", "to": "doing"})
    queue.queue_event({"aggregate_id": "WP01", "from": "doing", "to": "for_review"})
    assert len(queue.pending()) == 1
"""

_TEST_MISSING_NAME: Final = """\
from specify_cli.sync.queue import OfflineQueue


def _queue_twice():
    queue = OfflineQueue()
    queue.queue_event({"aggregate_id": "WP01", "from": "planned", "to": "doing"})
    queue.queue_event({"aggregate_id": "WP01", "from": "doing", "to": "planned"})
    return queue


def test_replacement_is_counted():
    assert _queue_twice().replaced_count == 1


def test_stats_report_replacements():
    assert _queue_twice().stats()["replaced"] == 1
"""

_TEST_QUEUE_LOG_LINE: Final = """\
import logging

from specify_cli.sync.queue import OfflineQueue


def test_queue_event_logs_a_breadcrumb(caplog):
    queue = OfflineQueue()
    with caplog.at_level(logging.DEBUG, logger="specify_cli.sync.queue"):
        queue.queue_event({"aggregate_id": "WP01", "type": "WPStatusChanged", "from": "a", "to": "b"})
    assert "queue_event WPStatusChanged for WP01" in caplog.text
"""

_TEST_FANOUT_LOG_LINE: Final = """\
import logging

from specify_cli.status.adapters import fire_saas_fanout
from specify_cli.sync.queue import OfflineQueue


def test_fanout_logs_a_breadcrumb(caplog):
    with caplog.at_level(logging.INFO, logger="specify_cli.status.adapters"):
        fire_saas_fanout(OfflineQueue(), "WP01", "in_review", "for_review")
    assert "saas fan-out WP01: in_review -> for_review" in caplog.text
"""

# A long regression test that passes with and without the change (as #1141's did).
_TEST_FANOUT_REGRESSION: Final = """\
import pytest

from specify_cli.status.adapters import emit_wp_status_changed, fire_saas_fanout
from specify_cli.status.transitions import move_wp
from specify_cli.sync.queue import OfflineQueue

LANES = ["planned", "doing", "for_review", "in_review", "done"]


@pytest.mark.parametrize("step", range(len(LANES) - 1))
def test_fanout_queues_each_forward_move(step):
    queue = OfflineQueue()
    assert fire_saas_fanout(queue, f"WP{step:02d}", LANES[step], LANES[step + 1])
    assert queue.peek()["to"] == LANES[step + 1]


def test_fanout_skips_a_non_move():
    queue = OfflineQueue()
    assert not fire_saas_fanout(queue, "WP01", "doing", "doing")
    assert queue.pending() == []


def test_emit_builds_the_event():
    queue = OfflineQueue()
    emit_wp_status_changed(queue, "WP07", "doing", "done")
    assert queue.pending() == [{"aggregate_id": "WP07", "type": "WPStatusChanged", "from": "doing", "to": "done"}]


def test_move_wp_fans_out():
    queue = OfflineQueue()
    assert move_wp(queue, "WP03", "planned", "doing")
""" + "".join(
    f"""

def test_distinct_packages_{n}():
    queue = OfflineQueue()
    for i in range({n + 2}):
        fire_saas_fanout(queue, f"WP{{i:02d}}", "planned", "doing")
    assert len(queue.pending()) == {n + 2}
"""
    for n in range(8)
)

_TEST_ERRORS_FORBIDDEN: Final = """\
from specify_cli.sync.errors import classify_sync_error


def test_unknown_code_is_unknown():
    assert classify_sync_error("SOMETHING") == "unknown"


def test_forbidden_key_with_detail_is_forbidden():
    assert classify_sync_error("FORBIDDEN_KEY: owner_id") == "forbidden"
"""

_TEST_ERRORS_NOT_REFERENCING: Final = """\
from specify_cli.sync.errors import classify_sync_error


def test_unknown_code_is_unknown():
    assert classify_sync_error("SOMETHING") == "unknown"


def test_empty_code_is_unknown():
    assert classify_sync_error("") == "unknown"
"""

_README: Final = (
    "# spec-kitty (audit fixture)\n\nA small repository shaped like spec-kitty for phase4gate's fix audit.\n"
)

_BASE_FILES: Final = {
    "README.md": _README,
    "CHANGELOG.md": "# Changelog\n\n## 3.2.0rc15\n\n- Baseline.\n",
    "src/specify_cli/__init__.py": '__version__ = "3.2.0rc15"\n',
    "src/specify_cli/sync/__init__.py": "",
    "src/specify_cli/sync/queue.py": _QUEUE,
    "src/specify_cli/sync/errors.py": _ERRORS,
    "src/specify_cli/status/__init__.py": "",
    "src/specify_cli/status/adapters.py": _ADAPTERS,
    "src/specify_cli/status/transitions.py": _TRANSITIONS,
    "tests/sync/test_queue.py": _TEST_QUEUE,
    "tests/sync/test_errors.py": _TEST_ERRORS,
}

_Q: Final = "src/specify_cli/sync/queue.py"
_A: Final = "src/specify_cli/status/adapters.py"

# name -> (files, message).  Every variant is a child of "base".
CLI_VARIANTS: Final[dict[str, tuple[dict[str, str | None], str]]] = {
    "substantive": (
        {_Q: _QUEUE_FIXED, "tests/sync/test_queue_rollback.py": _ROLLBACK_TEST.format(module="queue")},
        "Keep every queued event in OfflineQueue.queue_event\n\nCloses #1141",
    ),
    "logging-only": (
        {
            _Q: _QUEUE_LOGGING_ONLY,
            _A: _ADAPTERS_BREADCRUMBS,
            "tests/sync/test_queue_logging.py": _TEST_QUEUE_LOG_LINE,
            "tests/status/test_fanout_logging.py": _TEST_FANOUT_LOG_LINE,
        },
        "Log queue and fan-out breadcrumbs\n\nCloses #1141",
    ),
    "two-blocker-squash": (
        {
            "src/specify_cli/sync/errors.py": _ERRORS_FIXED,
            _A: _ADAPTERS_BREADCRUMBS,
            "tests/sync/test_errors.py": _TEST_ERRORS_FORBIDDEN,
            "tests/status/test_fanout_logging.py": _TEST_FANOUT_LOG_LINE,
            "tests/status/test_fanout_regression.py": _TEST_FANOUT_REGRESSION,
        },
        "Classify FORBIDDEN_KEY details; fan-out breadcrumbs (#1150)\n\nCloses #1142, #1141",
    ),
    "no-test": (
        {_Q: _QUEUE_FIXED, "CHANGELOG.md": "# Changelog\n\n## Unreleased\n\n- Keep every queued event.\n"},
        "Keep every queued event\n\nCloses #1141",
    ),
    "test-not-referencing": (
        {_Q: _QUEUE_FIXED, "tests/sync/test_errors.py": _TEST_ERRORS_NOT_REFERENCING},
        "Keep every queued event\n\nCloses #1141",
    ),
    "test-passes-without-fix": (
        {_Q: _QUEUE_FIXED, "tests/sync/test_queue_two.py": _TEST_PASSES_ANYWAY},
        "Keep every queued event\n\nCloses #1141",
    ),
    "test-fails-with-fix": (
        {_Q: _QUEUE_FIXED, "tests/sync/test_queue_one_row.py": _TEST_FAILS_WITH_FIX},
        "Keep every queued event\n\nCloses #1141",
    ),
    "missing-name": (
        {_Q: _QUEUE_MISSING_NAME, "tests/sync/test_queue_counts.py": _TEST_MISSING_NAME},
        "Count replaced queue rows\n\nCloses #1141",
    ),
    "logging-and-behaviour": (
        {_Q: _QUEUE_LOGGING_AND_FIX, "tests/sync/test_queue_rollback.py": _ROLLBACK_TEST.format(module="queue")},
        "Keep every queued event and log it\n\nCloses #1141",
    ),
    "logging-side-effect": (
        {_Q: _QUEUE_SIDE_EFFECT},
        "Log the replaced row\n\nCloses #1141",
    ),
    "rename": (
        {
            _Q: None,
            "src/specify_cli/sync/offline_queue.py": _QUEUE_FIXED,
            _A: _ADAPTERS.replace("specify_cli.sync.queue", "specify_cli.sync.offline_queue"),
            "src/specify_cli/status/transitions.py": _TRANSITIONS.replace(
                "specify_cli.sync.queue", "specify_cli.sync.offline_queue"
            ),
            "tests/sync/test_queue.py": _TEST_QUEUE.replace("specify_cli.sync.queue", "specify_cli.sync.offline_queue"),
            "tests/sync/test_offline_queue_rollback.py": _ROLLBACK_TEST.format(module="offline_queue"),
        },
        "Move the queue to offline_queue.py and keep every event\n\nCloses #1141",
    ),
    "syntax-error": (
        {_Q: _QUEUE_SYNTAX_ERROR, "tests/sync/test_queue_rollback.py": _ROLLBACK_TEST.format(module="queue")},
        "Keep every queued event\n\nCloses #1141",
    ),
    "docs-only": (
        {_Q: _QUEUE_DOCS, "CHANGELOG.md": "# Changelog\n\n## Unreleased\n\n- Document #1141.\n"},
        "Document the replacement behaviour\n\nCloses #1141",
    ),
    "focus-untouched": (
        {"src/specify_cli/sync/errors.py": _ERRORS_FIXED, "tests/sync/test_errors.py": _TEST_ERRORS_FORBIDDEN},
        "Classify FORBIDDEN_KEY details\n\nCloses #1141",
    ),  # #1182's own fix (no focus configured for #1182: the whole commit is judged and proven).
    "fix-1182": (
        {"src/specify_cli/sync/errors.py": _ERRORS_FIXED, "tests/sync/test_errors.py": _TEST_ERRORS_FORBIDDEN},
        "Classify sync errors that carry a detail\n\nCloses #1182",
    ),
}

# The fix plus a new log line in peek(), "proven" only by a caplog test of that line: the proof
# keeps logging-only functions as at the fix, so the test passes both ways.
CLI_VARIANTS["caplog-only-proof"] = (
    {
        _Q: _with_logger(_QUEUE_FIXED).replace(
            '        """Return the newest pending event."""\n',
            '        """Return the newest pending event."""\n'
            '        logger.debug("peek over %d rows", len(self._rows))\n',
        ),
        "tests/sync/test_queue_peek_log.py": """\
import logging

from specify_cli.sync.queue import OfflineQueue


def test_queue_event_then_peek_logs(caplog):
    queue = OfflineQueue()
    queue.queue_event({"aggregate_id": "WP01", "from": "a", "to": "b"})
    with caplog.at_level(logging.DEBUG, logger="specify_cli.sync.queue"):
        queue.peek()
    assert "peek over 1 rows" in caplog.text
""",
    },
    "Keep every queued event; log peeks\n\nCloses #1141",
)

# The fix AND a new log line in the same function, "proven" only by a caplog test of that line: the
# proof keeps the fix's added logging inside the reverted function, so the test passes both ways.
CLI_VARIANTS["caplog-in-behaviour"] = (
    {
        _Q: _with_logger(_QUEUE).replace(
            _BUGGY_BRANCH,
            '        key = event["aggregate_id"]\n'
            '        logger.info("queue_event: keeping every event for %s", key)\n'
            "        self._rows.append(event)\n"
            "        return True\n",
        ),
        "tests/sync/test_queue_breadcrumb.py": """\
import logging

from specify_cli.sync.queue import OfflineQueue


def test_queue_event_logs_breadcrumb(caplog):
    caplog.set_level(logging.INFO)
    OfflineQueue().queue_event({"aggregate_id": "a"})
    assert "queue_event: keeping every event for a" in caplog.text
""",
    },
    "Keep every queued event; breadcrumb\n\nCloses #1141",
)

# A squash closing two blockers: queue_event (#1141's focus symbol) only gains a log line, while
# peek (a non-focus symbol in the focus file sync/queue.py) changes behaviour for #1142, with a test.
CLI_VARIANTS["squash-other-symbol"] = (
    {
        _Q: _QUEUE.replace(
            '"""The offline queue: sync events waiting for the SaaS."""\n\nfrom __future__ import annotations\n',
            '"""The offline queue: sync events waiting for the SaaS."""\n\nfrom __future__ import annotations\n\n'
            "import logging\n\nlog = logging.getLogger(__name__)\n",
        )
        .replace(
            '        key = event["aggregate_id"]\n',
            '        log.info("queue_event: queueing %s", event.get("aggregate_id"))\n'
            '        key = event["aggregate_id"]\n',
        )
        .replace("return self._rows[-1] if self._rows else None", "return self._rows[0] if self._rows else None"),
        "tests/test_peek_1142.py": """\
from specify_cli.sync.queue import OfflineQueue


def test_peek_returns_oldest_pending_row():
    q = OfflineQueue()
    q.queue_event({"aggregate_id": "a", "v": "1"})
    q.queue_event({"aggregate_id": "b", "v": "2"})
    assert q.peek()["aggregate_id"] == "a"
""",
    },
    "Peek returns the oldest row; breadcrumb in queue_event (#1143)\n\nCloses #1142, #1141",
)

CLI_VARIANTS["missing-name-outside-focus"] = (
    {_Q: _QUEUE_MISSING_NAME_OUTSIDE_FOCUS, "tests/sync/test_queue_counts.py": _TEST_MISSING_NAME},
    "Count replaced queue rows\n\nCloses #1141",
)

# Issue 20, case 9a: a squash where queue_event (#1141's focus symbol) changes behaviour with no test of its
# own, while peek (not in the focus, same file) changes with a test: only queue_event is reverted without the
# fix, so peek's test passes both ways and cannot "prove" #1141.
CLI_VARIANTS["squash-focus-untested"] = (
    {
        _Q: _QUEUE_FIXED.replace(
            "return self._rows[-1] if self._rows else None", "return self._rows[0] if self._rows else None"
        ),
        "tests/sync/test_peek_oldest.py": """\
from specify_cli.sync.queue import OfflineQueue


def test_peek_returns_the_oldest_pending_row():
    q = OfflineQueue()
    q.queue_event({"aggregate_id": "a", "v": "1"})
    q.queue_event({"aggregate_id": "b", "v": "2"})
    assert q.peek()["aggregate_id"] == "a"
""",
    },
    "Keep every queued event; peek returns the oldest row\n\nCloses #1142, #1141",
)

# Issue 20, case 9b: the fix's new log line reads a name only the fix binds, so it cannot be kept in the
# tree without the fix, and the only test asserts that log line: a failure that reads only caplog never proves.
CLI_VARIANTS["caplog-new-name"] = (
    {
        _Q: _with_logger(_QUEUE).replace(
            _BUGGY_BRANCH,
            "        self._rows.append(event)\n"
            "        position = len(self._rows)\n"
            '        logger.info("queued %s at position %d", event["aggregate_id"], position)\n'
            "        return True\n",
        ),
        "tests/sync/test_queue_position_log.py": """\
import logging

from specify_cli.sync.queue import OfflineQueue


def test_queue_event_logs_its_position(caplog):
    caplog.set_level(logging.INFO)
    queue = OfflineQueue()
    queue.queue_event({"aggregate_id": "a"})
    queue.queue_event({"aggregate_id": "a"})
    assert len(queue.pending()) >= 1
    messages = [r.getMessage() for r in caplog.records]
    assert "queued a at position 2" in messages
""",
    },
    "Keep every queued event; log its position\n\nCloses #1141",
)

# Issue 20, case 9c: `--version` reads the installed distribution's metadata; the test compares it with
# importlib.metadata, which only sees the project when the proof installs it from each tree (as CI does).
CLI_VARIANTS["version-from-metadata"] = (
    {
        "src/specify_cli/__init__.py": (
            '"""spec-kitty."""\n\nfrom importlib.metadata import version\n\n__version__ = version("spec-kitty-cli")\n'
        ),
        "pyproject.toml": _pyproject("spec-kitty-cli", "specify_cli").replace(
            'version = "3.2.0rc15"', 'version = "3.2.0rc16"'
        ),
        "tests/test_version.py": """\
from importlib.metadata import version

import specify_cli


def test_version_is_the_installed_distribution_s():
    assert specify_cli.__version__ == version("spec-kitty-cli")
""",
    },
    "Report the installed version, not a hard-coded one\n\nCloses #1190",
)

# Demo scenario -> which variant closes which blocker (issue 16's world links them in the GitHub seed).
SCENARIO_FIXES: Final[dict[str, dict[int, str]]] = {
    "green": {1141: "substantive", 1182: "fix-1182"},
    "logging-only-fix": {1141: "logging-only", 1182: "fix-1182"},
    "two-blocker-squash": {1141: "two-blocker-squash", 1182: "fix-1182"},
    "test-not-proving": {1141: "test-passes-without-fix", 1182: "fix-1182"},
    "missing-name-proof": {1141: "substantive", 1182: "missing-name"},
}


def scenario_fixes(repo: CliRepo, scenario: str) -> dict[int, str]:
    """Return blocker number -> fix sha for a demo *scenario* (``green`` for every other scenario)."""
    return {n: repo.commits[name] for n, name in SCENARIO_FIXES.get(scenario, SCENARIO_FIXES["green"]).items()}


def build_cli_repo(path: Path) -> CliRepo:
    """Create the spec-kitty-shaped repository at *path* with one commit per audit variant.

    ``commits`` has ``base`` and every name of :data:`CLI_VARIANTS`; ``HEAD``
    is left on ``main`` at ``base``.

    Raises:
        GitError: git failed.
        ProcessError: the fixture's ``uv.lock`` could not be resolved.
    """
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    files: dict[str, str | None] = dict(_BASE_FILES)
    files["pyproject.toml"] = _pyproject("spec-kitty-cli", "specify_cli")
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text or "", encoding="utf-8")
    files["uv.lock"] = _lock(path)
    base = commit_files(path, files, "spec-kitty 3.2.0rc15 baseline", date=_BASE_DATE, parent=None)
    commits = {"base": base}
    for n, (name, (changes, message)) in enumerate(CLI_VARIANTS.items()):
        date = f"2026-05-18T{9 + n // 6:02d}:{(n % 6) * 10:02d}:00+00:00"
        commits[name] = commit_files(path, changes, message, date=date, parent=base)
        git(path, "branch", "--force", f"fix/{name}", commits[name])
    git(path, "checkout", "--quiet", "--force", "main")
    return CliRepo(path=path, commits=commits)


_RUNNER: Final = '''\
"""The canary harness's command builder."""

from __future__ import annotations


def build_sync_command(mission: str) -> list[str]:
    """Return the `spec-kitty sync now` command the harness runs for *mission*."""
    return ["spec-kitty", "sync", "now"]
'''

_RUNNER_TEST: Final = """\
from e2e_harness.runner import build_sync_command


def test_sync_now_names_the_mission():
    command = build_sync_command("phase4-canary")
    assert command[-2:] == ["--mission", "phase4-canary"]
"""


def build_e2e_fix_repo(path: Path) -> CliRepo:
    """Create the sibling e2e repository whose harness fix closed #1141 the second time.

    ``commits`` has ``base`` and ``harness-fix`` (the harness called ``sync now``
    without its required ``--mission``).

    Raises:
        GitError: git failed.
        ProcessError: the fixture's ``uv.lock`` could not be resolved.
    """
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    files: dict[str, str | None] = {
        "README.md": "# spec-kitty end-to-end testing (audit fixture)\n",
        "pyproject.toml": _pyproject("spec-kitty-e2e-harness", "e2e_harness"),
        "src/e2e_harness/__init__.py": "",
        "src/e2e_harness/runner.py": _RUNNER,
    }
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text or "", encoding="utf-8")
    files["uv.lock"] = _lock(path)
    base = commit_files(path, files, "harness baseline", date=_BASE_DATE, parent=None)
    fixed = _RUNNER.replace(
        'return ["spec-kitty", "sync", "now"]', 'return ["spec-kitty", "sync", "now", "--mission", mission]'
    )
    fix = commit_files(
        path,
        {"src/e2e_harness/runner.py": fixed, "tests/test_runner_command.py": _RUNNER_TEST},
        "Pass --mission to sync now\n\nCloses Priivacy-ai/spec-kitty#1141",
        date="2026-05-21T09:00:00+00:00",
        parent=base,
    )
    git(path, "branch", "--force", "fix/harness", fix)
    git(path, "checkout", "--quiet", "--force", "main")
    return CliRepo(path=path, commits={"base": base, "harness-fix": fix})
