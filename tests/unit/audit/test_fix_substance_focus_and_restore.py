"""Reviewer findings H4/H5: the proof keeps the fix's log lines; focus symbols narrow a focus file."""

from __future__ import annotations

import textwrap

from phase4gate.checks.fix_substance import (
    FileChange,
    FileKind,
    Focus,
    Verdict,
    audit_fix_substance,
    without_fix_source,
)

Q = "src/specify_cli/sync/queue.py"
FOCUS = Focus(files=(Q,), symbols=("OfflineQueue.queue_event",))

BEFORE = textwrap.dedent(
    '''\
    """Queue."""

    import logging

    logger = logging.getLogger(__name__)


    class OfflineQueue:
        def __init__(self):
            self._rows = []

        def queue_event(self, event):
            key = event["id"]
            for i, row in enumerate(self._rows):
                if row["id"] == key:
                    self._rows[i] = event
                    return True
            self._rows.append(event)
            return True

        def peek(self):
            return self._rows[-1] if self._rows else None
    '''
)

DEDUP = """\
        for i, row in enumerate(self._rows):
            if row["id"] == key:
                self._rows[i] = event
                return True
"""


def test_reverted_function_keeps_the_fix_s_added_log_line() -> None:
    """H4: the without-fix tree has the parent's behaviour AND the fix's new log line, where it stood."""
    after = BEFORE.replace(DEDUP, '        logger.info("keeping every event for %s", key)\n')
    out = without_fix_source(FileChange(Q, BEFORE, after))
    assert out == BEFORE.replace(
        '        key = event["id"]\n',
        '        key = event["id"]\n        logger.info("keeping every event for %s", key)\n',
    )


def test_log_line_after_the_behaviour_stays_after_it() -> None:
    """A log line that follows the changed code is kept after the parent's code."""
    after = BEFORE.replace(DEDUP, "").replace(
        "        self._rows.append(event)\n",
        '        self._rows.append(event)\n        logger.debug("queued %d", len(self._rows))\n',
    )
    out = without_fix_source(FileChange(Q, BEFORE, after))
    assert out == BEFORE.replace(
        "        self._rows.append(event)\n",
        '        self._rows.append(event)\n        logger.debug("queued %d", len(self._rows))\n',
    )


def test_log_line_reading_a_name_only_the_fix_binds_is_not_kept() -> None:
    """A kept log line must never fail on its own: one reading the fix's new local falls back to the parent."""
    after = BEFORE.replace(
        DEDUP,
        '        seen = len(self._rows)\n        logger.info("after %d rows", seen)\n',
    )
    out = without_fix_source(FileChange(Q, BEFORE, after))
    assert out == _parent_function_only(after)
    assert "after %d rows" not in (out or "")


def _parent_function_only(after: str) -> str:
    start = after.index("    def queue_event")
    end = after.index("    def peek")
    b0, b1 = BEFORE.index("    def queue_event"), BEFORE.index("    def peek")
    return after[:start] + BEFORE[b0:b1] + after[end:]


def test_log_line_reading_a_name_the_parent_binds_later_is_not_kept() -> None:
    """Where the parent binds the name only after the kept line's place, the line is dropped (plain parent)."""
    before = BEFORE.replace('        key = event["id"]\n', "").replace(
        '            if row["id"] == key:\n', '            key = event["id"]\n            if row["id"] == key:\n'
    )
    after = before.replace(
        '            key = event["id"]\n            if row["id"] == key:\n                self._rows[i] = event\n'
        "                return True\n",
        "            pass\n",
    ).replace("        for i, row", '        key = event["id"]\n        logger.info("%s", key)\n        for i, row')
    out = without_fix_source(FileChange(Q, before, after))
    assert out is not None
    assert 'logger.info("%s", key)' not in out
    assert out == before  # queue_event is the only change: the plain parent function is the parent file


def test_focus_symbols_narrow_a_focus_file() -> None:
    """H5: another symbol's behaviour in a focus file is outside the focus when focus symbols are set."""
    after = BEFORE.replace(
        '        key = event["id"]\n',
        '        logger.info("queueing %s", event.get("id"))\n        key = event["id"]\n',
    ).replace("return self._rows[-1] if", "return self._rows[0] if")
    test = FileChange(
        "tests/test_peek.py", None, "from q import OfflineQueue\n\ndef test_peek():\n    OfflineQueue().peek()\n"
    )
    c = audit_fix_substance([FileChange(Q, BEFORE, after), test], message="Closes #1142, #1141", focus=FOCUS)
    assert c.verdict is Verdict.LOGGING_ONLY
    assert c.outside_focus == (f"{Q}:OfflineQueue.peek",)
    assert {s.qualname: s.in_focus for s in c.changed_symbols} == {
        "OfflineQueue.queue_event": True,
        "OfflineQueue.peek": False,
    }
    # Files alone: the whole file is the focus, as before.
    whole = audit_fix_substance(
        [FileChange(Q, BEFORE, after), test], message="Closes #1142, #1141", focus=Focus(files=(Q,))
    )
    assert whole.verdict is Verdict.SUBSTANTIVE
    assert whole.outside_focus == ()


def test_focus_file_other_symbol_docs_only_and_untouched() -> None:
    """The focus symbol changed only in docs -> docs-only; not at all -> focus-untouched; both list the other."""
    other = BEFORE.replace("return self._rows[-1] if", "return self._rows[0] if")
    docs = other.replace('        key = event["id"]\n', '        # the key\n        key = event["id"]\n')
    c = audit_fix_substance([FileChange(Q, BEFORE, docs)], focus=FOCUS)
    assert c.verdict is Verdict.DOCS_ONLY
    assert c.outside_focus == (f"{Q}:OfflineQueue.peek",)
    untouched = audit_fix_substance([FileChange(Q, BEFORE, other)], focus=FOCUS)
    assert untouched.verdict is Verdict.FOCUS_UNTOUCHED
    assert not untouched.files[0].in_focus
    assert untouched.files[0].kind is FileKind.BEHAVIOURAL


def test_module_level_change_in_a_focus_file_counts() -> None:
    """Module-level (non-function) code of a focus file is in the focus even with focus symbols."""
    after = BEFORE.replace(
        "logger = logging.getLogger(__name__)\n", "logger = logging.getLogger(__name__)\nLIMIT = 3\n"
    )
    c = audit_fix_substance([FileChange(Q, BEFORE, after)], focus=FOCUS)
    assert c.verdict is Verdict.NO_TEST
    assert {s.qualname: s.in_focus for s in c.changed_symbols} == {"<module>": True}
