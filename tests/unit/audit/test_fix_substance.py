"""The pure fix-substance audit: classification, focus, test backing and proof judgement."""

from __future__ import annotations

import textwrap

import pytest

from phase4gate.checks.fix_substance import (
    AuditOptions,
    Classification,
    FileChange,
    FileKind,
    Focus,
    TestJudgement,
    TestOutcome,
    TestProof,
    Verdict,
    added_names,
    audit_fix_substance,
    changed_test_ids,
    classify_file,
    find_callers,
    judge_proof,
    missing_name,
    module_name,
    parse_closes,
    without_fix_source,
)

BASE = textwrap.dedent(
    '''\
    """Queue."""
    import logging

    logger = logging.getLogger(__name__)


    class OfflineQueue:
        """Rows."""

        def queue_event(self, event):
            """Queue it."""
            # replace silently
            self._rows[event["id"]] = event
            return True

        def peek(self):
            return None
    '''
)

Q = "src/specify_cli/sync/queue.py"


def change(after: str, before: str = BASE, path: str = Q) -> FileChange:
    return FileChange(path=path, before=before, after=after)


def kind(after: str, before: str = BASE, options: AuditOptions | None = None) -> FileKind:
    return classify_file(change(after, before), options or AuditOptions()).kind


def insert(after_line: str, new: str, text: str = BASE) -> str:
    assert after_line in text
    return text.replace(after_line, after_line + new, 1)


ROW = '        self._rows[event["id"]] = event\n'


@pytest.mark.parametrize(
    "line",
    [
        '        logger.info("queued %s", event["id"])\n',
        '        logger.warning("queued %s", event.get("id"), extra={"n": len(self._rows)})\n',
        '        logging.getLogger("x").debug("queued")\n',
        '        self._log.info("queued")\n',
        '        print("queued", event)\n',
        '        if logger.isEnabledFor(10):\n            logger.debug("queued %s", event)\n',
    ],
)
def test_observing_statements_are_logging_only(line: str) -> None:
    """A logging call, print or an isEnabledFor-guarded log whose arguments change nothing only observes."""
    assert kind(insert(ROW, line)) is FileKind.LOGGING_ONLY


@pytest.mark.parametrize(
    "line",
    [
        '        logger.info("dropped %s", self._rows.pop(event["id"]))\n',
        '        logger.info("n %s", (n := len(self._rows)))\n',
        '        logger.info("n %s", self.flush())\n',
        '        warnings.warn("queued")\n',
    ],
)
def test_observing_calls_with_side_effects_stay_behavioural(line: str) -> None:
    """A logging call whose arguments change state (pop, walrus, a method call) is not only observing."""
    report = classify_file(change(insert(ROW, line)))
    assert report.kind is FileKind.BEHAVIOURAL
    assert [s.qualname for s in report.symbols if s.behavioural] == ["OfflineQueue.queue_event"]


def test_warnings_count_as_logging_when_configured() -> None:
    """``warnings.warn`` only observes when ``warnings_are_logging`` is set."""
    text = insert(ROW, '        warnings.warn("queued")\n')
    assert kind(text, options=AuditOptions(warnings_are_logging=True)) is FileKind.LOGGING_ONLY


def test_configured_logging_names() -> None:
    """Only configured names are loggers."""
    text = insert(ROW, '        audit_log.info("queued")\n')
    assert kind(text) is FileKind.BEHAVIOURAL
    assert kind(text, options=AuditOptions(logging_names=("audit_log",))) is FileKind.LOGGING_ONLY


def test_new_logger_setup_counts_as_logging() -> None:
    """Module-level ``import logging`` and ``logger = logging.getLogger(...)`` added for logging are logging."""
    before = BASE.replace("import logging\n\nlogger = logging.getLogger(__name__)\n", "")
    assert kind(BASE, before=before) is FileKind.LOGGING_ONLY


def test_docstrings_and_comments_are_docs_only() -> None:
    """Docstring text and comments never change behaviour."""
    text = BASE.replace('"""Queue it."""', '"""Queue it; see #1141."""').replace("# replace silently", "# see #1141")
    report = classify_file(change(text))
    assert report.kind is FileKind.DOCS_ONLY
    assert [(s.qualname, s.behavioural) for s in report.symbols] == [("OfflineQueue.queue_event", False)]


