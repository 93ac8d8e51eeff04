"""The write-once evidence store.

Every file is written to a temp file in its target directory, fsync'd, then
``os.link``-ed to its final name, which fails if the name exists: nothing is
ever replaced, truncated or half-written (a killed writer leaves at most a
``.tmp-*`` file, never a partial final file).  The directory is fsync'd and the
file made read-only (0444).  A :class:`filelock.FileLock` in the run folder
serialises writers, journal appends and manifest updates, so two gates on one
machine cannot interleave.

``MANIFEST.sha256`` (``sha256sum`` format) lists every file written through the
store; :func:`verify_tree` recomputes it and reports altered, missing and
extra files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Final

import filelock
from attrs import frozen

from phase4gate.errors import EvidenceError, EvidenceExistsError
from phase4gate.models import EvidenceRef

__all__ = [
    "JOURNAL_NAME",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "EvidenceStore",
    "VerifyResult",
    "read_manifest",
    "replace_projection",
    "reserve_attempt",
    "sha256_bytes",
    "sha256_file",
    "verify_tree",
]

MANIFEST_NAME: Final = "MANIFEST.sha256"
JOURNAL_NAME: Final = "journal.jsonl"
LOCK_NAME: Final = ".phase4gate.lock"
_TMP_PREFIX: Final = ".tmp-"
# Files the store manages itself and that the manifest does not list.
_UNLISTED: Final = frozenset({MANIFEST_NAME, JOURNAL_NAME, LOCK_NAME})
_ATTEMPT_RE = re.compile(r"^(?P<tag>.+)-attempt(?P<n>[0-9]+)$")


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of *data*."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of the file at *path*, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_rel(rel: str, *, seal: bool = False) -> PurePosixPath:
    p = PurePosixPath(rel)
    reserved = p.name in {JOURNAL_NAME, LOCK_NAME} or (p.name == MANIFEST_NAME and (len(p.parts) == 1 or not seal))
    if not rel or p.is_absolute() or ".." in p.parts or reserved or p.name.startswith(_TMP_PREFIX):
        msg = f"evidence path must be relative, inside the run folder and not reserved, got {rel!r}"
        raise EvidenceError(msg, path=rel)
    return p


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

    def __repr__(self) -> str:
        return f"EvidenceStore({str(self.root)!r})"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run folder's lock (re-entrant within one process)."""
        try:
            with self._lock:
                yield
        except filelock.Timeout:
            msg = f"could not lock the evidence folder within {self._lock_timeout:.0f}s"
            raise EvidenceError(msg, path=str(self.root), hint="another gate is writing here") from None

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
            return self._write(f"{prefix}{MANIFEST_NAME}", text.encode("utf-8"), seal=True)

    def write_bytes(self, rel: str, data: bytes) -> EvidenceRef:
        """Write *data* to *rel* once; return its reference.

        Raises:
            EvidenceExistsError: *rel* exists already (it is never replaced).
            EvidenceError: the file could not be written.
        """
        return self._write(rel, data)

    def _write(self, rel: str, data: bytes, *, seal: bool = False) -> EvidenceRef:
        target = self.root.joinpath(*_check_rel(rel, seal=seal).parts)
        digest = sha256_bytes(data)
        with self.locked():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.parent / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    msg = f"evidence file exists and is never overwritten: {rel}"
                    raise EvidenceExistsError(msg, path=str(target)) from None
                os.chmod(target, 0o444)
                _fsync_dir(target.parent)
            except OSError as exc:
                if isinstance(exc, EvidenceError):
                    raise
                msg = f"cannot write evidence {rel}: {exc.strerror}"
                raise EvidenceError(msg, path=str(target)) from None
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            self._append(MANIFEST_NAME, f"{digest}  {PurePosixPath(rel).as_posix()}\n")
        return EvidenceRef(path=PurePosixPath(rel).as_posix(), sha256=digest)

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

    def append_journal(self, line: str) -> None:
        """Append one line to the journal and fsync it."""
        if "\n" in line:
            msg = "a journal entry is one line"
            raise EvidenceError(msg, path=str(self.root / JOURNAL_NAME))
        with self.locked():
            self._append(JOURNAL_NAME, line + "\n")

    def read_journal(self) -> list[str]:
        """Return the journal's lines (empty when there is none)."""
        path = self.root / JOURNAL_NAME
        if not path.exists():
            return []
        return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]

    def _append(self, name: str, text: str) -> None:
        path = self.root / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, text.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            msg = f"cannot append to {name}: {exc.strerror}"
            raise EvidenceError(msg, path=str(path)) from None


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


def read_manifest(root: Path) -> dict[str, str]:
    """Return ``{relative path: sha256}`` from ``root/MANIFEST.sha256``."""
    path = root / MANIFEST_NAME
    entries: dict[str, str] = {}
    if not path.exists():
        return entries
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        digest, _, rel = line.partition("  ")
        entries[rel] = digest
    return entries


@frozen
class VerifyResult:
    """What :func:`verify_tree` found."""

    checked: int
    altered: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    stale_temp: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every listed file is present and unaltered and nothing unlisted exists."""
        return not (self.altered or self.missing or self.extra)


def verify_tree(root: Path) -> VerifyResult:
    """Recompute every hash listed in *root*'s manifest; report altered, missing and extra files.

    Raises:
        EvidenceError: *root* is not a folder or has no manifest.
    """
    if not root.is_dir():
        msg = f"not an evidence folder: {root}"
        raise EvidenceError(msg, path=str(root))
    if not (root / MANIFEST_NAME).exists():
        msg = f"no {MANIFEST_NAME} in {root}"
        raise EvidenceError(msg, path=str(root))
    listed = read_manifest(root)
    altered: list[str] = []
    missing: list[str] = []
    for rel, digest in sorted(listed.items()):
        p = root / rel
        if not p.is_file():
            missing.append(rel)
        elif sha256_file(p) != digest:
            altered.append(rel)
    extra: list[str] = []
    stale: list[str] = []
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(root).as_posix()
        if p.name.startswith(_TMP_PREFIX):
            stale.append(rel)
        elif rel not in listed and rel not in _UNLISTED and p.name != LOCK_NAME:
            extra.append(rel)
    return VerifyResult(len(listed), tuple(altered), tuple(missing), tuple(extra), tuple(stale))


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
