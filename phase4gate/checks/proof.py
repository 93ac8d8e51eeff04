"""The fix audit's proof, the pure part: what a JUnit report says about each test id, and how a project is tested.

Text and decoded TOML in, decisions out; :mod:`phase4gate.adapters.proof_env`
reads the files, builds the environments and runs pytest.

* :func:`outcomes_from_junit` folds the cases of a pytest JUnit report (read by
  the one JUnit parser, :func:`~phase4gate.checks.junit_report.parse_junit_report`)
  into each asked node id's outcome, failure class and failure message;
* :func:`without_deselecting` drops the ``addopts`` that would deselect or skip
  the ids we ask for;
* :func:`uv_test_selector` and :func:`lock_install_mode` read ``pyproject.toml``
  and ``uv.lock`` data: which extra or group holds the test dependencies, and
  how the project's CI installs the project itself.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Final

from phase4gate.checks.fix_substance import TestOutcome
from phase4gate.checks.junit_report import parse_junit_report
from phase4gate.models import ScenarioStatus

__all__ = [
    "DESELECTING_OPTIONS",
    "TEST_EXTRAS",
    "IdOutcome",
    "failure_class",
    "lock_install_mode",
    "normalise_name",
    "outcomes_from_junit",
    "uv_test_selector",
    "without_deselecting",
]

# addopts that deselect or skip tests; dropped so the ids we ask for really run.
DESELECTING_OPTIONS: Final = frozenset({"-m", "-k", "--deselect", "--ignore", "--ignore-glob", "--lf", "--ff", "--sw"})
_TAKES_VALUE: Final = frozenset({"-m", "-k", "--deselect", "--ignore", "--ignore-glob"})
# The extra or dependency group that holds a project's test dependencies, first found wins.
TEST_EXTRAS: Final = ("test", "tests", "testing")

_EXC_RE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Warning|Failed|Failure))\b")
_E_LINE_RE = re.compile(r"^E\s+((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Failed)\b.*)$", re.MULTILINE)

# One node id's result: (outcome, failure class, failure message).
IdOutcome = tuple[TestOutcome, str | None, str | None]

# Parametrised cases fold into their id: the worst outcome wins.
_RANK: Final = {
    TestOutcome.PASSED: 0,
    TestOutcome.SKIPPED: 1,
    TestOutcome.MISSING: 2,
    TestOutcome.ERROR: 3,
    TestOutcome.FAILED: 4,
}
_KINDS: Final = {
    ScenarioStatus.PASS: TestOutcome.PASSED,
    ScenarioStatus.FAIL: TestOutcome.FAILED,
    ScenarioStatus.ERROR: TestOutcome.ERROR,
    ScenarioStatus.SKIPPED: TestOutcome.SKIPPED,
}


def failure_class(message: str, text: str) -> str | None:
    """Return the exception class a failure names: from its message, else its last ``E`` line, else its text."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    m = _EXC_RE.match(first)
    if m:
        return m.group(1)
    if first.startswith("assert") or "AssertionError" in first:
        return "AssertionError"
    lines = _E_LINE_RE.findall(text)
    if lines:
        m = _EXC_RE.match(lines[-1])
        if m:
            return m.group(1)
    if text.rstrip().endswith("AssertionError"):
        return "AssertionError"
    return first.split(":", 1)[0] or None


def _expected_case(node_id: str) -> tuple[str, str]:
    """Return the ``(classname, name)`` pytest's JUnit report gives *node_id*."""
    path, _, rest = node_id.partition("::")
    parts = rest.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[:-1]]), parts[-1]