def test_behavioural_change_names_the_qualified_symbol_with_lines() -> None:
    """A changed statement is reported on its method, qualified, with the after side's line range."""
    report = classify_file(change(BASE.replace('self._rows[event["id"]] = event', "self._rows.append(event)")))
    assert report.kind is FileKind.BEHAVIOURAL
    sym = next(s for s in report.symbols if s.behavioural)
    assert (sym.qualname, sym.change, sym.start, sym.end) == ("OfflineQueue.queue_event", "modified", 10, 14)
    assert str(sym) == f"{Q}:OfflineQueue.queue_event (10-14)"


def test_added_and_deleted_functions_are_behavioural() -> None:
    """Adding or deleting a function is behavioural; the change kind says which."""
    added = BASE + "\n\ndef flush(q):\n    return q\n"
    report = classify_file(change(added))
    assert [(s.qualname, s.change) for s in report.symbols if s.behavioural] == [("flush", "added")]
    removed = classify_file(change(BASE, before=added))
    assert [(s.qualname, s.change) for s in removed.symbols if s.behavioural] == [("flush", "deleted")]


def test_deleted_and_added_files() -> None:
    """A deleted module is behavioural; an added docstring-only module is docs."""
    assert classify_file(FileChange(Q, BASE, None)).kind is FileKind.BEHAVIOURAL
    assert classify_file(FileChange("src/pkg/__init__.py", None, '"""Package."""\n')).kind is FileKind.DOCS_ONLY


def test_default_argument_change_is_behavioural() -> None:
    """Defaults are evaluated by the enclosing scope: still a behavioural change."""
    assert kind(BASE.replace("def peek(self):", "def peek(self, n=2):")) is FileKind.BEHAVIOURAL


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("CHANGELOG.md", FileKind.DOCS_ONLY),
        ("docs/guide.rst", FileKind.DOCS_ONLY),
        ("kitty-specs/x/spec.yaml", FileKind.DOCS_ONLY),
        ("pyproject.toml", FileKind.NOT_ANALYSED),
        ("scripts/run.sh", FileKind.NOT_ANALYSED),
        ("tests/data/x.json", FileKind.TEST),
        ("tests/sync/test_q.py", FileKind.TEST),
    ],
)
def test_file_kinds_by_path(path: str, expected: FileKind) -> None:
    """Markdown/rst/changelog/specs are docs; other languages and config are not analysed (behavioural)."""
    assert classify_file(FileChange(path, "a\n", "b\n")).kind is expected


def test_unparseable_side_names_file_and_line() -> None:
    """A file that does not parse stops the audit with the file and line."""
    report = classify_file(change("def broken(:\n"))
    assert report.kind is FileKind.UNPARSEABLE
    assert report.error is not None
    assert report.error.startswith(f"{Q}: does not parse after the fix line 1")


def test_code_that_parses_but_does_not_compile_is_unparseable() -> None:
    """``return`` outside a function parses but does not compile: unreadable, never a pass."""
    report = classify_file(change("return 1\n"))
    assert report.kind is FileKind.UNPARSEABLE
    assert "does not compile" in (report.error or "")


def test_module_name() -> None:
    """Source paths map to dotted modules with ``src/`` and ``__init__`` dropped."""
    assert module_name("src/specify_cli/sync/queue.py") == "specify_cli.sync.queue"
    assert module_name("pkg/__init__.py") == "pkg"


def test_parse_closes() -> None:
    """Every issue a message closes, in order, once, including owner/repo#N."""
    message = "Fix things (Closes #1142, #1141)\n\nfixes owner/repo#7 and #7\nresolved: #9"
    assert parse_closes(message) == (1142, 1141, 7, 9)
    assert parse_closes("Refs #5") == ()


def test_find_callers_is_name_based_and_skips_tests() -> None:
    """Direct callers by name (plain and method calls), qualified; tests and unparseable files skipped."""
    sources = {
        "src/a.py": "def fire(q):\n    return emit(q)\n\nclass C:\n    def m(self, q):\n        q.queue_event(1)\n",
        "src/b.py": "def other():\n    return 1\n",
        "tests/test_a.py": "def test_x():\n    emit(1)\n",
        "src/broken.py": "def (:\n",
    }
    assert find_callers(sources, ("emit", "OfflineQueue.queue_event")) == ("src/a.py:C.m", "src/a.py:fire")


