"""Evidence bundles are reproducible tar.gz files written once into the store."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from phase4gate.adapters.bundle import BUNDLE_MTIME, bundle_bytes, write_bundle
from phase4gate.adapters.store import EvidenceStore, sha256_bytes
from phase4gate.errors import EvidenceError, EvidenceExistsError


def _attempt(store: EvidenceStore, name: str = "rc16-attempt1") -> str:
    for n in (4, 2, 1, 3):  # written out of order on purpose
        store.write_text(f"{name}/runs/run-{n}.json", f'{{"outcome": "pass", "n": {n}}}\n')
    store.write_text(f"{name}/logs/runner.log", "ok\n")
    store.seal(name)
    return name


def test_same_evidence_gives_the_same_bytes(tmp_path: Path) -> None:
    """Two folders with the same files, written in different orders at different times: same bytes."""
    a = EvidenceStore(tmp_path / "a")
    b = EvidenceStore(tmp_path / "b")
    _attempt(a)
    for n in (1, 2, 3, 4):
        b.write_text(f"rc16-attempt1/runs/run-{n}.json", f'{{"outcome": "pass", "n": {n}}}\n')
    b.write_text("rc16-attempt1/logs/runner.log", "ok\n")
    b.seal("rc16-attempt1")
    os.utime(b.path("rc16-attempt1/logs/runner.log"), (1, 1))

    first = write_bundle(a, "rc16-attempt1", "wp06/1/rc16-attempt1.tar.gz")
    second = write_bundle(b, "rc16-attempt1", "wp06/1/rc16-attempt1.tar.gz")

    assert first.sha256 == second.sha256
    assert a.path(first.path).read_bytes() == b.path(second.path).read_bytes()
    assert first.sha256 == sha256_bytes(a.path(first.path).read_bytes())


def test_one_flipped_byte_changes_the_bundle(tmp_path: Path) -> None:
    a = EvidenceStore(tmp_path / "a")
    b = EvidenceStore(tmp_path / "b")
    a.write_text("rc16-attempt1/runs/run-1.json", '{"outcome": "pass"}\n')
    b.write_text("rc16-attempt1/runs/run-1.json", '{"outcome": "fail"}\n')

    assert bundle_bytes(a.path("rc16-attempt1"))[0] != bundle_bytes(b.path("rc16-attempt1"))[0]


def test_entries_are_sorted_with_fixed_metadata(tmp_path: Path) -> None:
    """Sorted names, fixed mtime/uid/gid/names/modes; gzip header mtime 0 and no file name."""
    store = EvidenceStore(tmp_path / "run")
    _attempt(store)
    (store.path("rc16-attempt1") / ".tmp-stale").write_text("half", encoding="utf-8")

    data, members = bundle_bytes(store.path("rc16-attempt1"))

    assert data[:4] == b"\x1f\x8b\x08\x00"  # magic, deflate, FLG 0: no FNAME
    assert data[4:8] == b"\x00\x00\x00\x00"  # MTIME 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        infos = tar.getmembers()
    names = [i.name for i in infos]
    assert names == sorted(names)
    assert names[0] == "rc16-attempt1"
    assert "rc16-attempt1/runs/run-1.json" in names
    assert "rc16-attempt1/MANIFEST.sha256" in names
    assert not any(".tmp-" in n for n in names)
    assert members == len(infos)
    for info in infos:
        assert (info.mtime, info.uid, info.gid, info.uname, info.gname) == (BUNDLE_MTIME, 0, 0, "root", "root")
        assert info.mode == (0o755 if info.isdir() else 0o644)
    with gzip.open(io.BytesIO(data)) as gz:
        assert len(gz.read()) % 512 == 0


def test_bundle_is_write_once(tmp_path: Path) -> None:
    """The bundle goes through the store: listed in the manifest, never replaced."""
    store = EvidenceStore(tmp_path / "run")
    _attempt(store)
    bundle = write_bundle(store, "rc16-attempt1", "wp06/1/rc16-attempt1.tar.gz")

    assert bundle.ref is not None
    assert f"{bundle.sha256}  wp06/1/rc16-attempt1.tar.gz" in (store.root / "MANIFEST.sha256").read_text(
        encoding="utf-8"
    )
    with pytest.raises(EvidenceExistsError):
        write_bundle(store, "rc16-attempt1", "wp06/1/rc16-attempt1.tar.gz")


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "run")
    _attempt(store)
    bundle = write_bundle(store, "rc16-attempt1", "wp06/1/b.tar.gz", write=False)

    assert bundle.ref is None
    assert len(bundle.sha256) == 64
    assert not store.exists("wp06/1/b.tar.gz")


def test_missing_or_empty_folder_is_refused(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "run")
    with pytest.raises(EvidenceError, match="not a folder"):
        write_bundle(store, "rc16-attempt1", "b.tar.gz")
    store.path("rc16-attempt2").mkdir()
    with pytest.raises(EvidenceError, match="holds no evidence files"):
        write_bundle(store, "rc16-attempt2", "b.tar.gz")


def test_symlink_is_refused(tmp_path: Path) -> None:
    """A symlink could point anywhere: the bundle holds only files, and names the offender."""
    store = EvidenceStore(tmp_path / "run")
    _attempt(store)
    link = store.path("rc16-attempt1") / "escape"
    link.symlink_to(tmp_path)
    with pytest.raises(EvidenceError, match="escape"):
        write_bundle(store, "rc16-attempt1", "b.tar.gz")


def test_special_file_is_refused(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "run")
    _attempt(store)
    os.mkfifo(store.path("rc16-attempt1") / "pipe")
    with pytest.raises(EvidenceError, match="pipe is not a regular file"):
        bundle_bytes(store.path("rc16-attempt1"))