def outcomes_from_junit(xml_text: str, ids: Sequence[str], *, source: str = "JUnit XML report") -> dict[str, IdOutcome]:
    """Map each node id to ``(outcome, failure class, failure message)`` from a pytest JUnit report.

    The report is read by the one JUnit parser (:func:`~phase4gate.checks.junit_report.parse_junit_report`).
    Parametrised cases fold into their id (the worst outcome wins); ids absent
    from the report are ``missing`` unless their module failed to collect
    (then ``error`` with the collection error's class).

    Raises:
        InputError: the report is empty, truncated or not JUnit XML, naming *source* and the position.
    """
    cases: list[tuple[str, str, TestOutcome, str | None, str | None]] = []
    collection: dict[str, tuple[str | None, str]] = {}
    for case in parse_junit_report(xml_text, source=source):
        classname, name = case.classname, case.name
        outcome, cls, msg = _KINDS[case.status], None, None
        if outcome is TestOutcome.SKIPPED:
            msg = case.message
        elif outcome is not TestOutcome.PASSED:
            message, text = case.message, case.text
            cls = failure_class(message, text)
            e_lines = _E_LINE_RE.findall(text)
            msg = e_lines[-1] if e_lines and not message.strip() else (message or (e_lines[-1] if e_lines else ""))
            if msg and msg.startswith("assert"):
                msg = f"AssertionError: {msg}"
        if not classname and outcome is TestOutcome.ERROR:
            e_lines = _E_LINE_RE.findall(case.text)
            collection[name] = (cls, f"collection error: {e_lines[-1] if e_lines else msg}")
            continue
        cases.append((classname, name.split("[", 1)[0], outcome, cls, msg))
    out: dict[str, IdOutcome] = {}
    for node_id in ids:
        classname, name = _expected_case(node_id)
        mine = [c for c in cases if c[0] == classname and c[1] == name]
        if mine:
            worst = max(mine, key=lambda c: _RANK[c[2]])
            out[node_id] = (worst[2], worst[3], worst[4])
            continue
        module = node_id.partition("::")[0].removesuffix(".py").replace("/", ".")
        if module in collection:
            cls, msg = collection[module]
            out[node_id] = (TestOutcome.ERROR, cls, msg)
        else:
            out[node_id] = (TestOutcome.MISSING, None, None)
    return out


def without_deselecting(opts: Sequence[str]) -> str | None:
    """Return *opts* (a project's ``addopts``) without deselecting options, or ``None`` when nothing deselects."""
    kept: list[str] = []
    skip = False
    changed = False
    for opt in opts:
        if skip:
            skip = False
            continue
        name = opt.split("=", 1)[0]
        if name in DESELECTING_OPTIONS or (opt[:2] in {"-m", "-k"} and len(opt) > 2):
            changed = True
            skip = name in _TAKES_VALUE and "=" not in opt and len(opt) == len(name)
            continue
        kept.append(opt)
    return shlex.join(kept) if changed else None


def uv_test_selector(pyproject: Mapping[str, object]) -> tuple[str, ...]:
    """Return uv's ``--extra NAME`` or ``--group NAME`` for the project's test dependencies, or ``()``."""
    project = pyproject.get("project")
    extras = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    groups = pyproject.get("dependency-groups", {})
    for name in TEST_EXTRAS:
        if isinstance(extras, dict) and name in extras:
            return ("--extra", name)
        if isinstance(groups, dict) and name in groups:
            return ("--group", name)
    return ()


def normalise_name(name: str) -> str:
    """Return a distribution name normalised as PEP 503 does (``My_Pkg`` and ``my-pkg`` are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_install_mode(lock: Mapping[str, object], name: str) -> str | None:
    """Return how ``uv.lock`` data installs project *name*: ``"editable"``, ``"wheel"``, or ``None`` (not installed).

    ``source = {editable = "."}`` is editable, ``{directory = "."}`` a plain
    install, ``{virtual = "."}`` (or no entry) not installed.
    """
    packages = lock.get("package", [])
    for pkg in packages if isinstance(packages, list) else []:
        if not isinstance(pkg, dict) or normalise_name(str(pkg.get("name", ""))) != normalise_name(name):
            continue
        source = pkg.get("source", {})
        if isinstance(source, dict) and "editable" in source:
            return "editable"
        if isinstance(source, dict) and "directory" in source:
            return "wheel"
        return None
    return None