def test_changed_test_ids() -> None:
    """New and changed tests become node ids; a changed helper makes every test of the module count."""
    before = "def helper():\n    return 1\n\ndef test_a():\n    assert helper()\n\nclass TestQ:\n    def test_b(self):\n        pass\n"
    after = before.replace("pass", "assert True") + "\ndef test_c():\n    pass\n"
    assert changed_test_ids(FileChange("tests/t.py", before, after)) == (
        "tests/t.py::TestQ::test_b",
        "tests/t.py::test_c",
    )
    all_changed = before.replace("return 1", "return 2")
    assert changed_test_ids(FileChange("tests/t.py", before, all_changed)) == (
        "tests/t.py::test_a",
        "tests/t.py::TestQ::test_b",
    )
    assert changed_test_ids(FileChange("tests/t.py", before, None)) == ()
    assert changed_test_ids(FileChange("tests/t.py", None, "def (:\n")) == ()


FOCUS = Focus(files=(Q,), symbols=("OfflineQueue.queue_event",))
FIXED = BASE.replace('self._rows[event["id"]] = event', "self._rows.append(event)")
TEST_REF = FileChange(
    "tests/test_q.py", None, "from x import OfflineQueue\n\ndef test_q():\n    OfflineQueue().queue_event({})\n"
)


def test_audit_substantive_lists_tests_and_restore_paths() -> None:
    """A behavioural focus change with a referencing test needs the proof, restoring only the focus file."""
    other = FileChange("src/other.py", "x = 1\n", "x = 2\n")
    c = audit_fix_substance([change(FIXED), other, TEST_REF], message="Closes #1141", focus=FOCUS)
    assert c.verdict is Verdict.SUBSTANTIVE
    assert c.needs_proof
    assert c.test_ids == ("tests/test_q.py::test_q",)
    assert c.restore_paths == (Q,)
    assert c.outside_focus == ("src/other.py",)
    assert c.referencing_tests == ("tests/test_q.py: queue_event",)
    assert c.closes == (1141,)


def test_audit_focus_logging_only_even_when_commit_is_behavioural_elsewhere() -> None:
    """The two-blocker squash: logging-only in this blocker's focus, behavioural for another blocker."""
    logged = insert(ROW, '        logger.info("queued")\n')
    other = FileChange(
        "src/specify_cli/sync/errors.py", "def f(c):\n    return c == 1\n", "def f(c):\n    return c in {1}\n"
    )
    c = audit_fix_substance([change(logged), other, TEST_REF], message="Closes #1142, #1141", focus=FOCUS)
    assert c.verdict is Verdict.LOGGING_ONLY
    assert "outside the focus: src/specify_cli/sync/errors.py" in c.reason
    whole = audit_fix_substance([change(logged), other, TEST_REF], message="Closes #1142, #1141")
    assert whole.verdict is Verdict.TEST_NOT_REFERENCING
    assert whole.notes == ("the message closes #1142, #1141: this verdict covers the whole commit",)


CALLER = FileChange(
    "src/t.py", "def move(q):\n    return q.queue_event(1)\n", "def move(q):\n    return q.queue_event(2)\n"
)


def audit_caller(*tests: FileChange) -> Classification:
    """Audit the caller's change (with *tests*) for a focus of ``OfflineQueue.queue_event`` widened to its callers."""
    return audit_fix_substance(
        [CALLER, *tests],
        focus=Focus(symbols=("OfflineQueue.queue_event",)),
        callers=find_callers({"src/t.py": CALLER.after or ""}, ("OfflineQueue.queue_event",)),
    )


def test_audit_caller_of_focus_symbol_counts_as_focus() -> None:
    """A behavioural change in a direct caller of a focus symbol is in the focus.

    The commit changes no test at all, so the verdict is ``no-test``: the test
    references are looked at only once some test was added or changed.
    """
    c = audit_caller()
    assert c.verdict is Verdict.NO_TEST
    assert c.reason == "behavioural change in src/t.py:move but no test added or changed"
    assert c.files[0].in_focus
    assert c.focus_callers == ("src/t.py:move",)
    assert c.restore_symbols == ("src/t.py:move",)


def test_audit_caller_change_with_a_test_naming_another_symbol_is_not_referenced() -> None:
    """A changed test that never names the changed caller (``move``) does not back its change."""
    test = FileChange("tests/test_t.py", None, "from t import other\n\ndef test_other():\n    assert other()\n")
    c = audit_caller(test)
    assert c.verdict is Verdict.TEST_NOT_REFERENCING
    assert c.reason == "tests changed (tests/test_t.py) but none references move"
    assert c.referencing_tests == ()
    assert c.test_ids == ()


