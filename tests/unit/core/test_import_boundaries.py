"""Who may import what: github3 only inside the GitHub adapter; checks import no adapter, no I/O client."""

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
    return names


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "canary_suite" not in p.parts)


def test_the_package_is_found() -> None:
    assert (PACKAGE / "adapters" / "github" / "__init__.py").is_file()
    assert len(modules()) > 40


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_github3_only_in_the_github_adapter(path: Path) -> None:
    users = {m for m in imported_modules(path) if m == "github3" or m.startswith("github3.")}
    inside = path.parent == PACKAGE / "adapters" / "github"
    assert inside or not users, f"{path.relative_to(PACKAGE)} imports {sorted(users)}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "checks").rglob("*.py")), ids=lambda p: p.name)
def test_checks_are_pure(path: Path) -> None:
    io = {"urllib3", "requests", "github3", "subprocess", "socket", "filelock"}
    bad = {m for m in imported_modules(path) if m.split(".")[0] in io or m.startswith("phase4gate.adapters")}
    assert not bad, f"checks/{path.name} imports I/O: {sorted(bad)}"


def imported_names(path: Path) -> set[str]:
    """Every module *path* imports, ``from a import b`` also as ``a.b`` (b may be a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = imported_modules(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_cli_imports_the_commands(path: Path) -> None:
    """Library code (steps, adapters, checks, the gate) never imports ``phase4gate.commands``: the CLI wires them."""
    cli = path == PACKAGE / "cli.py" or path.is_relative_to(PACKAGE / "commands")
    users = {m for m in imported_names(path) if m == "phase4gate.commands" or m.startswith("phase4gate.commands.")}
    assert cli or not users, f"{path.relative_to(PACKAGE)} imports {sorted(users)}"


def test_no_module_is_over_900_lines() -> None:
    """Issue 21: every module under phase4gate/ stays at most 900 lines (the big ones are split along their seams)."""
    package = Path(__file__).resolve().parents[3] / "phase4gate"
    sizes = {
        p.relative_to(package).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in package.rglob("*.py")
    }
    assert len(sizes) > 50, sizes
    assert {name: n for name, n in sizes.items() if n > 900} == {}
