"""The run folder's on-disk format, read back: ``MANIFEST.sha256``, write intents, and :func:`verify_tree`.

:mod:`phase4gate.adapters.store` writes what this module reads (and re-exports its
names): the manifest (one ``<sha256>  <path>`` line per file, ``sha256sum`` format),
the write intents in the run folder (``.intent-<path key>-<sha256>``, the file's first
name; or, from before issue 23, a small file holding ``<sha256>  <path>``) and the
sealed journal heads (``journal-heads/<N>.sha256``).  :func:`verify_tree` recomputes
every hash and reports altered, missing, extra, refused (symlinks, paths outside the
run folder), re-moded and interrupted writes, and leftovers of killed writers.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Final

from attrs import field, frozen

from phase4gate.errors import EvidenceError

__all__ = [
    "HEADS_DIR",
    "JOURNAL_NAME",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "Manifest",
    "VerifyResult",
    "intent_name",
    "load_manifest",
    "parse_manifest",
    "path_refusal",
    "read_manifest",
    "sha256_file",
    "verify_tree",
]

MANIFEST_NAME: Final = "MANIFEST.sha256"
JOURNAL_NAME: Final = "journal.jsonl"
LOCK_NAME: Final = ".phase4gate.lock"
_TMP_PREFIX: Final = ".tmp-"
# Files the store manages itself and that the manifest does not list.
_UNLISTED: Final = frozenset({MANIFEST_NAME, JOURNAL_NAME, LOCK_NAME})
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
_INTENT_PREFIX: Final = ".intent-"
# An intent is the file itself under ``.intent-<sha256 of its path, 16 hex>-<sha256 of its bytes>``; an
# intent written before issue 23 is a small file holding ``<sha256>  <path>`` (both are read).
_INTENT_RE = re.compile(r"^\.intent-(?P<key>[0-9a-f]{16})-(?P<digest>[0-9a-f]{64})$")
HEADS_DIR: Final = "journal-heads"
_HEAD_FILE_RE = re.compile(r"^journal-heads/(?P<n>[1-9][0-9]*)\.sha256$")
_HEAD_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of the file at *path*, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _path_key(posix: str) -> str:
    """The key an intent's name records for evidence path *posix* (the path itself may be too long for a name)."""
    return hashlib.sha256(posix.encode("utf-8")).hexdigest()[:16]


def intent_name(posix: str, digest: str) -> str:
    """Return the name of the intent of writing *digest* to *posix*: ``.intent-<path key>-<sha256>``."""
    return f"{_INTENT_PREFIX}{_path_key(posix)}-{digest}"


@frozen
class Manifest:
    """A parsed ``MANIFEST.sha256``: files, pending intents, sealed journal heads, and bad lines."""

    entries: dict[str, str]
    # Path -> digest of every write that recorded its intent (the old way: a file naming both) but never
    # reached the manifest.
    intents: dict[str, str]
    # (number of journal lines, head digest, number of entries up to and including the seal), in order.
    heads: tuple[tuple[int, str, int], ...]
    problems: tuple[str, ...]
    # Path key -> the digests of every intent named ``.intent-<key>-<digest>`` (:func:`intent_name`);
    # two writes of one path killed at different points leave two.
    keyed_intents: dict[str, set[str]] = field(factory=dict)

    def covers(self, rel: str, digest: str) -> bool:
        """Whether an intent recorded writing *digest* to *rel*."""
        return self.intents.get(rel) == digest or digest in self.keyed_intents.get(_path_key(rel), set())

    @property
    def sealed(self) -> tuple[int, str, int] | None:
        """The last journal head sealed, if any."""
        return self.heads[-1] if self.heads else None

    def entries_before(self, count: int) -> dict[str, str]:
        """The first *count* file entries (what a projection listed)."""
        return dict(list(self.entries.items())[:count])


