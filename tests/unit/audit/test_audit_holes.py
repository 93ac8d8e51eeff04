"""Issue 20, case 9 (pure parts): the focus-only revert and the log-only failure judgement."""

from __future__ import annotations

import textwrap

import pytest

from phase4gate.checks.fix_substance import (
    FileChange,
    Focus,
    InseparableChangeError,
    TestJudgement,
    TestOutcome,
    TestProof,
    Verdict,
    audit_fix_substance,
    judge_proof,
    reads_only_logs,
    without_fix_source,
)

Q = "src/q.py"
BEFORE = textwrap.dedent(
    """\
    class OfflineQueue:
        def __init__(self):
            self.rows = []

        def queue_event(self, event):
            for i, row in enumerate(self.rows):
                if row["id"] == event["id"]:
                    self.rows[i] = event
                    return
            self.rows.append(event)

        def peek(self):
            return self.rows[-1] if self.rows else None
    """
)
AFTER = BEFORE.replace(
    '        for i, row in enumerate(self.rows):\n            if row["id"] == event["id"]:\n'
    "                self.rows[i] = event\n                return\n",
    "",
).replace("self.rows[-1] if", "self.rows[0] if")
PEEK_TEST = (
    "from q import OfflineQueue\n\ndef test_peek():\n    q = OfflineQueue()\n    q.queue_event({})\n    q.peek()\n"
)


def test_classification_reverts_only_the_focus_symbols() -> None:
    """9a: peek changed too, but only queue_event is the focus's change to revert and to reference."""
    c = audit_fix_substance(
        [FileChange(Q, BEFORE, AFTER), FileChange("tests/test_peek.py", None, PEEK_TEST)],
        focus=Focus(files=(Q,), symbols=("OfflineQueue.queue_event",)),
    )
    assert c.verdict is Verdict.SUBSTANTIVE
    assert c.restore_symbols == (f"{Q}:OfflineQueue.queue_event",)
    assert c.outside_focus == (f"{Q}:OfflineQueue.peek",)
    assert c.referencing_tests == ("tests/test_peek.py: queue_event",)


def test_without_fix_source_reverts_only_the_given_symbols() -> None:
    """Only queue_event goes back to the parent; peek stays as at the fix."""
    out = without_fix_source(FileChange(Q, BEFORE, AFTER), symbols=["OfflineQueue.queue_event"])
    assert out == BEFORE.replace("self.rows[-1] if", "self.rows[0] if")
    assert without_fix_source(FileChange(Q, BEFORE, AFTER)) == BEFORE


def test_without_fix_source_keeps_other_functions_when_the_focus_change_is_module_level() -> None:
    """A module-level focus change: the parent file with the other changed functions as at the fix."""
    before = "LIMIT = 1\n\n\ndef peek(rows):\n    return rows[-1]\n"
    after = "LIMIT = 2\n\n\ndef peek(rows):\n    return rows[0]\n"
    expected = "LIMIT = 1\n\n\ndef peek(rows):\n    return rows[0]\n"
    assert without_fix_source(FileChange(Q, before, after), symbols=["<module>"]) == expected


def test_without_fix_source_refuses_changes_it_cannot_separate() -> None:
    """Module-level focus change and an added non-focus function: no exact revert exists; say so."""
    before = "LIMIT = 1\n"
    after = "LIMIT = 2\n\n\ndef peek(rows):\n    return rows[0]\n"
    with pytest.raises(InseparableChangeError, match=r"src/q\.py: .*<module>.*peek"):
        without_fix_source(FileChange(Q, before, after), symbols=["<module>"])


def test_without_fix_source_with_no_focus_symbol_in_the_file_keeps_it() -> None:
    """A file with none of the given symbols changed is left as at the fix."""
    assert without_fix_source(FileChange(Q, BEFORE, AFTER), symbols=[]) == AFTER


