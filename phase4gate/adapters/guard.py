"""What holds around one gate run: one writer per run folder, children that never outlive it.

:class:`RunGuard` is entered by :meth:`phase4gate.gate.Gate.run` for the whole run:

* **one writer**: a non-blocking :class:`filelock.FileLock` on ``.writer/.phase4gate.lock``
  in the run folder; a second gate or ``--resume`` on the same folder gets
  :class:`RunFolderBusyError` (exit 3, naming the holder's pid and host) at once;
* **leftovers first**: on a resume, before anything else, children an earlier gate
  left running are ended, identity-checked (recorded start time, or the earlier
  gate's ``PHASE4GATE_CHILD_OF`` marker in their environment), never by name;
* **children**: the gate becomes a child subreaper (Linux), marks every child with
  ``PHASE4GATE_CHILD_OF=<run id>:<nonce>`` and journals each one's pid, group and
  start time; every child still running is ended on the way out;
* **signals**: SIGINT and SIGTERM ask for a stop (:func:`phase4gate.adapters.proc.request_stop`);
* **scratch**: temporary folders made during the run live in one scratch folder
  (``phase4gate-scratch-*`` in the temp dir, its owner's pid and start time inside),
  removed on every exit path; a killed gate's is removed at the next start, as are the
  fix audit's worktrees a killed gate left registered in the checkouts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Self

from phase4gate.errors import ExitCode, Phase4GateError

if TYPE_CHECKING:
    from types import FrameType, TracebackType

    import filelock

    from phase4gate.adapters.proc import ChildRecord
    from phase4gate.config import GateConfig

__all__ = [
    "SCRATCH_PREFIX",
    "WRITER_LOCK",
    "RunFolderBusyError",
    "RunGuard",
    "cache_user",
    "prune_scratch",
    "prune_worktrees",
]

log = logging.getLogger("phase4gate")

# Named like the store's lock so `verify` never counts it as an unlisted file.
WRITER_LOCK: Final = ".writer/.phase4gate.lock"
SCRATCH_PREFIX: Final = "phase4gate-scratch-"
_OWNER_FILE: Final = "owner.json"
_GATES_DIR: Final = "gates"
_PR_SET_CHILD_SUBREAPER: Final = 36


class _Shared:
    """Process-wide state: the subreaper flag and the scratch folder (as ``tempfile.tempdir``).

    Set up by the first gate of the process and undone by the last, so gates run side by
    side in one process never undo each other's.
    """

    lock = threading.Lock()
    users = 0
    subreaper = False
    scratch: Path | None = None
    previous_tempdir: str | None = None


class RunFolderBusyError(Phase4GateError):
    """Another gate holds the run folder (exit 3: could not decide)."""

    exit_code = ExitCode.INFRA

    def __init__(self, run_dir: Path, holder: str) -> None:
        self.run_dir = run_dir
        self.holder = holder
        super().__init__(
            f"run folder {run_dir} is in use by another gate ({holder})",
            hint="wait for it to end, or stop it; one gate writes a run folder at a time",
        )


def _owner() -> dict[str, Any]:
    from phase4gate.adapters.proc import process_start_time  # noqa: PLC0415

    return {"pid": os.getpid(), "host": socket.gethostname(), "start_time": process_start_time(os.getpid())}


def _owner_alive(owner: Mapping[str, Any]) -> bool:
    """Whether the process an owner record names still runs (another host's always counts as alive)."""
    from phase4gate.adapters.proc import process_alive  # noqa: PLC0415

    if owner.get("host") != socket.gethostname():
        return True
    pid, start = owner.get("pid"), owner.get("start_time")
    return isinstance(pid, int) and process_alive(pid, start if isinstance(start, int) else None)


def _read_owner(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def prune_scratch(base: Path) -> list[Path]:
    """Remove ``phase4gate-scratch-*`` folders under *base* whose owner process is gone."""
    removed: list[Path] = []
    for folder in sorted(base.glob(f"{SCRATCH_PREFIX}*")):
        owner = _read_owner(folder / _OWNER_FILE)
        # A folder without an owner record is being created right now, or is not ours.
        if folder.is_dir() and owner is not None and not _owner_alive(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextlib.contextmanager
def cache_user(cache: Path) -> Iterator[Path]:
    """Register this process as a live user of *cache* (``cache/gates/<host>-<pid>.json``) while inside.

    A gate starting meanwhile does not prune worktrees under *cache*: ``audit-fix`` and gates register alike.
    """
    gates = cache / _GATES_DIR
    gates.mkdir(parents=True, exist_ok=True)
    mine = gates / f"{socket.gethostname()}-{os.getpid()}.json"
    mine.write_text(json.dumps(_owner()), encoding="utf-8")
    try:
        yield mine
    finally:
        mine.unlink(missing_ok=True)


def prune_worktrees(config: GateConfig, cache: Path) -> list[Path]:
    """Remove fix-audit worktrees under *cache* left registered in the configured checkouts.

    Only when no other live gate uses *cache* (each registers itself in ``cache/gates``).
    """
    from phase4gate.adapters import git  # noqa: PLC0415

    gates = cache / _GATES_DIR
    mine = f"{socket.gethostname()}-{os.getpid()}"
    others = [p for p in gates.glob("*.json") if p.stem != mine] if gates.is_dir() else []
    live = [p for p in others if (o := _read_owner(p)) is None or _owner_alive(o)]
    for p in others:
        if p not in live:
            p.unlink(missing_ok=True)
    if live:
        log.info("not pruning worktrees in %s: %d other gate(s) use it", cache, len(live))
        return []
    repos = [Path(s).expanduser() for s in config.audit.checkouts.values() if Path(s).expanduser().is_dir()]
    clones = cache / "checkouts"
    repos += sorted(p for p in clones.iterdir() if p.is_dir()) if clones.is_dir() else []
    removed: list[Path] = []
    for repo in repos:
        with contextlib.suppress(Phase4GateError):
            removed += git.prune_worktrees(repo, cache)
    for path in removed:
        # The audit's work folder (cache/wp01-*) held the two worktrees and their logs.
        parent = path.parent
        if parent.parent.resolve() == cache.resolve() and parent.name.startswith("wp01-"):
            shutil.rmtree(parent, ignore_errors=True)
    return removed


class RunGuard:
    """Hold a run folder for one gate run; see the module docstring for what it guarantees."""

    def __init__(  # noqa: PLR0913 - the run's context, each a keyword
        self,
        run_dir: Path,
        run_id: str,
        *,
        config: GateConfig,
        environ: Mapping[str, str],
        journal: Callable[[dict[str, Any]], None],
        earlier: Iterable[str] = (),
        current_wp: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.run_dir = run_dir
        self.run_id = run_id
        self.marker = f"{run_id}:{secrets.token_hex(6)}"
        self._config = config
        self._environ = environ
        self._journal = journal
        self._earlier = list(earlier)
        self._current_wp = current_wp
        self._lock: filelock.BaseFileLock | None = None
        self._journal_lock = threading.Lock()
        self._shared = False
        self._handlers: dict[int, Any] = {}
        self._gate_file: Path | None = None
        self.ended: list[int] = []

    # ----------------------------------------------------------------- enter

    def __enter__(self) -> Self:
        self._acquire()
        try:
            self._end_leftovers()
            self._share()
            self._start_children()
            self._prune()
            self._install_handlers()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _acquire(self) -> None:
        import filelock  # noqa: PLC0415

        path = self.run_dir / WRITER_LOCK
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(path), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            try:
                holder = path.read_text(encoding="utf-8").strip() or "holder unknown"
            except OSError:
                holder = "holder unknown"
            raise RunFolderBusyError(self.run_dir, holder) from None
        self._lock = lock
        owner = _owner()
        with contextlib.suppress(OSError):
            path.write_text(f"pid {owner['pid']} on host {owner['host']}\n", encoding="utf-8")

    def _end_leftovers(self) -> None:
        """End what an earlier gate of this run left running (a resume), before anything else."""
        from phase4gate.adapters.proc import CHILD_ENV, end_leftovers  # noqa: PLC0415

        records: list[tuple[int, int | None]] = []
        markers: set[str] = set()
        for line in self._earlier:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            if event.get("event") == "child" and isinstance(event.get("pid"), int):
                start = event.get("start_time")
                records.append((event["pid"], start if isinstance(start, int) else None))
            marker = event.get("child_marker") or event.get("marker")
            if isinstance(marker, str) and marker:
                markers.add(marker)
        if not records and not markers:
            return
        self.ended = end_leftovers(records, sorted(markers))
        if self.ended:
            log.warning("ended %d process(es) an earlier gate of %s left running", len(self.ended), self.run_id)
            self._write(
                {
                    "event": "children-ended",
                    "why": "left running by an earlier gate of this run (identity-checked)",
                    "pids": self.ended,
                    "env": CHILD_ENV,
                }
            )

    def _start_children(self) -> None:
        from phase4gate.adapters.proc import CHILD_ENV, clear_stop, set_child_marker, set_child_observer  # noqa: PLC0415

        clear_stop()
        if not _Shared.subreaper:
            log.warning("not a child subreaper here (Linux only); orphans are found by their %s marker only", CHILD_ENV)
        set_child_marker(self.marker)
        set_child_observer(self._record_child)

    def _record_child(self, child: ChildRecord) -> None:
        self._write(
            {
                "event": "child",
                "wp": self._current_wp(),
                "pid": child.pid,
                "pgid": child.pgid,
                "start_time": child.start_time,
                "marker": self.marker,
                "argv0": Path(child.argv[0]).name if child.argv else "",
            }
        )

    def _write(self, event: dict[str, Any]) -> None:
        from phase4gate.gate import _now  # noqa: PLC0415

        with self._journal_lock:
            self._journal({**event, "time": _now()})

    def _share(self) -> None:
        """Become a subreaper and move temporary folders into a scratch folder (first gate of the process)."""
        from phase4gate.adapters.proc import become_subreaper  # noqa: PLC0415

        with _Shared.lock:
            if _Shared.users == 0:
                _Shared.subreaper = become_subreaper()
                base = Path(tempfile.gettempdir())
                scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=base))
                (scratch / _OWNER_FILE).write_text(json.dumps({**_owner(), "run_id": self.run_id}), encoding="utf-8")
                # Every temporary folder made from here on (canary and Teamspace scratch) is inside it.
                _Shared.previous_tempdir = tempfile.tempdir
                _Shared.scratch = scratch
                tempfile.tempdir = str(scratch)
            _Shared.users += 1
            self._shared = True

    @staticmethod
    def _unshare() -> None:
        with _Shared.lock:
            _Shared.users -= 1
            if _Shared.users > 0:
                return
            if _Shared.scratch is not None:
                tempfile.tempdir = _Shared.previous_tempdir
                shutil.rmtree(_Shared.scratch, ignore_errors=True)
                _Shared.scratch = None
            if _Shared.subreaper:
                with contextlib.suppress(OSError, AttributeError):
                    import ctypes  # noqa: PLC0415

                    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
                _Shared.subreaper = False

    def _prune(self) -> None:
        from phase4gate.adapters.cache import cache_dir  # noqa: PLC0415

        base = _Shared.scratch.parent if _Shared.scratch else Path(tempfile.gettempdir())
        for folder in prune_scratch(base):
            log.info("removed a killed gate's scratch folder %s", folder)
        cache = cache_dir(None, dict(self._environ))
        # Registered even before WP01 first creates the cache: a second gate must see this one.
        with contextlib.suppress(OSError):
            cache.mkdir(parents=True, exist_ok=True)
        if cache.is_dir():
            gates = cache / _GATES_DIR
            gates.mkdir(exist_ok=True)
            self._gate_file = gates / f"{socket.gethostname()}-{os.getpid()}.json"
            self._gate_file.write_text(json.dumps(_owner()), encoding="utf-8")
            for path in prune_worktrees(self._config, cache):
                log.info("removed a killed gate's worktree %s", path)

    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        from phase4gate.adapters.proc import request_stop  # noqa: PLC0415

        def handler(signum: int, _frame: FrameType | None) -> None:
            request_stop(signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            self._handlers[sig] = signal.signal(sig, handler)

    # ----------------------------------------------------------------- exit

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        from phase4gate.adapters.proc import (  # noqa: PLC0415
            end_leftovers,
            set_child_marker,
            set_child_observer,
            terminate_all,
        )

        terminate_all(grace=1.0, marker=self.marker)
        if self._lock is not None:
            # Our own children's descendants that outlived them (none should): same marker.
            end_leftovers([], [self.marker])
        set_child_observer(None)
        set_child_marker(None)
        for sig, old in self._handlers.items():
            signal.signal(sig, old)
        self._handlers.clear()
        if self._shared:
            self._shared = False
            self._unshare()
        if self._gate_file is not None:
            self._gate_file.unlink(missing_ok=True)
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (self.run_dir / WRITER_LOCK).write_text("", encoding="utf-8")
            self._lock.release()
            self._lock = None
