"""Steps share through shared modules: no step imports another step, no command imports a step."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "phase4gate"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def attribute_chains(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            out.add(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner = node.value
            if isinstance(inner.value, ast.Name):
                out.add(f"{inner.value.id}.{inner.attr}.{node.attr}")
    return out


def steps_imported(path: Path) -> set[str]:
    return {m for m in imported_modules(path) if m.startswith("phase4gate.steps.") and m != "phase4gate.steps"}


@pytest.mark.parametrize("path", sorted((PACKAGE / "steps").glob("wp*.py")), ids=lambda p: p.name)
def test_no_step_imports_another_step(path: Path) -> None:
    """A step shares with another only through a shared module (comment_facts, canary_protocol, checks)."""
    assert not steps_imported(path), f"steps/{path.name} imports {sorted(steps_imported(path))}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "commands").glob("*.py")), ids=lambda p: p.name)
def test_no_command_imports_a_step(path: Path) -> None:
    """A command uses the shared modules, never a step's internals."""
    assert not steps_imported(path), f"commands/{path.name} imports {sorted(steps_imported(path))}"


@pytest.mark.parametrize("name", ["steps/wp06.py", "steps/wp08.py", "comment_facts.py", "commands/render_comment.py"])
def test_comment_modules_neither_write_stderr_nor_build_clients(name: str) -> None:
    """WP06/WP08 show progress through the context; every client comes from ``phase4gate.clients``."""
    path = PACKAGE / name
    chains = attribute_chains(path)

    assert "sys.stderr" not in chains or name.startswith("commands/"), f"{name} writes to sys.stderr"
    assert "GitHubClient.from_config" not in chains, f"{name} builds its own GitHub client"
    assert "phase4gate.adapters.github.GitHubClient" not in imported_modules(path)


def test_comment_facts_module_is_the_one_wp06_wp08_and_render_comment_use() -> None:
    """The three import the shared comment facts from one module."""
    for name in ("steps/wp06.py", "steps/wp08.py", "commands/render_comment.py"):
        assert any(m.startswith("phase4gate.comment_facts") for m in imported_modules(PACKAGE / name)), name
