"""The warm-up (issue 23): later steps' imports, done while a child process runs, and only then."""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from phase4gate.adapters import proc
from phase4gate.registry import WORK_PACKAGES
from phase4gate.warm import Warmer, step_imports, warm_list
from tests.conftest import HANG_GUARD_SECONDS

_ROOT = Path(__file__).resolve().parents[3] / "phase4gate"


@pytest.fixture
def fresh_modules(tmp_path: Path) -> Iterator[Path]:
    """A package ``warmpkg`` on sys.path, not imported yet: ``a`` imports ``b`` inside a function."""
    pkg = tmp_path / "warmpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def run():\n    from warmpkg import b\n    return b.X\n")
    (pkg / "b.py").write_text("X = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield pkg
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "warmpkg" or m.startswith("warmpkg.")]:
            del sys.modules[name]


def test_step_imports_reads_function_level_imports_not_type_checking_ones() -> None:
    """WP02's module: its lazy imports (the index adapter, the install adapter) are listed; TYPE_CHECKING's are not."""
    found = step_imports("phase4gate.steps.wp02")
    assert found[0] == "phase4gate.steps.wp02"
    assert {"phase4gate.adapters.index", "phase4gate.adapters.install", "phase4gate.checks.release"} <= set(found)
    # Imported only under TYPE_CHECKING in wp02.py (StepContext's module is the gate, imported anyway).
    assert "phase4gate.gate" not in found


def test_warm_list_covers_every_registry_step_once() -> None:
    """Every WP's step module is on the list, each module once."""
    modules = warm_list(w.step.partition(":")[0] for w in WORK_PACKAGES)
    assert len(modules) == len(set(modules))
    assert all(w.step.partition(":")[0] in modules for w in WORK_PACKAGES)


def test_nothing_is_imported_while_no_child_runs(fresh_modules: Path) -> None:
    """With no child running, the warm-up waits and imports nothing; leaving the block stops it."""
    asked: list[float] = []

    def never(timeout: float) -> bool:
        asked.append(timeout)
        threading.Event().wait(0.01)
        return False

    with Warmer(["warmpkg.a"], wait=never) as warmer:
        threading.Event().wait(0.2)
    assert warmer.done.wait(HANG_GUARD_SECONDS)
    assert asked
    assert "warmpkg.a" not in sys.modules
    assert warmer.warmed == []


def test_modules_are_imported_while_a_real_child_runs(fresh_modules: Path) -> None:
    """A real child (sleep) running: the modules are imported meanwhile, in order (only phase4gate's are followed)."""
    child = threading.Thread(
        target=proc.run_process, args=(["sleep", "2"],), kwargs={"timeout": HANG_GUARD_SECONDS}, daemon=True
    )
    assert warm_list(["warmpkg.a"]) == ["warmpkg.a"]  # not phase4gate: its imports are not followed
    with Warmer(["warmpkg.a", "warmpkg.b"]) as warmer:
        child.start()
        assert warmer.done.wait(HANG_GUARD_SECONDS)
        assert child.is_alive()  # all of it happened while the child ran
    child.join(HANG_GUARD_SECONDS)
    assert warmer.warmed == ["warmpkg.a", "warmpkg.b"]
    assert {"warmpkg.a", "warmpkg.b"} <= set(sys.modules)


def test_a_module_that_fails_to_import_is_skipped(fresh_modules: Path) -> None:
    """A broken module is left for the step to meet; the warm-up goes on with the next."""
    (fresh_modules / "broken.py").write_text("raise RuntimeError('broken on purpose')\n")
    with Warmer(["warmpkg.broken", "warmpkg.b"], wait=lambda _t: True) as warmer:
        assert warmer.done.wait(HANG_GUARD_SECONDS)
    assert warmer.warmed == ["warmpkg.b"]


def _module_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for n in ast.walk(node) if isinstance(node, ast.Try) else [node]:
            if isinstance(n, ast.Import):
                found.update(a.name for a in n.names if a.name.startswith("phase4gate"))
            elif isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").startswith("phase4gate"):
                found.add(n.module or "")
                found.update(f"{n.module}.{a.name}" for a in n.names)
    return found


def test_phase4gate_modules_import_each_other_without_cycles() -> None:
    """The warm-up imports beside a step's thread: safe because no module-level import cycle exists to deadlock on."""
    modules: dict[str, Path] = {}
    for path in _ROOT.rglob("*.py"):
        parts = path.relative_to(_ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: {m for m in _module_level_imports(p) if m in modules and m != name} for name, p in modules.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
    assert len(graph) > 100  # the whole package was read


def test_now_modules_are_imported_without_waiting_for_a_child(fresh_modules: Path) -> None:
    """``now``: imported at once (WP01's GitHub adapter); the rest still waits for a child."""
    with Warmer(["warmpkg.b"], now=["warmpkg.a"], wait=lambda _t: False) as warmer:
        for _ in range(int(HANG_GUARD_SECONDS / 0.01)):
            if warmer.warmed:
                break
            threading.Event().wait(0.01)
    assert warmer.done.wait(HANG_GUARD_SECONDS)
    assert warmer.warmed == ["warmpkg.a"]
    assert "warmpkg.b" not in sys.modules


def test_a_parent_that_raises_anything_is_skipped_and_the_rest_warmed(fresh_modules: Path) -> None:
    """Finding ``warmpkg.boom.name`` imports ``warmpkg.boom``, which raises RuntimeError: skipped, the rest warmed."""
    (fresh_modules / "boom.py").write_text("raise RuntimeError('boom on purpose')\n")
    names = ["warmpkg.boom", "warmpkg.boom.name", "warmpkg.b"]
    with Warmer(lambda: names, wait=lambda _t: True) as warmer:
        assert warmer.done.wait(HANG_GUARD_SECONDS)
    assert warmer.warmed == ["warmpkg.b"]
