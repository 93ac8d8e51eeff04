"""The write-once evidence store.

Every file is first written under its intent's name in the run folder, made
read-only (0444), fsync'd, then ``os.link``-ed to its final name, which fails
if the name exists: nothing is ever replaced, truncated or half-written (a
killed writer leaves at most an intent, never a partial final file).
A :class:`filelock.FileLock` in the run folder serialises writers, journal
appends and manifest updates, so two gates on one machine cannot interleave;
the threads of one process (WP02 beside WP03) queue on an in-process lock
before it, so none waits out filelock's poll interval behind another.

Durability is batched (issue 23): each file is fsync'd (under its intent's
name) before the link, but the directories' entries and the manifest lines of the
files written since the last journal line are fsync'd once, by
:meth:`EvidenceStore.flush`, which runs before every journal line is appended
(and after :meth:`EvidenceStore.seal` and :meth:`EvidenceStore.seal_head`;
``child`` lines, which name no evidence, neither flush nor sync).  So
a journal line (a ``wp-result`` naming evidence, say) is never on disk before
the evidence it follows; a power loss before that flush can lose the names of
files no line refers to yet, which a resume writes again.  A killed process
loses nothing: everything was written before the call returned.

``MANIFEST.sha256`` lists every file written through the store, one
``<sha256>  <path>`` line each (``sha256sum`` format).  Before a file is linked its
intent (path and digest) is written to a ``.intent-*`` file, removed once the
manifest lists it, so a writer killed between the link and the manifest line leaves
a file :func:`verify_tree` can tell from a planted one.  The intent is the file's
first name, ``.intent-<sha256 of its path, 16 hex>-<sha256 of its bytes>`` (one
file, one fsync, one link per write); an intent left by an older phase4gate, a
small file holding ``<sha256>  <path>``, is read too.  ``journal-heads/<N>.sha256``
(write-once evidence, so listed and sealed like any file) records the head digest of
the journal prefix a projection (report, attestation) was made from.  Appends to the
manifest and the journal are whole lines or nothing: a short write is detected and
the file is truncated back before the error is raised.  :func:`verify_tree`
recomputes every hash and reports altered, missing, extra, refused (symlinks, paths
outside the run folder) and re-moded files.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Final

import filelock
from attrs import define

from phase4gate.adapters.manifest import (
    _INTENT_PREFIX,
    _INTENT_RE,
    _TMP_PREFIX,
    HEADS_DIR,
    JOURNAL_NAME,
    LOCK_NAME,
    MANIFEST_NAME,
    Manifest,
    VerifyResult,
    _path_key,
    _read_small,
    intent_name,
    load_manifest,
    parse_manifest,
    path_refusal,
    read_manifest,
    sha256_file,
    verify_tree,
)
from phase4gate.errors import EvidenceError, EvidenceExistsError
from phase4gate.models import EvidenceRef

__all__ = [
    "JOURNAL_NAME",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "EvidenceStore",
    "Manifest",
    "VerifyResult",
    "load_manifest",
    "parse_manifest",
    "path_refusal",
    "read_manifest",
    "replace_projection",
    "reserve_attempt",
    "sha256_bytes",
    "sha256_file",
    "verify_tree",
]

_ATTEMPT_RE = re.compile(r"^(?P<tag>.+)-attempt(?P<n>[0-9]+)$")
# Where a torn journal tail is moved when the journal is next appended to.
TORN_PREFIX: Final = "journal-torn-"


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of *data*."""
    return hashlib.sha256(data).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Journal lines that matter only while this machine is up: a child process a power loss ends anyway.  They
# are appended without a flush or an fsync (a killed gate loses nothing written); the next other line syncs them.
_VOLATILE_EVENTS: Final = frozenset({"child"})
# An append to a file that exists needs its data and size on disk, not its mtime: fdatasync where there is one.
_datasync = getattr(os, "fdatasync", os.fsync)


