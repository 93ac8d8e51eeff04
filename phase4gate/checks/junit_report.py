"""Read a JUnit XML report into its test cases: the one parser the canary, WP07 and the audit's proof share.

Pure: text in, cases out.  pytest writes the report (``--junitxml``); a report
that is empty, truncated, not XML or has the wrong root is an
:class:`~phase4gate.errors.InputError` naming the file and the position
(``line L, column C``), never an ``ElementTree`` traceback.  (``phase4gate.junit``
is the other direction: it *writes* the gate's own verdict as JUnit for ``--junit``.)
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Final

from attrs import frozen

from phase4gate.errors import InputError
from phase4gate.models import ScenarioStatus

__all__ = ["JUnitCase", "parse_junit_report"]

_ROOTS: Final = frozenset({"testsuite", "testsuites"})
# The child element that marks a case's outcome, in the order pytest writes them.
_OUTCOME_TAGS: Final = (
    ("failure", ScenarioStatus.FAIL),
    ("error", ScenarioStatus.ERROR),
    ("skipped", ScenarioStatus.SKIPPED),
)


@frozen
class JUnitCase:
    """One ``<testcase>`` of a JUnit XML report."""

    classname: str
    name: str
    status: ScenarioStatus
    message: str = ""
    text: str = ""
    time: float = 0.0
    file: str = ""

    @property
    def test_id(self) -> str:
        """``classname::name`` plus the file, for matching scenario ids."""
        return f"{self.file} {self.classname}::{self.name}"


def _seconds(raw: str | None) -> float:
    """Return a case's ``time`` attribute as seconds; anything unreadable, negative or not finite is 0."""
    try:
        value = float(raw or 0)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value >= 0 else 0.0


def parse_junit_report(xml_text: str, *, source: str) -> tuple[JUnitCase, ...]:
    """Parse a JUnit XML report written by pytest into its test cases, in document order.

    *source* names the file in errors.

    Raises:
        InputError: the report is empty, not well-formed XML (truncated, say), or its
            root is not ``<testsuite>``/``<testsuites>``; the problem names the position.
    """
    if not xml_text.strip():
        raise InputError(
            source, ["line 1, column 0: not valid JUnit XML: the report is empty (pytest wrote no result)"]
        )
    try:
        # The report was written by a pytest this gate started; ElementTree resolves no external entities.
        root = ET.fromstring(xml_text)  # noqa: S314
    except ET.ParseError as exc:
        line, column = exc.position
        detail = str(exc).split(":", 1)[0]
        raise InputError(source, [f"line {line}, column {column}: not valid JUnit XML: {detail}"]) from None
    if root.tag not in _ROOTS:
        raise InputError(source, [f"line 1: root element is <{root.tag}>, expected <testsuite> or <testsuites>"])
    cases: list[JUnitCase] = []
    for case in root.iter("testcase"):
        status, message, text = ScenarioStatus.PASS, "", ""
        for tag, st in _OUTCOME_TAGS:
            node = case.find(tag)
            if node is not None:
                status, message, text = st, node.get("message", ""), node.text or ""
                break
        cases.append(
            JUnitCase(
                classname=case.get("classname", ""),
                name=case.get("name", ""),
                status=status,
                message=message,
                text=text,
                time=_seconds(case.get("time")),
                file=case.get("file", ""),
            )
        )
    return tuple(cases)
