"""Steps share through shared modules: no step imports another step, no command imports a step.

Steps are found through the registry (``phase4gate.registry.WORK_PACKAGES``), never by
importing each other: what two steps share lives in a shared module (the canary protocol,
the comment facts, ``phase4gate.facts``).  The journal is read as typed events
(``phase4gate.journal.parse_event``), never with substring tests on raw lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "phase4gate"
STEPS = sorted(p for p in (PACKAGE / "steps").glob("*.py") if p.name != "__init__.py")
COMMANDS = sorted((PACKAGE / "commands").glob("*.py"))
# '"wp-start"' in line, '"wp-result"' not in ln, ...: a journal line tested as text.
RAW_EVENT_TEST = re.compile(
    r"""['"]\\?"(gate-start|gate-end|wp-start|wp-result|wp-reused|wp-action|interrupted|child[a-z-]*)\\?"['"]\s+(not\s+)?in\b"""
)


def step_imports(path: Path) -> set[str]:
    """Return the step modules *path* imports, at any depth (lazy imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("phase4gate.steps."))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module.startswith("phase4gate.steps."):
                found.add(module)
            elif node.level == 0 and module == "phase4gate.steps":
                found.update(f"phase4gate.steps.{a.name}" for a in node.names)
            elif node.level > 0 and path.parent == PACKAGE / "steps":
                # from .wp06 import x / from . import wp06
                found.update(
                    f"phase4gate.steps.{module}" if module else f"phase4gate.steps.{a.name}" for a in node.names
                )
    return found


def test_the_modules_are_found() -> None:
    assert len(STEPS) == 8
    assert (PACKAGE / "commands" / "run.py") in COMMANDS


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_no_step_imports_another_step(path: Path) -> None:
    """A step module imports no other step module (not even lazily)."""
    others = step_imports(path) - {f"phase4gate.steps.{path.stem}"}
    assert not others, f"steps/{path.name} imports {sorted(others)}; share through a shared module"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: p.name)
def test_no_command_imports_a_step(path: Path) -> None:
    """The CLI reaches steps only through the gate and its registry."""
    steps = step_imports(path)
    assert not steps, f"commands/{path.name} imports {sorted(steps)}"


def test_the_scan_sees_a_lazy_step_import(tmp_path: Path) -> None:
    """The scan is not vacuous: a lazy import inside a function is found."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from phase4gate.steps.wp06 import collect\n    import phase4gate.steps.wp04\n")
    assert step_imports(probe) == {"phase4gate.steps.wp06", "phase4gate.steps.wp04"}


@pytest.mark.parametrize(
    "path", sorted(p for p in PACKAGE.rglob("*.py") if "canary_suite" not in p.parts), ids=lambda p: str(p.name)
)
def test_no_substring_test_on_raw_journal_lines(path: Path) -> None:
    """Journal lines are parsed into events before their kind is looked at."""
    text = path.read_text(encoding="utf-8")
    hits = [m.group(0) for m in RAW_EVENT_TEST.finditer(text)]
    assert not hits, f"{path.relative_to(PACKAGE)}: {hits}"


def test_the_raw_line_pattern_matches_what_it_forbids() -> None:
    assert RAW_EVENT_TEST.search("""if f'"wp": "{wp}"' in ln and '"wp-start"' in ln""")
    assert RAW_EVENT_TEST.search("""        if '"wp-result"' not in line:""")
    assert not RAW_EVENT_TEST.search("""if event.kind == "wp-start":""")
