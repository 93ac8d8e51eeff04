"""Start-up imports only what the command needs (issue 23): ``--help`` and ``resolve-rc``, as real processes.

Each test runs the CLI in a child interpreter and asserts on the names in
``sys.modules`` when it is done (never on a time): ``python -X importtime``
showed where start-up went, and these are the modules that cost it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from phase4gate.sandbox.index import IndexEmulator

HANG_GUARD_SECONDS = 120

# Run the CLI's main() with argv, then dump sys.modules as JSON to the file named last.
_CHILD = """
import sys
out, argv = sys.argv[-1], sys.argv[1:-1]
from phase4gate.cli import main
code = main(argv)
modules = sorted(sys.modules)
import json
with open(out, "w") as f:
    json.dump({"code": code, "modules": modules}, f)
"""

# Heavy for --help: the subcommands' modules and what they import.
_NOT_FOR_HELP = (
    "typing",
    "json",
    "pathlib",
    "threading",
    "attr",
    "attrs",
    "cattrs",
    "urllib3",
    "github3",
    "filelock",
    "packaging",
    "phase4gate.commands._common",
    "phase4gate.config",
    "phase4gate.models",
)
# Not needed to resolve an RC: other commands, the gate, the config, the models, attrs, urllib3 (its one GET
# goes through http.client: phase4gate.adapters.http_transport.StdlibTransport), and no child process.
_NOT_FOR_RESOLVE = (
    "urllib3",
    "logging",  # nothing on the path logs, so the CLI does not configure logging for it (commands/resolve_rc.LOGS)
    "attr",
    "attrs",
    "cattrs",
    "github3",
    "filelock",
    "dataclasses",
    "inspect",
    "phase4gate.models",
    "phase4gate.gate",
    "phase4gate.config",
    "phase4gate.convert",
    "phase4gate.commands._common",
    "phase4gate.commands.run",
    "phase4gate.commands.sandbox",
)


def _modules(tmp_path: Path, argv: list[str], env: Mapping[str, str] | None = None) -> tuple[int, set[str]]:
    out = tmp_path / f"modules-{len(list(tmp_path.iterdir()))}.json"
    # Without coverage's subprocess hook: it would import json, typing, dataclasses... into the child first.
    child_env = {k: v for k, v in (os.environ if env is None else env).items() if not k.startswith("COVERAGE_")}
    subprocess.run(
        [sys.executable, "-c", _CHILD, *argv, str(out)],
        capture_output=True,
        text=True,
        env=child_env,
        check=True,
        timeout=HANG_GUARD_SECONDS,
    )
    data = json.loads(out.read_text())
    return data["code"], set(data["modules"])


@pytest.fixture
def index() -> Iterator[IndexEmulator]:
    """A running index emulator with an RC newer than the baseline."""
    with IndexEmulator("rc15-rc16") as emulator:
        yield emulator


def test_help_imports_no_subcommand_and_nothing_heavy(tmp_path: Path) -> None:
    """``phase4gate --help`` lists every command but imports none of their modules, nor typing or json."""
    code, modules = _modules(tmp_path, ["--help"])
    assert code == 0
    assert "phase4gate.cli" in modules
    assert sorted(m for m in modules if m.startswith("phase4gate.commands.")) == []
    assert sorted(m for m in _NOT_FOR_HELP if m in modules) == []


def test_subcommand_help_imports_only_that_command(tmp_path: Path) -> None:
    """``phase4gate resolve-rc --help`` imports resolve_rc's module and no other command's."""
    code, modules = _modules(tmp_path, ["--config", "resolve-rc", "resolve-rc", "--help"])
    assert code == 0
    assert sorted(m for m in modules if m.startswith("phase4gate.commands.")) == ["phase4gate.commands.resolve_rc"]


def test_resolve_rc_with_index_url_imports_only_what_it_needs(index: IndexEmulator, tmp_path: Path) -> None:
    """``resolve-rc --index-url``: the index adapter and http.client, no urllib3, attrs, gate, config or other command."""
    argv = ["resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15", "--index-url", index.simple_url]
    code, modules = _modules(tmp_path, argv)
    assert code == 0
    assert {"phase4gate.commands.resolve_rc", "phase4gate.adapters.index", "http.client"} <= modules
    assert sorted(m for m in _NOT_FOR_RESOLVE if m in modules) == []
    assert sorted(m for m in modules if m.startswith("phase4gate.commands.")) == ["phase4gate.commands.resolve_rc"]


def test_resolve_rc_default_path_starts_no_child_once_cached(index: IndexEmulator, tmp_path: Path) -> None:
    """``resolve-rc`` on the default path: the first run asks pip; once cached, ``subprocess`` is not even imported."""
    config = tmp_path / "config" / "pip" / "pip.conf"
    config.parent.mkdir(parents=True)
    config.write_text(f"[global]\nindex-url = {index.simple_url}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), PHASE4GATE_CACHE_DIR=str(tmp_path / "cache"))
    argv = ["resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15"]
    runs = tmp_path / "runs"
    runs.mkdir()
    first_code, first = _modules(runs, argv, env)
    assert first_code == 0
    assert "subprocess" in first
    code, modules = _modules(runs, argv, env)
    assert code == 0
    assert "subprocess" not in modules
    assert sorted(m for m in _NOT_FOR_RESOLVE if m in modules) == []
