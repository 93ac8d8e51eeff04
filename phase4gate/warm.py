"""Warm-up: import what the later steps need while an earlier step waits on a child process (issue 23).

The first time a step runs in a process it imports its modules, and nothing else runs
then: that time is pure gate overhead (about 70 ms of a fresh ``phase4gate run``'s green
gate).  :class:`Warmer` imports them early, in a daemon thread, one module at a time and
(but for the first step's GitHub adapter, imported at once) only while one of the gate's
child processes is running
(:func:`phase4gate.adapters.proc.wait_for_running_child`): the step's thread is then
waiting on that child, so the import costs the gate no time of its own.

It changes nothing a step sees: a module imported early is the module the step would
have imported.  Two threads importing cannot deadlock on phase4gate's modules, which
import each other without cycles at module level (``tests/unit/core/test_warm.py``
checks the graph).  What is warmed: each step's module and the phase4gate modules its
functions import, read from its source (so the list cannot go stale), then
:func:`phase4gate.adapters.http.user_agent`.  A module that fails to import is skipped:
the step meets the failure itself and reports it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Self

__all__ = ["Warmer", "step_imports", "warm_list"]

log = logging.getLogger("phase4gate.warm")

# How long one wait for a running child lasts before the stop flag is looked at again.
_WAIT_SECONDS: Final = 0.25


def _imports(tree: ast.AST) -> Iterator[str]:
    """Yield the phase4gate modules *tree* imports (a ``from X import y`` as ``X`` and ``X.y``), not TYPE_CHECKING's."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (name for child in node.orelse for name in _imports(ast.Module(body=[child], type_ignores=[])))
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "phase4gate")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "phase4gate":
            module = node.module or ""
            yield module
            yield from (f"{module}.{a.name}" for a in node.names)
        yield from _imports(node)


def step_imports(module: str) -> list[str]:
    """Return *module* and the phase4gate modules it imports anywhere in its source, in order.

    A ``from phase4gate.x import y`` yields ``phase4gate.x`` and ``phase4gate.x.y`` (which
    may be a name, not a module: :class:`Warmer` skips what is not one).  A module whose
    source cannot be read is returned alone.
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return [module]
    origin = spec.origin if spec is not None else None
    if not origin or not origin.endswith(".py"):
        return [module]
    try:
        tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return [module]
    found = [module]
    for name in _imports(tree):
        if name not in found:
            found.append(name)
    return found


def warm_list(modules: Iterable[str]) -> list[str]:
    """Return every module of *modules* followed by what it imports (:func:`step_imports`), each once."""
    out: list[str] = []
    for module in modules:
        out.extend(m for m in step_imports(module) if m not in out)
    return out


def _is_module(name: str) -> bool:
    """Whether *name* is a module (finding it imports its parent, which may fail in any way)."""
    try:
        return importlib.util.find_spec(name) is not None
    except Exception:  # noqa: BLE001 - a parent that does not import: the step meets it and reports it
        return False


class Warmer:
    """Import *modules* in a daemon thread while a child process runs; ``with Warmer(...):`` around the gate.

    *now* is imported first, at once: what the first step needs before it starts any
    child (WP01's GitHub adapter, github3, ~150 ms), overlapping the gate's own start
    (its lock, its first journal lines and their fsyncs).

    *wait* waits for a running child up to a timeout and says whether one runs
    (:func:`phase4gate.adapters.proc.wait_for_running_child` by default).  Leaving the
    ``with`` block stops the warm-up without waiting for it: the thread looks at its stop
    flag between imports and after each wait.
    """

    def __init__(
        self,
        modules: Sequence[str] | Callable[[], Sequence[str]],
        *,
        now: Sequence[str] = (),
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        if wait is None:
            from phase4gate.adapters.proc import wait_for_running_child  # noqa: PLC0415

            wait = wait_for_running_child
        self._now = list(now)
        # A callable is called in the thread, once a child runs (reading the steps' sources is work too).
        self._modules = modules
        self._wait = wait
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="phase4gate-warm", daemon=True)
        # The modules imported (or found imported) by the warm-up, in order.
        self.warmed: list[str] = []
        self.done = threading.Event()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()

    def _child_running(self) -> bool:
        while not self._stop.is_set():
            if self._wait(_WAIT_SECONDS):
                return not self._stop.is_set()
        return False

    def _import(self, name: str) -> None:
        if not _is_module(name):
            return
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the step meets it and reports it
            log.debug("warm-up: %s did not import (%s)", name, type(exc).__name__)
            return
        self.warmed.append(name)

    def _run(self) -> None:
        try:
            self._warm()
        except Exception as exc:  # noqa: BLE001 - a warm-up never fails the gate: the steps import for themselves
            log.debug("warm-up stopped: %s", type(exc).__name__)
        finally:
            self.done.set()

    def _warm(self) -> None:
        for name in self._now:
            if self._stop.is_set():
                return
            self._import(name)
        if not self._child_running():
            return
        modules = self._modules() if callable(self._modules) else self._modules
        for name in modules:
            if not self._child_running():
                return
            self._import(name)
        if self._child_running():
            from phase4gate.adapters.http import user_agent  # noqa: PLC0415

            user_agent()