TEST_SOURCE = textwrap.dedent(
    """\
    import logging


    def test_logs(caplog):
        caplog.set_level(logging.INFO)
        queue = make()
        queue.run()
        assert "queued" in caplog.text
        records = caplog.records
        messages = [r.getMessage() for r in records]
        assert "queued" in messages
        assert any("queued" in r.message for r in caplog.records)
        assert caplog.records[0].levelno == logging.INFO
        assert queue.pending() == []
        assert "queued" in caplog.text and queue.pending()
        for record in caplog.records:
            assert record.levelname == "INFO"
        value = queue.pending()
        assert value == caplog.messages
        first = caplog.records[0]


    class T:
        def test_unittest(self):
            with self.assertLogs("q", level="INFO"):
                run()
    """
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (8, True),  # assert "queued" in caplog.text
        (11, True),  # messages derived from caplog.records
        (12, True),  # comprehension over caplog.records
        (13, True),  # logging.INFO is neutral
        (14, False),  # behaviour
        (15, False),  # logs and behaviour
        (17, True),  # loop variable over caplog.records
        (19, False),  # compares behaviour with logs
        (20, True),  # IndexError on caplog.records[0]
        (25, True),  # unittest assertLogs
        (26, False),  # inside the with body: a call of the code
        (7, False),  # queue.run() raising: behaviour
    ],
)
def test_reads_only_logs(line: int, expected: bool) -> None:
    """9b: which failing statements read only captured logs."""
    assert reads_only_logs(TEST_SOURCE, line) is expected


def test_reads_only_logs_outside_a_function_or_unparseable() -> None:
    """A line outside any function, or a file that does not parse, is never log-only."""
    assert not reads_only_logs(TEST_SOURCE, 1)
    assert not reads_only_logs("def broken(:\n", 1)


def test_a_name_rebound_from_behaviour_is_not_log_only() -> None:
    """A variable bound from logs once and from behaviour elsewhere is not only logs."""
    src = "def test_x(caplog, q):\n    text = caplog.text\n    text = q.render()\n    assert 'x' in text\n"
    assert not reads_only_logs(src, 4)


def _proof(locations: tuple[tuple[str, int], ...]) -> TestProof:
    return TestProof(
        "tests/test_q.py::test_logs",
        TestOutcome.PASSED,
        TestOutcome.FAILED,
        "AssertionError",
        "AssertionError: assert 'queued' in ''",
        failure_locations=locations,
    )


def test_judge_proof_log_only_never_proves() -> None:
    """9b: a failure only where captured logs are read is its own verdict, never substantive."""
    judged = judge_proof([_proof((("tests/test_q.py", 8),))], frozenset(), {"tests/test_q.py": TEST_SOURCE})
    assert judged.verdict is Verdict.PROOF_ONLY_LOGS
    assert [j for _, j in judged.judgements] == [TestJudgement.LOG_ONLY]
    assert "tests/test_q.py::test_logs (tests/test_q.py:8)" in judged.reason


def test_judge_proof_behaviour_failure_still_proves() -> None:
    """A failure on a behavioural assertion, or in the code under test, proves as before."""
    src = {"tests/test_q.py": TEST_SOURCE, "src/q.py": "def f():\n    raise ValueError\n"}
    assert judge_proof([_proof((("tests/test_q.py", 14),))], frozenset(), src).verdict is Verdict.SUBSTANTIVE
    assert judge_proof([_proof((("src/q.py", 2),))], frozenset(), src).verdict is Verdict.SUBSTANTIVE
    # No location (or no source for it): judged on behaviour, as before.
    assert judge_proof([_proof(())], frozenset(), src).verdict is Verdict.SUBSTANTIVE
    assert judge_proof([_proof((("tests/test_q.py", 8),))], frozenset()).verdict is Verdict.SUBSTANTIVE
    # One parametrised case failing on behaviour is enough.
    both = _proof((("tests/test_q.py", 8), ("tests/test_q.py", 14)))
    assert judge_proof([both], frozenset(), src).verdict is Verdict.SUBSTANTIVE


def test_a_null_byte_is_reported_with_its_line() -> None:
    """ast refuses a NUL without a position; the report still names the file and the line."""
    from phase4gate.checks.fix_substance import FileChange, FileKind, classify_file

    report = classify_file(FileChange("src/m.py", "x = 1\n", "x = 1\ny = 2\n\0\n"))
    assert report.kind is FileKind.UNPARSEABLE
    assert report.error is not None
    assert report.error.startswith("src/m.py: does not parse after the fix line 3:")
