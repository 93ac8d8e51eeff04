"""One JUnit parser: the canary, WP07 and the audit's proof read reports the same way, bad ones clearly."""

from __future__ import annotations

import pytest

from phase4gate.adapters import proof
from phase4gate.checks.canary import parse_junit
from phase4gate.checks.fix_substance import TestOutcome
from phase4gate.checks.junit_report import JUnitCase, parse_junit_report
from phase4gate.errors import ExitCode, InputError
from phase4gate.models import ScenarioStatus

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="tests.test_q" name="test_ok" time="0.5"/>
<testcase classname="tests.test_q" name="test_bad" time="nan"><failure message="assert 1 == 2">E   assert 1 == 2</failure></testcase>
<testcase classname="tests.test_q" name="test_skip" time="-1"><skipped message="needs SaaS"/></testcase>
</testsuite></testsuites>
"""
TRUNCATED = REPORT[: REPORT.index("<failure") + 20]


def test_cases_in_document_order() -> None:
    """Each testcase with its status, message and a sane time (NaN and negative times read as 0)."""
    cases = parse_junit_report(REPORT, source="run-1.junit.xml")
    assert [(c.name, c.status, c.time) for c in cases] == [
        ("test_ok", ScenarioStatus.PASS, 0.5),
        ("test_bad", ScenarioStatus.FAIL, 0.0),
        ("test_skip", ScenarioStatus.SKIPPED, 0.0),
    ]
    assert cases[1].message == "assert 1 == 2"
    assert parse_junit(REPORT, source="x") == cases
    assert isinstance(cases[0], JUnitCase)


def test_truncated_report_names_file_and_position() -> None:
    """A report cut mid-element: an InputError (a stop, exit 1) naming the file, line and column."""
    with pytest.raises(InputError) as excinfo:
        parse_junit_report(TRUNCATED, source="wp07/1/teamspace-run-2.junit.xml")
    assert excinfo.value.exit_code is ExitCode.STOPPED
    (line,) = excinfo.value.problems
    assert line.startswith("line 4, column ")
    assert "not valid JUnit XML" in line
    assert str(excinfo.value).startswith("wp07/1/teamspace-run-2.junit.xml: line 4, column ")


def test_empty_report_names_file_and_position() -> None:
    """pytest killed before writing: an empty report is said to be empty, at line 1."""
    with pytest.raises(InputError, match=r"^j\.xml: line 1, column 0: not valid JUnit XML: the report is empty"):
        parse_junit_report("  \n", source="j.xml")


def test_proof_reads_a_truncated_report_as_a_clear_error() -> None:
    """The audit's proof runner uses the same parser: truncated JUnit XML is an InputError naming the file
    and position, not an ElementTree ParseError (which the CLI reports as an internal error, exit 70)."""
    with pytest.raises(InputError) as excinfo:
        proof.parse_junit(TRUNCATED, ["tests/test_q.py::test_bad"], source="audit/logs/without-fix.junit.xml")
    assert str(excinfo.value).startswith("audit/logs/without-fix.junit.xml: line 4, column ")


def test_proof_outcomes_come_from_the_shared_parser() -> None:
    """The proof maps the shared cases to its outcomes: failure class and message as before."""
    got = proof.parse_junit(
        REPORT, ["tests/test_q.py::test_ok", "tests/test_q.py::test_bad", "tests/test_q.py::test_skip"]
    )
    assert got["tests/test_q.py::test_ok"] == (TestOutcome.PASSED, None, None)
    assert got["tests/test_q.py::test_bad"] == (TestOutcome.FAILED, "AssertionError", "AssertionError: assert 1 == 2")
    assert got["tests/test_q.py::test_skip"] == (TestOutcome.SKIPPED, None, "needs SaaS")