class _Pending:
    """What was written to one run folder since its last flush: folders to fsync, the manifest, intents to drop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # The threads of this process (WP02 beside WP03) queue here for the run folder; only the holder
        # takes the file lock, so a thread never waits out filelock's poll interval behind another one.
        self.writers = threading.RLock()
        self.dirs: set[Path] = set()
        self.manifest = False
        # Intents of files whose manifest line is written but not yet fsync'd: removed after it is.
        self.intents: list[Path] = []
        # Whether intents a killed writer left behind (their manifest lines written) were looked for.
        self.swept = False


# Per run folder (resolved), shared by every store of this process on it: any store's flush covers them all.
_PENDING: dict[Path, _Pending] = {}
_PENDING_LOCK = threading.Lock()


def _pending_for(root: Path) -> _Pending:
    key = root.resolve()
    with _PENDING_LOCK:
        return _PENDING.setdefault(key, _Pending())


def _check_rel(rel: str, *, seal: bool = False) -> PurePosixPath:
    p = PurePosixPath(rel)
    reserved = p.name in {JOURNAL_NAME, LOCK_NAME} or (p.name == MANIFEST_NAME and (len(p.parts) == 1 or not seal))
    if not rel or p.is_absolute() or ".." in p.parts or reserved or p.name.startswith(_TMP_PREFIX):
        msg = f"evidence path must be relative, inside the run folder and not reserved, got {rel!r}"
        raise EvidenceError(msg, path=rel)
    return p


# At most this many fsyncs of one write_many batch run side by side.
_SYNC_THREADS: Final = 8


@define
class _Staged:
    """One write between its intent and its name: the intent's fd is open until :meth:`sync` or :meth:`abort`."""

    rel: str
    posix: str
    digest: str
    target: Path
    intent: Path
    made: list[Path]
    _fd: int | None

    def sync(self) -> None:
        """Make the intent's bytes durable (fsync) and close it.

        Raises:
            EvidenceError: the fsync failed (the intent is left for :meth:`abort`).
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.fsync(fd)
        except OSError as exc:
            msg = f"cannot write evidence {self.rel}: {exc.strerror}"
            raise EvidenceError(msg, path=str(self.target)) from None
        finally:
            os.close(fd)

    def abort(self) -> None:
        """Close the intent if open and remove it: this write never gets its name."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            self.intent.unlink()