def test_audit_caller_change_with_a_test_naming_it_needs_the_proof() -> None:
    """A changed test that calls the changed caller references it: the proof runs that test."""
    test = FileChange("tests/test_t.py", None, "from t import move\n\ndef test_move():\n    assert move(Q())\n")
    c = audit_caller(test)
    assert c.verdict is Verdict.SUBSTANTIVE
    assert c.referencing_tests == ("tests/test_t.py: move",)
    assert c.test_ids == ("tests/test_t.py::test_move",)


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ([FileChange(Q, BASE, BASE.replace("# replace silently", "# note"))], Verdict.DOCS_ONLY),
        ([FileChange("src/other.py", "x = 1\n", "x = 2\n")], Verdict.FOCUS_UNTOUCHED),
        ([FileChange(Q, BASE, FIXED)], Verdict.NO_TEST),
        ([FileChange(Q, BASE, "def (:\n"), TEST_REF], Verdict.UNPARSEABLE),
    ],
)
def test_audit_verdicts(changes: list[FileChange], verdict: Verdict) -> None:
    """Each pre-proof verdict from its smallest commit."""
    assert audit_fix_substance(changes, focus=FOCUS).verdict is verdict


def test_audit_focus_not_applying_judges_whole_commit() -> None:
    """In a sibling repository without the focus files the whole commit is judged, and it says so."""
    sibling = FileChange("src/runner.py", "def cmd():\n    return []\n", "def cmd():\n    return ['--mission']\n")
    test = FileChange("tests/test_runner.py", None, "from runner import cmd\n\ndef test_cmd():\n    assert cmd()\n")
    c = audit_fix_substance([sibling, test], focus=FOCUS, focus_applies=False)
    assert c.verdict is Verdict.SUBSTANTIVE
    assert c.notes == ("the configured focus does not exist in this repository; the whole commit is judged",)


def test_audit_rejects_mismatched_reports() -> None:
    """Precomputed reports must match the changes one to one."""
    with pytest.raises(ValueError, match="0 file reports for 1 changed files"):
        audit_fix_substance([change(FIXED)], reports=[])


@pytest.mark.parametrize(
    ("cls", "message", "name"),
    [
        ("AttributeError", "AttributeError: 'OfflineQueue' object has no attribute 'replaced_count'", "replaced_count"),
        ("KeyError", "KeyError: 'replaced'", "replaced"),
        ("ImportError", "collection error: ImportError: cannot import name 'flush' from 'q'", "flush"),
        ("ModuleNotFoundError", "ModuleNotFoundError: No module named 'a.offline_queue'", "a.offline_queue"),
        ("NameError", "NameError: name 'flush' is not defined", "flush"),
        ("KeyError", "KeyError: 3", "3"),
        ("AssertionError", "AssertionError: assert 1 == 2", None),
        ("AttributeError", None, None),
    ],
)
def test_missing_name(cls: str, message: str | None, name: str | None) -> None:
    """The name a missing-name failure complains about."""
    assert missing_name(cls, message) == name


def test_added_names_only_from_fix_added_lines() -> None:
    """Names in added non-test lines that do not appear before; new modules count by name."""
    changes = [
        FileChange(Q, "x = 1\ncount = 0\n", "x = 1\ncount = 0\nreplaced_count = count\n"),
        FileChange("tests/test_q.py", None, "only_in_tests = 1\n"),
        FileChange("src/pkg/offline_queue.py", None, "y = 2\n"),
    ]
    names = added_names(changes)
    assert "replaced_count" in names
    assert "count" not in names
    assert "only_in_tests" not in names
    assert {"offline_queue", "pkg.offline_queue"} <= names
    assert names == {"replaced_count", "y", "offline_queue", "pkg", "pkg.offline_queue"}


def proof(with_fix: str, without: str, cls: str | None = None, msg: str | None = None, i: str = "t::a") -> TestProof:
    return TestProof(i, TestOutcome(with_fix), TestOutcome(without), cls, msg)


