"""The write-once evidence store and verify."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from phase4gate.adapters.store import (
    MANIFEST_NAME,
    EvidenceStore,
    read_manifest,
    reserve_attempt,
    sha256_bytes,
    verify_tree,
)
from phase4gate.errors import EvidenceError, EvidenceExistsError
from phase4gate.verify import verify_run


def test_write_once_and_read_only(tmp_path: Path) -> None:
    """A file is written once, read-only, listed in the manifest with its sha256."""
    store = EvidenceStore(tmp_path / "run")
    ref = store.write_text("wp03/1/health.json", '{"status": "ok"}\n')
    path = store.path("wp03/1/health.json")
    assert ref.sha256 == sha256_bytes(b'{"status": "ok"}\n')
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert read_manifest(store.root) == {"wp03/1/health.json": ref.sha256}
    with pytest.raises(EvidenceExistsError, match="never overwritten: wp03/1/health.json"):
        store.write_text("wp03/1/health.json", "different")
    assert path.read_text() == '{"status": "ok"}\n'
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("rel", ["/etc/passwd", "../escape.txt", "a/../../b", "journal.jsonl", MANIFEST_NAME, ""])
def test_paths_outside_or_reserved_are_refused(tmp_path: Path, rel: str) -> None:
    """Absolute, escaping and reserved names are refused before anything is written."""
    store = EvidenceStore(tmp_path / "run")
    with pytest.raises(EvidenceError, match="evidence path must be relative"):
        store.write_text(rel, "x")


def test_verify_reports_altered_missing_extra(tmp_path: Path) -> None:
    """verify finds exactly the altered, missing and extra files."""
    store = EvidenceStore(tmp_path / "run")
    store.write_text("a.txt", "a")
    store.write_text("b/b.txt", "b")
    store.write_text("c.txt", "c")
    os.chmod(store.path("a.txt"), 0o644)
    store.path("a.txt").write_text("A")
    os.chmod(store.path("c.txt"), 0o644)
    store.path("c.txt").unlink()
    (store.root / "planted.txt").write_text("x")
    result = verify_tree(store.root)
    assert (result.altered, result.missing, result.extra) == (("a.txt",), ("c.txt",), ("planted.txt",))
    assert not result.ok


def test_seal_and_verify_run(tmp_path: Path) -> None:
    """A sealed attempt folder's manifest is checked by verify too."""
    store = EvidenceStore(tmp_path / "run")
    store.write_text("rc16-attempt1/runs/run-1.json", "{}")
    store.append_journal('{"event": "gate-start", "run_id": "r", "time": "2026-05-20T10:00:00+00:00"}')
    seal = store.seal("rc16-attempt1")
    assert seal.path == "rc16-attempt1/MANIFEST.sha256"
    # verify requires the projections (issue 19): write them as a finished invocation does.
    from phase4gate.attest import write_statement
    from phase4gate.gate import report_from_journal, write_report_files

    report = report_from_journal(store.read_journal())
    write_report_files(store.root, report)
    write_statement(store.root, report, environ={})
    findings = verify_run(store.root)
    assert findings.ok, findings.render()
    target = store.path("rc16-attempt1/runs/run-1.json")
    os.chmod(target, 0o644)
    target.write_text('{"outcome": "pass"}')
    findings = verify_run(store.root)
    assert not findings.ok
    assert findings.tree.altered == ("rc16-attempt1/runs/run-1.json",)
    assert findings.sealed_mismatches == ("rc16-attempt1/runs/run-1.json: differs from rc16-attempt1/MANIFEST.sha256",)
    assert "NOT intact" in findings.render()


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    """Two threads racing for the same name: exactly one wins, the manifest lists it once."""
    store = EvidenceStore(tmp_path / "run")
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            store.write_bytes("race.txt", bytes([i]) * 1000)
        except EvidenceExistsError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 7
    assert list(read_manifest(store.root)) == ["race.txt"]
    assert verify_tree(store.root).ok