class EvidenceStore:
    """Write-once files under one run folder, with a manifest and a journal."""

    def __init__(self, root: Path, *, lock_timeout: float = 120.0) -> None:
        self.root = root
        self._lock_timeout = lock_timeout
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create evidence folder: {exc.strerror}"
            raise EvidenceError(msg, path=str(root)) from None
        self._lock = filelock.FileLock(str(root / LOCK_NAME), timeout=lock_timeout)
        # (journal size, head digest) after this store's last append: skips re-reading the journal.
        self._head_cache: tuple[int, str] | None = None
        self._pending = _pending_for(root)

    def __repr__(self) -> str:
        return f"EvidenceStore({str(self.root)!r})"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run folder's lock (re-entrant within one thread).

        Threads of this process queue on an in-process lock first (no polling), then the
        holder takes the :class:`filelock.FileLock` that keeps other processes out; both
        waits together are bounded by the store's lock timeout.
        """
        busy = EvidenceError(
            f"could not lock the evidence folder within {self._lock_timeout:.0f}s",
            path=str(self.root),
            hint="another gate is writing here",
        )
        start = time.monotonic()
        # filelock's own meaning: a negative (or infinite) timeout waits for as long as it takes.
        forever = self._lock_timeout < 0 or math.isinf(self._lock_timeout)
        if not self._pending.writers.acquire(timeout=-1 if forever else self._lock_timeout):
            raise busy
        try:
            left = -1.0 if forever else max(0.0, self._lock_timeout - (time.monotonic() - start))
            try:
                self._lock.acquire(timeout=left)
            except filelock.Timeout:
                raise busy from None
            try:
                yield
            finally:
                self._lock.release()
        finally:
            self._pending.writers.release()

    def path(self, rel: str) -> Path:
        """Return the absolute path of *rel* inside the run folder."""
        return self.root.joinpath(*_check_rel(rel).parts)

    def exists(self, rel: str) -> bool:
        """Return whether *rel* has been written."""
        return self.path(rel).exists()

    def seal(self, subdir: str) -> EvidenceRef:
        """Write ``subdir/MANIFEST.sha256`` listing every file written under *subdir* so far.

        An attempt folder is sealed once it is complete; the seal is write-once too.
        """
        prefix = subdir.rstrip("/") + "/"
        with self.locked():
            entries = sorted((r[len(prefix) :], d) for r, d in read_manifest(self.root).items() if r.startswith(prefix))
            text = "".join(f"{d}  {r}\n" for r, d in entries)
            ref = self._write(f"{prefix}{MANIFEST_NAME}", text.encode("utf-8"), seal=True)
            self._flush_locked()
            return ref

    def write_bytes(self, rel: str, data: bytes) -> EvidenceRef:
        """Write *data* to *rel* once; return its reference.

        Raises:
            EvidenceExistsError: *rel* exists already (it is never replaced).
            EvidenceError: the file could not be written.
        """
        return self._write(rel, data)

    def _write(self, rel: str, data: bytes, *, seal: bool = False) -> EvidenceRef:
        with self.locked():
            staged = self._stage(rel, data, seal=seal)
            try:
                staged.sync()
            except BaseException:
                staged.abort()
                raise
            return self._commit(staged)

    def write_many(self, items: Sequence[tuple[str, bytes]]) -> list[EvidenceRef]:
        """Write each ``(rel, data)`` once, as :meth:`write_bytes` does, their fsyncs side by side.

        The files' fsyncs run in parallel threads, so one filesystem commit serves many
        (a proof's ten logs, issue 23); then each gets its name, in order.  On an error
        the files named before it stay written; the rest are not.

        Raises:
            EvidenceExistsError: a *rel* exists already or is given twice (nothing of the batch is written).
            EvidenceError: a file could not be written.
        """
        seen: set[str] = set()
        for rel, _ in items:
            posix = PurePosixPath(rel).as_posix()
            if posix in seen:
                msg = f"evidence file given twice in one batch: {rel}"
                raise EvidenceExistsError(msg, path=rel)
            seen.add(posix)
        with self.locked():
            staged: list[_Staged] = []
            try:
                for rel, data in items:
                    staged.append(self._stage(rel, data))
                if len(staged) > 1:
                    import concurrent.futures  # noqa: PLC0415 - only for a batch

                    with concurrent.futures.ThreadPoolExecutor(min(len(staged), _SYNC_THREADS)) as pool:
                        list(pool.map(_Staged.sync, staged))
                else:
                    for one in staged:
                        one.sync()
            except BaseException:
                for one in staged:
                    one.abort()
                raise
            refs: list[EvidenceRef] = []
            for n, one in enumerate(staged):
                try:
                    refs.append(self._commit(one))
                except BaseException:
                    for rest in staged[n + 1 :]:
                        rest.abort()
                    raise
            return refs

    def _stage(self, rel: str, data: bytes, *, seal: bool = False) -> _Staged:
        """Make *rel*'s intent (the file itself, not yet fsync'd nor named); the lock is held."""
        target = self.root.joinpath(*_check_rel(rel, seal=seal).parts)
        digest = sha256_bytes(data)
        posix = PurePosixPath(rel).as_posix()
        if os.path.lexists(target):
            msg = f"evidence file exists and is never overwritten: {rel}"
            raise EvidenceExistsError(msg, path=str(target))
        try:
            made = _make_dirs(target.parent, self.root)
        except OSError as exc:
            msg = f"cannot write evidence {rel}: {exc.strerror}"
            raise EvidenceError(msg, path=str(target)) from None
        # The intent is the file itself, made under a name that records its path (hashed) and
        # digest before the final name exists: a writer killed after the link leaves a file
        # verify can tell from a planted one.  One file, one fsync, one link (issue 23).
        intent = self.root / intent_name(posix, digest)
        try:
            fd = _create_intent(intent, target)
        except OSError as exc:
            msg = f"cannot write evidence {rel}: {exc.strerror}"
            raise EvidenceError(msg, path=str(target)) from None
        staged = _Staged(rel, posix, digest, target, intent, made, fd)
        try:
            _write_all(fd, data)
            # Read-only before it has its name: the final file is never writable, not even briefly.
            os.fchmod(fd, 0o444)
        except OSError as exc:
            staged.abort()
            msg = f"cannot write evidence {rel}: {exc.strerror}"
            raise EvidenceError(msg, path=str(target)) from None
        return staged

    def _commit(self, staged: _Staged) -> EvidenceRef:
        """Give a synced intent its final name and its manifest line; the lock is held."""
        try:
            os.link(staged.intent, staged.target)
        except OSError as exc:
            staged.abort()
            if isinstance(exc, FileExistsError):
                msg = f"evidence file exists and is never overwritten: {staged.rel}"
                raise EvidenceExistsError(msg, path=str(staged.target)) from None
            msg = f"cannot write evidence {staged.rel}: {exc.strerror}"
            raise EvidenceError(msg, path=str(staged.target)) from None
        # The link's directory entry and the manifest line reach the disk at the next flush
        # (before the next journal line): one fsync per directory and one of the manifest per batch.
        with self._pending.lock:
            self._pending.dirs.update(staged.made)
            self._pending.dirs.add(staged.target.parent)
        self._append(MANIFEST_NAME, f"{staged.digest}  {staged.posix}\n", sync=False)
        with self._pending.lock:
            self._pending.manifest = True
            # The intent stays until the manifest line is on disk (the flush removes it).
            self._pending.intents.append(staged.intent)
        return EvidenceRef(path=staged.posix, sha256=staged.digest)

    def flush(self) -> None:
        """Make every file written to this run folder so far durable: its directory entry and its manifest line.

        Runs by itself before each journal line and after each seal; call it before an
        outside effect that names evidence written since the last journal line.

        Raises:
            EvidenceError: a directory or the manifest could not be fsync'd (what was pending stays pending).
        """
        with self.locked():
            self._flush_locked()

    def _flush_locked(self) -> None:
        pending = self._pending
        with pending.lock:
            dirs, manifest, intents = sorted(pending.dirs), pending.manifest, pending.intents
            pending.dirs, pending.manifest, pending.intents = set(), False, []
            if not pending.swept:
                # Once per process: a writer killed after its manifest line leaves its intent behind.
                pending.swept = True
                left = _covered_intents(self.root)
                intents += [i for i in left if i not in intents]
                manifest = manifest or bool(left)
        try:
            # Folders first (the files' names), then the manifest (the lines naming them).
            for d in dirs:
                _fsync_dir(d)
            if manifest:
                fd = os.open(self.root / MANIFEST_NAME, os.O_RDONLY)
                try:
                    _datasync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            with pending.lock:
                pending.dirs.update(dirs)
                pending.manifest = pending.manifest or manifest
                pending.intents[:0] = intents
            msg = f"cannot make the evidence durable (fsync): {exc.strerror}"
            raise EvidenceError(msg, path=str(self.root), hint="free space or fix the disk, then resume") from None
        # Only now are the intents covered by durable manifest lines.
        for intent in intents:
            with contextlib.suppress(FileNotFoundError):
                intent.unlink()

    def write_text(self, rel: str, text: str) -> EvidenceRef:
        """Write UTF-8 *text* to *rel* once."""
        return self.write_bytes(rel, text.encode("utf-8"))

    def write_json(self, rel: str, obj: object) -> EvidenceRef:
        """Write *obj* as canonical JSON to *rel* once."""
        from phase4gate.convert import dump_json  # noqa: PLC0415 - keep cattrs lazy

        return self.write_bytes(rel, dump_json(obj))

    def copy_in(self, src: Path, rel: str) -> EvidenceRef:
        """Copy the file *src* into the store as *rel* (write-once).

        Raises:
            EvidenceError: *src* cannot be read.
        """
        try:
            data = src.read_bytes()
        except OSError as exc:
            msg = f"cannot read {src} to keep it as evidence: {exc.strerror}"
            raise EvidenceError(msg, path=str(src)) from None
        return self.write_bytes(rel, data)

    def copy_in_many(self, pairs: Sequence[tuple[Path, str]]) -> list[EvidenceRef]:
        """Copy each ``(src, rel)`` into the store (write-once), as one :meth:`write_many` batch.

        Raises:
            EvidenceError: a *src* cannot be read (nothing of the batch is written).
        """
        items: list[tuple[str, bytes]] = []
        for src, rel in pairs:
            try:
                items.append((rel, src.read_bytes()))
            except OSError as exc:
                msg = f"cannot read {src} to keep it as evidence: {exc.strerror}"
                raise EvidenceError(msg, path=str(src)) from None
        return self.write_many(items)

    # ----------------------------------------------------------------- journal

    def append_event(self, event: Mapping[str, object]) -> str:
        """Append *event* (JSON-shaped) to the journal, chained to the previous line; return its line.

        Whatever the caller put in ``prev`` is replaced: the store alone chains.  A torn
        last line left by a killed writer is first moved to ``journal-torn-<offset>.bin``
        (write-once evidence) and the journal truncated back to its last complete line.

        Raises:
            EvidenceError: the journal cannot be read or appended to (it is left as it was).
        """
        from phase4gate.journal import line_digest  # noqa: PLC0415

        path = self.root / JOURNAL_NAME
        with self.locked():
            lines_end, head = self._journal_head(path)
            line = json.dumps({**event, "prev": head}, sort_keys=True, ensure_ascii=False)
            if "\n" in line:  # pragma: no cover - json.dumps never emits a raw newline
                msg = "a journal entry is one line"
                raise EvidenceError(msg, path=str(path))
            volatile = event.get("event") in _VOLATILE_EVENTS
            if not volatile:
                # Everything written before this line is durable before the line is.
                self._flush_locked()
            self._append(JOURNAL_NAME, line + "\n", sync=not volatile)
            self._head_cache = (lines_end + len(line.encode("utf-8")) + 1, line_digest(line))
        return line

    def append_journal(self, line: str) -> None:
        """Append one JSON object line to the journal (chained like :meth:`append_event`).

        Raises:
            EvidenceError: *line* is not one JSON object, or the journal cannot be appended to.
        """
        path = self.root / JOURNAL_NAME
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            event = None
        if "\n" in line or not isinstance(event, dict):
            msg = "a journal entry is one line holding one JSON object"
            raise EvidenceError(msg, path=str(path))
        self.append_event(event)

    def _journal_head(self, path: Path) -> tuple[int, str]:
        """Return (size, head digest) of the journal, setting a torn tail aside first."""
        from phase4gate.journal import GENESIS, line_digest  # noqa: PLC0415

        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return 0, GENESIS
        except OSError as exc:
            msg = f"cannot read the journal: {exc.strerror}"
            raise EvidenceError(msg, path=str(path)) from None
        cached = self._head_cache
        if cached is not None and cached[0] == size:
            return cached
        try:
            data = path.read_bytes()
        except OSError as exc:
            msg = f"cannot read the journal: {exc.strerror}"
            raise EvidenceError(msg, path=str(path)) from None
        end = data.rfind(b"\n") + 1
        if end < len(data):
            self._set_aside_torn(path, end, data[end:])
        complete = data[:end].splitlines()
        last = next((ln for ln in reversed(complete) if ln.strip()), None)
        if last is None:
            return end, GENESIS
        try:
            return end, line_digest(last.decode("utf-8"))
        except UnicodeDecodeError:
            msg = "the journal's last line is not UTF-8; it cannot be chained to"
            raise EvidenceError(msg, path=str(path), hint="`phase4gate verify` says how it is damaged") from None

    def _set_aside_torn(self, path: Path, end: int, torn: bytes) -> None:
        import logging  # noqa: PLC0415

        rel = f"{TORN_PREFIX}{end}.bin"
        if not (self.root / rel).exists():
            self._write(rel, torn)
        self._flush_locked()  # the torn bytes are durable evidence before the journal is cut back
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.ftruncate(fd, end)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            msg = f"cannot set the journal's torn last line aside: {exc.strerror}"
            raise EvidenceError(msg, path=str(path)) from None
        logging.getLogger("phase4gate").warning(
            "%s: torn last line (%d bytes, an append that did not complete) moved to %s", path, len(torn), rel
        )

    def read_journal(self) -> list[str]:
        """Return the journal's complete lines (empty when there is none); a torn tail is left out.

        Raises:
            InputError: the journal is a directory or holds a non-UTF-8 line.
        """
        from phase4gate.journal import read_journal_file  # noqa: PLC0415

        return list(read_journal_file(self.root / JOURNAL_NAME).lines)

    def seal_head(self, lines: int, head: str) -> None:
        """Record (write-once, in the manifest) that a projection was made from the journal's first *lines* lines.

        Raises:
            EvidenceError: it cannot be written, or this prefix was sealed with another head.
        """
        rel = f"{HEADS_DIR}/{lines}.sha256"
        with self.locked():
            existing = self.root / rel
            if existing.is_file() and not existing.is_symlink() and existing.read_bytes() == f"{head}\n".encode():
                self._flush_locked()
                return
            self._write(rel, f"{head}\n".encode())
            self._flush_locked()  # a projection naming this head and the manifest up to it is written next

    def _append(self, name: str, text: str, *, sync: bool = True) -> None:
        """Append *text* whole, or leave the file as it was and raise; with *sync*, fdatasync it before returning."""
        path = self.root / name
        data = text.encode("utf-8")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            msg = f"cannot append to {name}: {exc.strerror}"
            raise EvidenceError(msg, path=str(path)) from None
        try:
            start = os.fstat(fd).st_size
            try:
                _write_all(fd, data)
                if sync:
                    _datasync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                    os.fsync(fd)
                msg = (
                    f"cannot append to {name}: {exc.strerror}; nothing of the entry was kept "
                    f"({name} is back to its last complete line)"
                )
                raise EvidenceError(
                    msg, path=str(path), hint="free space, then `phase4gate run --resume` continues the run"
                ) from None
        finally:
            os.close(fd)


def _covered_intents(root: Path) -> list[Path]:
    """Return the intents in *root* whose file the manifest lists with the same digest (their work is done)."""
    found = sorted(root.glob(f"{_INTENT_PREFIX}*"))
    if not found:
        return []
    try:
        entries, _ = parse_manifest((root / MANIFEST_NAME).read_bytes(), source=MANIFEST_NAME)
    except OSError:
        return []
    keyed = {_path_key(rel): digest for rel, digest in entries.items()}
    covered = []
    for p in found:
        m = _INTENT_RE.match(p.name)
        if m is not None:
            if keyed.get(m["key"]) == m["digest"]:
                covered.append(p)
            continue
        digest, sep, rel = (_read_small(p) or "").rstrip("\n").partition("  ")
        if sep and entries.get(rel) == digest:
            covered.append(p)
    return covered


def _make_dirs(directory: Path, root: Path) -> list[Path]:
    """Create *directory* and its missing parents; return the folders whose entries changed (to fsync).

    A new folder's name lives in its parent: the parent of each folder made here is returned.
    """
    missing: list[Path] = []
    cur = directory
    while cur != root and not cur.is_dir() and cur.parent != cur:
        missing.append(cur)
        cur = cur.parent
    if missing or (directory == root and not root.is_dir()):
        directory.mkdir(parents=True, exist_ok=True)
    return [d.parent for d in missing]


def _create_intent(intent: Path, target: Path) -> int:
    """Create *intent* (O_EXCL) and return its fd; one left by a writer killed before its link is replaced.

    The caller holds the lock and has seen that *target* does not exist, so an intent of
    the same name is stale: its write never got its final name.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        return os.open(intent, flags, 0o600)
    except FileExistsError:
        if os.path.lexists(target):  # pragma: no cover - the caller checked under the lock
            raise
        intent.unlink()
        return os.open(intent, flags, 0o600)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of *data* to *fd*, looping over short writes.

    Raises:
        OSError: a write failed or made no progress (ENOSPC).
    """
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def replace_projection(path: Path, text: str) -> None:
    """Atomically replace *path* with *text* (temp file, fsync, ``os.replace``).

    Only for projections of the journal (report, attestation), which are re-derived
    on every invocation; evidence goes through :class:`EvidenceStore` and is never replaced.

    Raises:
        EvidenceError: it could not be written.
    """
    import tempfile  # noqa: PLC0415

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{_TMP_PREFIX}projection-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        msg = f"cannot write {path.name}: {exc.strerror}"
        raise EvidenceError(msg, path=str(path)) from None


def reserve_attempt(evidence_root: Path, run_dir: Path, rc_tag: str) -> str:
    """Create ``run_dir/<rc_tag>-attempt<N>`` with N one more than any attempt of *rc_tag* so far.

    N is counted per RC across every gate run under *evidence_root*; a root-level
    lock makes two gates pick different N.  Earlier attempts are never touched.

    Returns:
        The folder's name, e.g. ``rc16-attempt2``.
    """
    evidence_root.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(evidence_root / LOCK_NAME), timeout=120)
    with lock:
        highest = 0
        for candidate in evidence_root.glob(f"*/{rc_tag}-attempt*"):
            m = _ATTEMPT_RE.match(candidate.name)
            if m and m.group("tag") == rc_tag and candidate.is_dir():
                highest = max(highest, int(m.group("n")))
        for candidate in evidence_root.glob(f"{rc_tag}-attempt*"):
            m = _ATTEMPT_RE.match(candidate.name)
            if m and m.group("tag") == rc_tag and candidate.is_dir():
                highest = max(highest, int(m.group("n")))
        name = f"{rc_tag}-attempt{highest + 1}"
        (run_dir / name).mkdir(parents=True, exist_ok=False)
        return name
