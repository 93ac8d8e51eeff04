"""WP06: a reproducible ``tar.gz`` of an attempt folder, kept write-once in the evidence store.

The same evidence gives the same bytes: entries sorted by path, every mtime,
uid, gid, owner and group name fixed, modes normalised (0755 folders, 0644
files), PAX format, and a gzip header with mtime 0 and no file name.  Symlinks,
devices and the store's own temp and lock files are not evidence and are refused
or left out.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

from attrs import frozen

from phase4gate.adapters.store import LOCK_NAME, sha256_bytes
from phase4gate.errors import EvidenceError

if TYPE_CHECKING:
    from phase4gate.adapters.store import EvidenceStore
    from phase4gate.models import EvidenceRef

__all__ = ["BUNDLE_MTIME", "Bundle", "bundle_bytes", "write_bundle"]

# 2000-01-01T00:00:00Z: a fixed, plausible mtime for every entry.
BUNDLE_MTIME: Final = 946_684_800
_DIR_MODE: Final = 0o755
_FILE_MODE: Final = 0o644
_SKIPPED_PREFIX: Final = ".tmp-"


@frozen
class Bundle:
    """A bundle written to the store: its path relative to the run folder, sha256 and size."""

    path: str
    sha256: str
    size: int
    members: int
    ref: EvidenceRef | None = None


def _info(name: str, *, is_dir: bool, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = _DIR_MODE if is_dir else _FILE_MODE
    info.mtime = BUNDLE_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.size = size
    return info


def _entries(folder: Path) -> list[Path]:
    out: list[Path] = []
    for p in folder.rglob("*"):
        if p.name.startswith(_SKIPPED_PREFIX) or p.name == LOCK_NAME:
            continue
        if p.is_symlink() or not (p.is_dir() or p.is_file()):
            msg = f"{p} is not a regular file or folder; evidence bundles hold only files"
            raise EvidenceError(msg, path=str(p))
        out.append(p)
    return sorted(out, key=lambda p: p.relative_to(folder).as_posix())


def bundle_bytes(folder: Path, *, arcname: str | None = None) -> tuple[bytes, int]:
    """Return the reproducible ``tar.gz`` of *folder* (entries under *arcname*) and its member count.

    Raises:
        EvidenceError: *folder* is missing, empty, or holds a symlink or special file.
    """
    if not folder.is_dir():
        msg = f"cannot bundle {folder}: not a folder"
        raise EvidenceError(msg, path=str(folder))
    root = arcname or folder.name
    entries = _entries(folder)
    if not any(p.is_file() for p in entries):
        msg = f"cannot bundle {folder}: it holds no evidence files"
        raise EvidenceError(msg, path=str(folder))
    raw = io.BytesIO()
    try:
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            tar.addfile(_info(root, is_dir=True))
            for p in entries:
                name = f"{root}/{p.relative_to(folder).as_posix()}"
                if p.is_dir():
                    tar.addfile(_info(name, is_dir=True))
                else:
                    data = p.read_bytes()
                    tar.addfile(_info(name, is_dir=False, size=len(data)), io.BytesIO(data))
    except OSError as exc:
        msg = f"cannot bundle {folder}: {exc.strerror or exc}"
        raise EvidenceError(msg, path=str(folder)) from None
    return raw.getvalue(), len(entries) + 1


def write_bundle(store: EvidenceStore, attempt_dir: str, dest: str, *, write: bool = True) -> Bundle:
    """Bundle ``store.root/attempt_dir`` and write it write-once to *dest* (relative to the run folder).

    With *write* false (dry run) the bytes are built and hashed but nothing is written.

    Raises:
        EvidenceError: the folder cannot be bundled, or *dest* exists already.
    """
    data, members = bundle_bytes(store.path(attempt_dir), arcname=Path(attempt_dir).name)
    if not write:
        return Bundle(path=dest, sha256=sha256_bytes(data), size=len(data), members=members)
    ref = store.write_bytes(dest, data)
    return Bundle(path=ref.path, sha256=ref.sha256, size=len(data), members=members, ref=ref)