def test_reserve_attempt_counts_per_rc_across_runs(tmp_path: Path) -> None:
    """Attempt N counts per RC across gate runs; other RCs do not count."""
    root = tmp_path / "evidence"
    (root / "old-run" / "rc15-attempt1").mkdir(parents=True)
    (root / "old-run" / "rc16-attempt1").mkdir(parents=True)
    run = root / "new-run"
    run.mkdir()
    assert reserve_attempt(root, run, "rc16") == "rc16-attempt2"
    assert reserve_attempt(root, run, "rc16") == "rc16-attempt3"
    assert reserve_attempt(root, run, "rc17") == "rc17-attempt1"
    assert (root / "old-run" / "rc15-attempt1").is_dir()


def test_copy_in_missing_source(tmp_path: Path) -> None:
    """Copying a file that does not exist names it."""
    store = EvidenceStore(tmp_path / "run")
    with pytest.raises(EvidenceError, match="cannot read .*nope.json"):
        store.copy_in(tmp_path / "nope.json", "x.json")


def test_verify_needs_a_manifest(tmp_path: Path) -> None:
    """verify on a folder that is not evidence says so."""
    with pytest.raises(EvidenceError, match="no MANIFEST.sha256"):
        verify_tree(tmp_path)
    with pytest.raises(EvidenceError, match="not an evidence folder"):
        verify_tree(tmp_path / "missing")


def test_attestation_subjects_are_checked(tmp_path: Path) -> None:
    """The in-toto statement lists every evidence file; verify catches a subject that changed."""
    import json

    from phase4gate.attest import ATTESTATION_NAME, STATEMENT_TYPE
    from phase4gate.config import GateConfig
    from phase4gate.gate import Gate
    from tests.gate_helpers import Recorder

    gate = Gate(GateConfig(), evidence_root=tmp_path, steps=Recorder({}).steps())
    gate.run()
    statement = json.loads((gate.run_dir / ATTESTATION_NAME).read_text())
    assert statement["_type"] == STATEMENT_TYPE
    names = {s["name"] for s in statement["subject"]}
    assert "wp05/1/evidence.txt" in names
    assert statement["predicate"]["verdict"] == "passed"
    assert [s["wp"] for s in statement["predicate"]["steps"]] == [f"WP0{i}" for i in range(1, 9)]
    assert verify_run(gate.run_dir).ok
    # Rewrite a subject's digest: verify reports it.
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    (gate.run_dir / ATTESTATION_NAME).write_text(json.dumps(statement))
    findings = verify_run(gate.run_dir)
    assert not findings.ok
    assert any("differs from its digest" in p for p in findings.report_problems)


def _record_file_lock(store: EvidenceStore, events: list[tuple[str, str]]) -> None:
    """Record, per thread, each call into *store*'s file lock (acquire and release)."""
    lock = store._lock  # the file lock is what is observed
    acquire, release = lock.acquire, lock.release

    def spy_acquire(*args: object, **kwargs: object) -> object:
        events.append((threading.current_thread().name, "acquire"))
        return acquire(*args, **kwargs)  # type: ignore[arg-type]

    def spy_release(*args: object, **kwargs: object) -> None:
        events.append((threading.current_thread().name, "release"))
        release(*args, **kwargs)  # type: ignore[arg-type]

    lock.acquire = spy_acquire  # type: ignore[method-assign,assignment]
    lock.release = spy_release  # type: ignore[method-assign]


def test_a_second_thread_queues_in_process_before_the_file_lock(tmp_path: Path) -> None:
    """WP02 beside WP03: a thread waits on the in-process lock, not on filelock's polling.

    The second thread's first call into the file lock comes after the first thread let
    go of it (on the old store it came while the lock was held, and filelock then polled
    every 50 ms until it was free).
    """
    store = EvidenceStore(tmp_path / "run")
    events: list[tuple[str, str]] = []
    _record_file_lock(store, events)
    second = threading.Thread(target=store.write_text, args=("wp03/1/x.txt", "x"), name="second")
    with store.locked():
        second.start()
        second.join(0.3)  # setup: give the second thread time to reach the lock
        assert second.is_alive()
    second.join(30)
    assert not second.is_alive()
    first_release = events.index(("MainThread", "release"))
    assert events.index(("second", "acquire")) > first_release
    assert read_manifest(store.root) == {"wp03/1/x.txt": sha256_bytes(b"x")}