def parse_manifest(data: bytes, *, source: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Parse manifest bytes into ``{path: sha256}``; every malformed line is a problem naming its line number."""
    entries: dict[str, str] = {}
    problems: list[str] = []
    for n, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{source}: line {n}: not UTF-8 (byte {exc.start + 1} of the line)")
            continue
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        if not sep or not _HEX64_RE.match(digest) or not rel:
            problems.append(f"{source}: line {n}: expected '<sha256>  <path>'")
            continue
        entries[rel] = digest
    return entries, tuple(problems)


def _read_small(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        return path.read_bytes()[:4096].decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def load_manifest(root: Path) -> Manifest:
    """Read ``root/MANIFEST.sha256``, the pending intents and the sealed heads (empty when there is none).

    Raises:
        EvidenceError: the manifest exists but cannot be read (a directory, no permission).
    """
    path = root / MANIFEST_NAME
    try:
        entries, problems = parse_manifest(path.read_bytes(), source=str(path))
    except FileNotFoundError:
        entries, problems = {}, ()
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror}"
        raise EvidenceError(msg, path=str(path)) from None
    intents: dict[str, str] = {}
    keyed: dict[str, set[str]] = {}
    for p in sorted(root.glob(f"{_INTENT_PREFIX}*")):
        m = _INTENT_RE.match(p.name)
        if m is not None:
            keyed.setdefault(m["key"], set()).add(m["digest"])
            continue
        text = _read_small(p) or ""
        digest, sep, rel = text.rstrip("\n").partition("  ")
        if sep and _HEX64_RE.match(digest) and rel not in entries:
            intents[rel] = digest
    heads: list[tuple[int, str, int]] = []
    for i, rel in enumerate(entries, 1):
        m = _HEAD_FILE_RE.match(rel)
        if m:
            head = (_read_small(root / rel) or "").strip()
            heads.append((int(m.group("n")), head if _HEAD_RE.match(head) else "", i))
    return Manifest(entries, intents, tuple(heads), problems, keyed_intents=keyed)


def read_manifest(root: Path) -> dict[str, str]:
    """Return ``{relative path: sha256}`` from ``root/MANIFEST.sha256`` (records and bad lines left out)."""
    return load_manifest(root).entries


@frozen
class VerifyResult:
    """What :func:`verify_tree` found."""

    checked: int
    altered: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    stale_temp: tuple[str, ...]
    # Symlinks and paths outside the run folder: never followed nor hashed.
    refused: tuple[str, ...] = ()
    # Write-once files whose mode is no longer 0444.
    mode_changed: tuple[str, ...] = ()
    # Complete files whose manifest line was never written, but whose intent was (not a failure).
    interrupted: tuple[str, ...] = ()
    # Malformed manifest lines.
    manifest_problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every listed file is present and unaltered and nothing unlisted exists."""
        return not (
            self.altered or self.missing or self.extra or self.refused or self.mode_changed or self.manifest_problems
        )


def path_refusal(root: Path, rel: str) -> str | None:
    """Return why *rel* may not be followed under *root*, or ``None`` when it is a plain path inside."""
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return f"{rel}: path outside the run folder (refused, not hashed)"
    cur = root
    for part in p.parts:
        cur /= part
        if cur.is_symlink():
            return f"{rel}: {cur.relative_to(root).as_posix()} is a symlink (refused, not followed)"
    return None


def verify_tree(root: Path) -> VerifyResult:
    """Recompute every hash listed in *root*'s manifest; report altered, missing, extra and refused files.

    Raises:
        EvidenceError: *root* is not a folder or the manifest cannot be read.
    """
    if not root.is_dir():
        msg = f"not an evidence folder: {root}"
        raise EvidenceError(msg, path=str(root))
    if not (root / MANIFEST_NAME).exists() and not (root / JOURNAL_NAME).exists():
        msg = f"no {MANIFEST_NAME} in {root}"
        raise EvidenceError(msg, path=str(root), hint="is it a run folder? `phase4gate status --list` lists them")
    if (root / MANIFEST_NAME).is_dir():
        manifest = Manifest({}, {}, (), (f"{root / MANIFEST_NAME}: is a directory, not a manifest",))
    elif (root / MANIFEST_NAME).is_symlink():
        manifest = Manifest({}, {}, (), (f"{MANIFEST_NAME}: a symlink (refused, not followed)",))
    else:
        manifest = load_manifest(root)
    listed = manifest.entries
    if not (root / MANIFEST_NAME).exists():
        problems: tuple[str, ...] = (f"{root / MANIFEST_NAME}: missing (no evidence file can be vouched for)",)
    else:
        problems = manifest.problems
    altered: list[str] = []
    missing: list[str] = []
    refused: list[str] = []
    modes: list[str] = []
    # (path key, digest) of the intents whose write is accounted for: listed, or an interrupted write.
    done = {(_path_key(rel), digest) for rel, digest in listed.items()}
    for rel, digest in sorted(listed.items()):
        why = path_refusal(root, rel)
        if why is not None:
            refused.append(why)
            continue
        p = root / rel
        if not p.is_file():
            missing.append(rel)
            continue
        if sha256_file(p) != digest:
            altered.append(rel)
        mode = stat.S_IMODE(p.lstat().st_mode)
        if mode != 0o444:
            modes.append(f"{rel}: mode {mode:04o}, written 0444 (write-once files are read-only)")
    extra: list[str] = []
    stale: list[str] = []
    interrupted: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in sorted(dirnames):
            if (here / name).is_symlink():
                rel = (here / name).relative_to(root).as_posix()
                refused.append(f"{rel}: a folder replaced by a symlink (refused, not followed)")
        for name in sorted(filenames):
            p = here / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink() and rel in listed:
                continue  # already refused above
            if p.is_symlink():
                refused.append(f"{rel}: a symlink (refused, not followed)")
            elif name.startswith(_TMP_PREFIX):
                stale.append(rel)
            elif (
                rel in listed
                or rel in _UNLISTED
                or name == LOCK_NAME
                or (here == root and name.startswith(_INTENT_PREFIX))
            ):
                continue
            else:
                digest = sha256_file(p)
                if manifest.covers(rel, digest):
                    interrupted.append(rel)
                    done.add((_path_key(rel), digest))
                else:
                    extra.append(rel)
    # An intent whose write got neither its name nor its manifest line: a writer killed before the link.
    stale.extend(
        f"{_INTENT_PREFIX}{key}-{digest}"
        for key in sorted(manifest.keyed_intents)
        for digest in sorted(manifest.keyed_intents[key])
        if (key, digest) not in done
    )
    return VerifyResult(
        len(listed),
        tuple(altered),
        tuple(missing),
        tuple(sorted(extra)),
        tuple(sorted(stale)),
        tuple(dict.fromkeys(refused)),
        tuple(modes),
        tuple(sorted(interrupted)),
        problems,
    )