@pytest.mark.parametrize(
    ("proofs", "verdict", "judgements"),
    [
        ([proof("passed", "failed", "AssertionError", "assert 1")], Verdict.SUBSTANTIVE, [TestJudgement.PROVES]),
        ([proof("passed", "error", "RuntimeError", "RuntimeError: boom")], Verdict.SUBSTANTIVE, [TestJudgement.PROVES]),
        ([proof("passed", "passed")], Verdict.TEST_PASSES_WITHOUT_FIX, [TestJudgement.PASSES_WITHOUT_FIX]),
        ([proof("failed", "failed", "AssertionError")], Verdict.TEST_FAILS_WITH_FIX, [TestJudgement.FAILS_WITH_FIX]),
        (
            [proof("passed", "failed", "AttributeError", "AttributeError: 'Q' object has no attribute 'new_attr'")],
            Verdict.PROOF_ONLY_MISSING_NAME,
            [TestJudgement.MISSING_NAME],
        ),
        (
            [proof("passed", "error", "ImportError", "collection error: ImportError: cannot import name 'old'")],
            Verdict.TEST_PASSES_WITHOUT_FIX,
            [TestJudgement.NOT_RUN_WITHOUT_FIX],
        ),
        ([proof("passed", "skipped")], Verdict.TEST_PASSES_WITHOUT_FIX, [TestJudgement.NOT_RUN_WITHOUT_FIX]),
        ([proof("passed", "missing")], Verdict.TEST_PASSES_WITHOUT_FIX, [TestJudgement.NOT_RUN_WITHOUT_FIX]),
        ([proof("missing", "missing")], Verdict.TEST_FAILS_WITH_FIX, [TestJudgement.FAILS_WITH_FIX]),
        ([], Verdict.NO_TEST, []),
    ],
)
def test_judge_proof(proofs: list[TestProof], verdict: Verdict, judgements: list[TestJudgement]) -> None:
    """A test proves a fix only if it passes with it and fails without it on behaviour."""
    judged = judge_proof(proofs, frozenset({"new_attr"}))
    assert judged.verdict is verdict
    assert [j for _, j in judged.judgements] == judgements


def test_one_proving_test_among_missing_name_failures_is_enough() -> None:
    """Each test is judged on its own: one behavioural failure proves the fix (#1182 had three)."""
    proofs = [
        proof("passed", "failed", "AttributeError", "AttributeError: 'Q' object has no attribute 'new_attr'", "t::a"),
        proof("passed", "failed", "AssertionError", "AssertionError: assert 0 == 1", "t::b"),
    ]
    judged = judge_proof(proofs, frozenset({"new_attr"}))
    assert judged.verdict is Verdict.SUBSTANTIVE
    assert judged.reason == "fails without the fix, passes with it: t::b"


def test_attribute_error_on_an_old_name_proves() -> None:
    """An AttributeError on a name that existed before the fix is a behavioural failure."""
    judged = judge_proof(
        [proof("passed", "failed", "AttributeError", "AttributeError: no attribute 'old'")], frozenset()
    )
    assert judged.verdict is Verdict.SUBSTANTIVE


@pytest.mark.parametrize("symbol", ["queue_event", "OfflineQueue.queue_event"])
def test_focus_symbol_matches_at_any_depth(symbol: str) -> None:
    """A bare or qualified focus symbol matches the method, and functions nested in it; not other methods."""
    before = "class OfflineQueue:\n    def queue_event(self):\n        def inner():\n            return 1\n        return inner\n\n    def peek(self):\n        return 1\n"
    after = before.replace("return 1\n        return inner", "return 2\n        return inner").replace(
        "def peek(self):\n        return 1", "def peek(self):\n        return 3"
    )
    c = audit_fix_substance([FileChange("src/q.py", before, after)], focus=Focus(symbols=(symbol,)))
    focus = {s.qualname: s.in_focus for s in c.changed_symbols}
    assert focus == {"OfflineQueue.queue_event.inner": True, "OfflineQueue.peek": False}


def test_without_fix_source_reverts_behavioural_functions_only() -> None:
    """Changed functions go back to the parent; logging-only functions and a new logger stay as at the fix."""
    before = "def fix(q):\n    return q[0]\n\n\ndef peek(q):\n    return q\n"
    after = "import logging\nlogger = logging.getLogger(__name__)\n\n\ndef fix(q):\n    return q[-1]\n\n\ndef peek(q):\n    logger.debug('peek')\n    return q\n"
    out = without_fix_source(FileChange("src/q.py", before, after))
    assert (
        out
        == "import logging\nlogger = logging.getLogger(__name__)\n\n\ndef fix(q):\n    return q[0]\n\n\ndef peek(q):\n    logger.debug('peek')\n    return q\n"
    )


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("x = 1\n", "x = 2\n", "x = 1\n"),
        (
            "def f():\n    return 1\n",
            "def f():\n    return 1\n\n\ndef g():\n    return 2\n",
            "def f():\n    return 1\n",
        ),
        ("class C:\n    a = 1\n", "class C:\n    a = 2\n", "class C:\n    a = 1\n"),
        (None, "x = 1\n", None),
        ("x = 1\n", None, "x = 1\n"),
    ],
)
def test_without_fix_source_falls_back_to_the_parent(
    before: str | None, after: str | None, expected: str | None
) -> None:
    """Module-level, class-body, added/deleted definitions and added/deleted files: the whole parent file."""
    assert without_fix_source(FileChange("src/q.py", before, after)) == expected