def test_the_lock_wait_is_bounded_for_threads_too(tmp_path: Path) -> None:
    """A thread that cannot get the run folder within the store's lock timeout gets an EvidenceError."""
    holder = EvidenceStore(tmp_path / "run")
    waiter = EvidenceStore(tmp_path / "run", lock_timeout=0.2)
    errors: list[EvidenceError] = []

    def write() -> None:
        try:
            waiter.write_text("x.txt", "x")
        except EvidenceError as exc:
            errors.append(exc)

    with holder.locked():
        thread = threading.Thread(target=write)
        thread.start()
        thread.join(30)
    assert [str(e) for e in errors] == ["could not lock the evidence folder within 0s"]
    assert not waiter.exists("x.txt")


def test_write_many_writes_each_file_once_in_order(tmp_path: Path) -> None:
    """A batch: every file written, read-only, listed in order; the intents go at the next flush."""
    store = EvidenceStore(tmp_path / "run")
    items = [(f"wp01/1/logs/f{i}.log", f"log {i}\n".encode()) for i in range(12)]
    refs = store.write_many(items)
    assert [r.path for r in refs] == [rel for rel, _ in items]
    assert list(read_manifest(store.root)) == [rel for rel, _ in items]
    for rel, data in items:
        assert store.path(rel).read_bytes() == data
        assert stat.S_IMODE(store.path(rel).stat().st_mode) == 0o444
    assert len(list(store.root.glob(".intent-*"))) == 12
    store.flush()
    assert list(store.root.glob(".intent-*")) == []
    assert verify_tree(store.root).ok


def test_write_many_refuses_a_batch_naming_a_file_twice_or_an_existing_one(tmp_path: Path) -> None:
    """Given twice, or already there: EvidenceExistsError, and nothing of that batch is written."""
    store = EvidenceStore(tmp_path / "run")
    store.write_text("wp01/1/b.txt", "b\n")
    with pytest.raises(EvidenceExistsError, match="given twice in one batch: wp01/1/a.txt"):
        store.write_many([("wp01/1/a.txt", b"1"), ("wp01/1/a.txt", b"2")])
    with pytest.raises(EvidenceExistsError, match="never overwritten: wp01/1/b.txt"):
        store.write_many([("wp01/1/a.txt", b"1"), ("wp01/1/b.txt", b"other"), ("wp01/1/c.txt", b"3")])
    assert list(read_manifest(store.root)) == ["wp01/1/b.txt"]
    assert not store.exists("wp01/1/a.txt")
    assert not store.exists("wp01/1/c.txt")
    assert store.path("wp01/1/b.txt").read_text() == "b\n"
    store.flush()
    assert list(store.root.glob(".intent-*")) == []
    assert verify_tree(store.root).ok


def test_copy_in_many_with_an_unreadable_source_writes_nothing(tmp_path: Path) -> None:
    """A source that cannot be read: EvidenceError naming it, before any file of the batch is written."""
    store = EvidenceStore(tmp_path / "run")
    good = tmp_path / "good.log"
    good.write_text("fine\n")
    with pytest.raises(EvidenceError, match="missing.log to keep it as evidence"):
        store.copy_in_many([(good, "wp01/1/good.log"), (tmp_path / "missing.log", "wp01/1/missing.log")])
    assert read_manifest(store.root) == {}
    assert store.copy_in_many([(good, "wp01/1/good.log")])[0].sha256 == sha256_bytes(b"fine\n")


@pytest.mark.parametrize("timeout", [-5.0, float("inf")])
def test_a_negative_or_infinite_lock_timeout_waits_as_filelock_would(tmp_path: Path, timeout: float) -> None:
    """filelock's meaning: a negative or infinite timeout waits for as long as it takes (never a ValueError)."""
    store = EvidenceStore(tmp_path / "run", lock_timeout=timeout)
    assert store.write_text("a.txt", "a\n").sha256 == sha256_bytes(b"a\n")
