"""Fuzz every parser of outside data: always a value or a clear error, never a crash.

Outside data: run files (both spellings), index pages, SaaS bodies, GitHub timelines,
JUnit XML, changed source files, and `spec-kitty --version` output.  A clear error
names the file (or URL) and the position in it: ``$.path`` for JSON, ``line L,
column C`` for XML.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from phase4gate.adapters.github import closers_from_timeline
from phase4gate.adapters.index import parse_html_page, parse_json_page
from phase4gate.checks.canary import parse_junit
from phase4gate.checks.fix_substance import FileChange, FileKind, classify_file
from phase4gate.checks.health import judge_preflight
from phase4gate.errors import InputError, PackageIndexError
from phase4gate.models import Closer, parse_cli_version, parse_run_file
from tests.strategies import harness_run_files

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
RUN_KEYS = [
    "outcome",
    "scenarios",
    "run_id",
    "run_number",
    "timestamp",
    "started_at",
    "cli_version",
    "status",
    "scenario_id",
    "id",
    "failure_reason",
    "failure_mode",
    "duration_seconds",
    "evidence_files",
]
keyed = st.dictionaries(st.sampled_from(RUN_KEYS), json_values, max_size=8)


@given(data=st.one_of(json_values, keyed, st.builds(lambda d: {**d, "scenarios": [d]}, keyed)))
def test_run_file_parser_never_crashes(data: Any) -> None:
    """Any JSON value is a run file or an InputError naming the file."""
    try:
        run = parse_run_file(data, source="runs/run-1.json", file_run_number=1)
    except InputError as exc:
        assert exc.problems
        # Every problem line names the file and a JSON path into it.
        assert all(line.startswith("runs/run-1.json: $") for line in str(exc).splitlines())
        assert all(p.startswith("$") for p in exc.problems)
    else:
        assert run.passed == all(s.status.value == "pass" for s in run.scenarios)


@given(
    data=harness_run_files(),
    key=st.sampled_from(["outcome", "scenarios", "started_at", "cli_version"]),
    value=json_values,
)
def test_mutated_harness_file(data: dict[str, Any], key: str, value: Any) -> None:
    """A real-shaped file with one field replaced by anything: a model or a clear error."""
    data[key] = value
    try:
        parse_run_file(data, source="latest.json")
    except InputError as exc:
        assert exc.problems
        assert all(line.startswith("latest.json: $") for line in str(exc).splitlines())
        # The replaced field is the one named (or the invariant it broke, via $.outcome / $.scenarios).
        assert any(p.startswith((f"$.{key}", "$.outcome", "$.scenarios", "$:")) for p in exc.problems)


@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_index_pages_never_crash(body: bytes) -> None:
    """A PEP 691 page that is not one is a PackageIndexError; a PEP 503 page never raises."""
    url = "http://127.0.0.1:1/simple/spec-kitty-cli/"
    try:
        parse_json_page(body, url)
    except PackageIndexError as exc:
        assert url in str(exc)  # the page is named
        assert exc.url == url
    for dist in parse_html_page(body, url):
        assert dist.url.startswith("http://127.0.0.1:1/")


@given(
    health_status=st.sampled_from([200, 404, 500, 503]),
    health=st.one_of(json_values, st.binary(max_size=60)),
    ready_status=st.sampled_from([200, 503]),
    ready=st.one_of(json_values, st.binary(max_size=60)),
)
def test_saas_bodies_give_a_verdict(health_status: int, health: Any, ready_status: int, ready: Any) -> None:
    """Whatever the SaaS answers, WP03 gets a verdict with a reason, never an exception."""
    body_h = health if isinstance(health, bytes) else json.dumps(health)
    body_r = ready if isinstance(ready, bytes) else json.dumps(ready)
    verdict = judge_preflight(health_status, body_h, ready_status, body_r, preflight_at="2026-05-20T10:00:00Z")
    if not verdict.passed:
        assert verdict.reason


@given(
    timeline=st.lists(st.one_of(json_values, keyed), max_size=5),
    pulls=st.dictionaries(
        st.text(max_size=5), st.dictionaries(st.text(max_size=5), json_values, max_size=3), max_size=2
    ),
)
def test_github_timeline_never_crashes(timeline: list[Any], pulls: dict[str, Any]) -> None:
    """A timeline of any shape yields closers (never a TypeError), each found one of the three ways, once."""
    closers = closers_from_timeline("Priivacy-ai/spec-kitty", [t for t in timeline if isinstance(t, dict)], pulls)
    assert all(isinstance(c, Closer) for c in closers)
    assert {c.how for c in closers} <= {"closed-event", "cross-referenced-pr", "referenced-commit"}
    assert len(set(closers)) == len(closers)


@given(
    text=st.one_of(
        st.text(max_size=200),
        st.builds(
            lambda name, body: f'<testsuite><testcase classname="{name}" name="{name}">{body}</testcase></testsuite>',
            st.text(alphabet="abc_1", max_size=10),
            st.text(max_size=40),
        ),
    )
)
def test_junit_never_crashes(text: str) -> None:
    """JUnit XML of any shape is cases or an InputError naming the file and the line (and column) in it."""
    try:
        parse_junit(text, source="run-1.junit.xml")
    except InputError as exc:
        (problem,) = exc.problems
        assert re.match(r"line [0-9]+(, column [0-9]+)?: not valid JUnit XML|line 1: root element is <", problem)
        assert str(exc) == f"run-1.junit.xml: {problem}"


@given(before=st.text(max_size=120), after=st.text(max_size=120), name=st.sampled_from(["a.py", "README.md", "x.toml"]))
def test_classification_never_crashes(before: str, after: str, name: str) -> None:
    """Any pair of file sides is classified; unparseable Python says so (naming the file) instead of raising."""
    report = classify_file(FileChange(name, before, after))
    # Not Python: by the file's kind alone, whatever the text.  Python: never "test" or "not analysed".
    expected = {"README.md": {FileKind.DOCS_ONLY}, "x.toml": {FileKind.NOT_ANALYSED}}.get(
        name, {FileKind.BEHAVIOURAL, FileKind.LOGGING_ONLY, FileKind.DOCS_ONLY, FileKind.UNPARSEABLE}
    )
    assert report.kind in expected, (name, report.kind)
    assert report.path == name
    if report.kind is FileKind.UNPARSEABLE:
        assert report.error is not None
        assert report.error.startswith(f"{name}: does not parse")
        # A SyntaxError has a line; for ast's null-byte ValueError fix_substance finds the line itself.
        assert re.search(r" line [0-9]+", report.error), report.error


def _parses(text: str) -> bool:
    """Whether *text* compiles: parsing is not enough (``*0`` parses, and does not compile)."""
    try:
        compile(text, "a.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


@example(before="", after="*0")  # parses, does not compile: 'unparseable', as the audit says
@given(before=st.text(max_size=80), after=st.text(max_size=80))
def test_python_that_parses_is_never_called_unparseable(before: str, after: str) -> None:
    """A .py change whose two sides both compile is classified; one whose side does not is 'unparseable'."""
    report = classify_file(FileChange("a.py", before, after))
    assert (report.kind is FileKind.UNPARSEABLE) == (not (_parses(before) and _parses(after)))
    if before == after and report.kind is not FileKind.UNPARSEABLE:
        assert report.kind is FileKind.DOCS_ONLY, report  # the same code on both sides changes no behaviour


@given(text=st.text(max_size=300))
def test_version_output_never_crashes(text: str) -> None:
    """Any --version output yields a version or None."""
    version = parse_cli_version(text)
    assert version is None or version[0].isdigit()
