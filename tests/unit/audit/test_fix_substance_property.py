"""Property: adding or removing only logging never makes a diff behavioural; changing code always does.

The plan's WP01 stop condition: "if the diff only touches logger.* calls without
modifying the queue_event invocation logic or its callers, reject as
diagnostic-only".
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from phase4gate.checks.fix_substance import FileChange, FileKind, classify_file

OPS = ("+", "-", "*", "//", "%", "<<")
LOGS = (
    'logger.info("step %s", a)',
    'logger.debug("checkpoint")',
    'log.warning("a=%d b=%s", a, "x")',
    'print("trace", a)',
    'self_log = None; logger.error("n %s", len("abc"))',
)

# One statement: v_i = <earlier name> <op> <constant>.
statement = st.tuples(st.integers(0, 50), st.sampled_from(OPS), st.integers(1, 99))
program = st.lists(statement, min_size=1, max_size=8)


MODULE_LOG = 'logger.info("module loaded")'


def render(stmts: list[tuple[int, str, int]], logs: dict[int, str], module_logs: bool) -> str:
    lines = ["import logging", "", "logger = logging.getLogger(__name__)", "log = logger", ""]
    if module_logs:
        lines.append(MODULE_LOG)
    lines.append("def f(a):")
    for i, (src, op, const) in enumerate(stmts):
        if i in logs:
            lines.append(f"    {logs[i]}")
        left = "a" if i == 0 else f"v{src % i}"
        lines.append(f"    v{i} = {left} {op} {const}")
    if len(stmts) in logs:
        lines.append(f"    {logs[len(stmts)]}")
    lines.append(f"    return v{len(stmts) - 1}")
    return "\n".join(lines) + "\n"


def log_positions(n: int) -> st.SearchStrategy[dict[int, str]]:
    return st.dictionaries(st.integers(0, n), st.sampled_from(LOGS[:4]), max_size=n + 1)


def observations(logs: dict[int, str], module_logs: bool) -> list[str]:
    """The logging statements *render* writes, in source order (the module's first)."""
    return [MODULE_LOG] * module_logs + [logs[i] for i in sorted(logs)]


@given(data=st.data(), stmts=program)
def test_adding_or_removing_only_logging_is_never_behavioural(
    data: st.DataObject, stmts: list[tuple[int, str, int]]
) -> None:
    """Logging calls added or removed anywhere (function or module) never make a diff behavioural.

    The change is logging-only exactly when the sequence of logging statements
    differs; the same statements in the same order (at other places among the
    code, or no change at all) leave nothing but text: docs-only.
    """
    logs_before, module_before = data.draw(log_positions(len(stmts))), data.draw(st.booleans())
    logs_after, module_after = data.draw(log_positions(len(stmts))), data.draw(st.booleans())
    before = render(stmts, logs_before, module_before)
    after = render(stmts, logs_after, module_after)
    kind = classify_file(FileChange("src/pkg/mod.py", before, after)).kind
    differ = observations(logs_before, module_before) != observations(logs_after, module_after)
    assert kind is (FileKind.LOGGING_ONLY if differ else FileKind.DOCS_ONLY)
    if before == after:
        assert kind is FileKind.DOCS_ONLY


@given(data=st.data(), stmts=program)
def test_changing_any_non_logging_expression_is_behavioural(
    data: st.DataObject, stmts: list[tuple[int, str, int]]
) -> None:
    """Changing one statement's operator or constant is behavioural, whatever logging surrounds it."""
    i = data.draw(st.integers(0, len(stmts) - 1))
    src, op, const = stmts[i]
    if data.draw(st.booleans()):
        changed = (src, op, const + 1)
    else:
        changed = (src, data.draw(st.sampled_from([o for o in OPS if o != op])), const)
    new = [*stmts[:i], changed, *stmts[i + 1 :]]
    logs = data.draw(log_positions(len(stmts)))
    before = render(stmts, logs, module_logs=False)
    after = render(new, data.draw(st.sampled_from([logs, {}])), module_logs=data.draw(st.booleans()))
    report = classify_file(FileChange("src/pkg/mod.py", before, after))
    assert report.kind is FileKind.BEHAVIOURAL
    assert [s.qualname for s in report.symbols if s.behavioural] == ["f"]


def test_the_same_logging_in_the_same_order_elsewhere_is_docs_only() -> None:
    """The property's rarely drawn corner, fixed: a log line moved among the code, order kept, is docs-only."""
    stmts = [(0, "+", 1), (0, "*", 2)]
    before = render(stmts, {0: LOGS[0]}, module_logs=False)
    moved = render(stmts, {1: LOGS[0]}, module_logs=False)
    assert before != moved
    assert classify_file(FileChange("src/pkg/mod.py", before, moved)).kind is FileKind.DOCS_ONLY
    swapped = render(stmts, {0: LOGS[1], 1: LOGS[0]}, module_logs=False)
    reordered = render(stmts, {0: LOGS[0], 1: LOGS[1]}, module_logs=False)
    assert classify_file(FileChange("src/pkg/mod.py", swapped, reordered)).kind is FileKind.LOGGING_ONLY
