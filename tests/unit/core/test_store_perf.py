"""Issue 23: the evidence store batches its fsyncs, and a crash mid-batch stays safe.

Each file is fsync'd under its intent's name before its link; the folders' entries and the
manifest lines of the files written since the last journal line are fsync'd once, before
the next journal line.  The order is read from the real system calls (``strace``) of a
real child process; crashes are real ``SIGKILL``\\ s.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from phase4gate.adapters.store import EvidenceStore, verify_tree
from phase4gate.journal import chain_problems, read_journal_file
from tests.conftest import HANG_GUARD_SECONDS

_WRITER = """
import os, signal, sys
from pathlib import Path
from phase4gate.adapters.store import EvidenceStore
store = EvidenceStore(Path(sys.argv[1]))
refs = [store.write_text(f"wp01/1/f{i}.txt", f"file {i}\\n") for i in range(3)]
# A child started mid-batch: its line names no evidence, so it neither flushes nor syncs.
store.append_event({"event": "child", "wp": "WP01", "pid": os.getpid(), "marker": "m"})
refs += [store.write_text(f"wp01/1/f{i}.txt", f"file {i}\\n") for i in range(3, 5)]
refs.append(store.write_text("wp02/1/g.txt", "g\\n"))
if sys.argv[2] in {"result", "result-then-kill"}:
    store.append_event({"event": "wp-result", "wp": "WP01", "evidence": [r.path for r in refs]})
if sys.argv[2] in {"kill", "result-then-kill"}:
    store.write_text("wp03/1/late.txt", "written after the last journal line\\n")
    os.kill(os.getpid(), signal.SIGKILL)
"""
_FILES = 6  # five under wp01/1, one under wp02/1
_SYSCALL = re.compile(r"^\d+\s+(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\d+)")
_FD_PATH = re.compile(r"^\d+<(?P<path>[^>]*)>")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _run_writer(root: Path, mode: str, *, trace: Path | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", _WRITER, str(root), mode]
    if trace is not None:
        calls = "trace=openat,link,linkat,fsync,fdatasync,write,unlink,unlinkat"
        argv = ["strace", "-f", "-qq", "-y", "-s", "300", "-e", calls, "-o", str(trace), *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=HANG_GUARD_SECONDS, check=False)


def _calls(trace: Path, root: Path) -> list[tuple[str, str]]:
    """Return ``(syscall, path)`` in order for the calls that touch *root* (fds decoded by ``strace -y``)."""
    out: list[tuple[str, str]] = []
    for line in trace.read_text().splitlines():
        m = _SYSCALL.match(line)
        if m is None or int(m.group("ret")) < 0:
            continue
        name, args = m.group("name"), m.group("args")
        if name in {"fsync", "fdatasync", "write"}:
            fd = _FD_PATH.match(args)
            path = fd.group("path") if fd else ""
        elif name in {"link", "linkat"}:
            path = _QUOTED.findall(args)[-1]  # the new name
        else:
            quoted = _QUOTED.findall(args)
            path = quoted[-1] if quoted else ""
        if path.startswith(str(root)):
            out.append((name, path[len(str(root)) :].lstrip("/")))
    return out


@pytest.fixture
def traced(tmp_path: Path) -> tuple[Path, list[tuple[str, str]]]:
    """A child that wrote six files and then one journal line, with its system calls on the run folder."""
    if shutil.which("strace") is None:
        pytest.skip("no strace here to read the order of the system calls")
    root = (tmp_path / "run").resolve()
    trace = tmp_path / "trace.txt"
    done = _run_writer(root, "result", trace=trace)
    if done.returncode != 0 and "ptrace" in done.stderr:
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    return root, _calls(trace, root)


def _result_write(calls: list[tuple[str, str]]) -> int:
    """Return the index of the result line's write (the journal's second line; the first is the child line)."""
    writes = [i for i, c in enumerate(calls) if c == ("write", "journal.jsonl")]
    assert len(writes) == 2
    return writes[1]


def test_journal_line_follows_durable_evidence(traced: tuple[Path, list[tuple[str, str]]]) -> None:
    """Every file's name and manifest line are fsync'd before the journal line that names it is written."""
    _, calls = traced
    journal_write = _result_write(calls)
    links = {p: i for i, (name, p) in enumerate(calls) if name in {"link", "linkat"}}
    assert len(links) == _FILES
    syncs = [(i, p) for i, (name, p) in enumerate(calls) if name in {"fsync", "fdatasync"}]
    for path, linked in links.items():
        parent = path.rpartition("/")[0]
        assert any(linked < i < journal_write and p == parent for i, p in syncs), f"{parent} not fsync'd for {path}"
        intent_sync = [i for i, p in syncs if p.startswith(".intent-") and i < linked]
        assert intent_sync, f"the data of {path} was not fsync'd (as its intent) before its link"
    last_manifest_write = max(i for i, c in enumerate(calls) if c == ("write", "MANIFEST.sha256"))
    manifest_sync = [i for i, p in syncs if p == "MANIFEST.sha256"]
    assert manifest_sync
    assert last_manifest_write < manifest_sync[-1] < journal_write
    intents_dropped = [i for i, (name, p) in enumerate(calls) if name.startswith("unlink") and ".intent-" in p]
    assert len(intents_dropped) == _FILES
    assert all(manifest_sync[-1] < i < journal_write for i in intents_dropped)
    assert any(i > journal_write and p == "journal.jsonl" for i, p in syncs)


def test_child_line_neither_flushes_nor_syncs(traced: tuple[Path, list[tuple[str, str]]]) -> None:
    """The child line (a process a power loss ends anyway) is written as is; the result line syncs it."""
    _, calls = traced
    child_write = calls.index(("write", "journal.jsonl"))
    result_write = _result_write(calls)
    between = [p for name, p in calls[child_write:result_write] if name in {"fsync", "fdatasync"}]
    assert "journal.jsonl" not in between
    just_before = [name for name, _ in calls[child_write - 2 : child_write]]
    assert not {"fsync", "fdatasync"} & set(just_before)  # no flush ran for it


def test_one_fsync_per_folder_and_one_of_the_manifest_per_batch(traced: tuple[Path, list[tuple[str, str]]]) -> None:
    """A batch costs each file one fsync (its data, under its intent's name), each touched folder one, the manifest one."""
    _, calls = traced
    journal_write = _result_write(calls)
    before = [p for name, p in calls[:journal_write] if name in {"fsync", "fdatasync"}]
    folders = {p for p in before if not p.rpartition("/")[2].startswith((".tmp-", ".intent-")) and "." not in p}
    # wp01/1 and wp02/1 hold the files; wp01, wp02 and the run folder got new folder names.
    assert folders == {"wp01/1", "wp01", "wp02/1", "wp02", ""}
    assert len(before) == _FILES + len(folders) + 1
    intents = sorted(p for p in before if p.startswith(".intent-"))
    assert len(set(intents)) == _FILES
    assert sorted(set(before) - folders - {"MANIFEST.sha256"}) == intents
    # No other file is made per write: no temp file beside the target, no separate intent file.
    opened = [p for name, p in calls[:journal_write] if name == "openat"]
    made = [p for p in opened if p.rpartition("/")[2].startswith((".tmp-", ".intent-"))]
    assert sorted(made) == intents


def test_killed_before_any_journal_line_verifies(tmp_path: Path) -> None:
    """A writer killed mid-batch leaves listed, complete files and no line naming anything; the run goes on."""
    root = tmp_path / "run"
    done = _run_writer(root, "kill")
    assert done.returncode == -signal.SIGKILL, done.stderr
    result = verify_tree(root)
    assert result.ok, result
    assert result.checked == _FILES + 1
    assert result.interrupted == ()
    (child,) = read_journal_file(root / "journal.jsonl").lines  # the only line names no evidence
    assert '"event": "child"' in child
    store = EvidenceStore(root)
    store.append_event({"event": "wp-start", "wp": "WP01"})
    assert verify_tree(root).ok
    assert list(root.glob(".intent-*")) == []


def test_killed_after_a_result_line_keeps_what_it_names(tmp_path: Path) -> None:
    """The files a result line names are listed and intact after a kill later in the next batch."""
    root = tmp_path / "run"
    done = _run_writer(root, "result-then-kill")
    assert done.returncode == -signal.SIGKILL, done.stderr
    journal = read_journal_file(root / "journal.jsonl")
    assert chain_problems(list(journal.lines)) == []
    _child, line = journal.lines
    named = re.findall(r'"(wp0\d/1/[^"]+)"', line)
    assert len(named) == _FILES
    result = verify_tree(root)
    assert result.ok, result
    listed = (root / "MANIFEST.sha256").read_text()
    for rel in named:
        assert f"  {rel}\n" in listed
        assert (root / rel).is_file()


def test_intents_stay_until_the_batch_is_flushed(tmp_path: Path) -> None:
    """An intent is removed only once its manifest line is on disk: at the next journal line or flush."""
    root = tmp_path / "run"
    store = EvidenceStore(root)
    store.write_text("wp01/1/a.txt", "a\n")
    store.write_text("wp01/1/b.txt", "b\n")
    assert len(list(root.glob(".intent-*"))) == 2
    assert verify_tree(root).ok  # pending intents cover listed files: nothing is reported
    store.append_event({"event": "wp-result", "wp": "WP01"})
    assert list(root.glob(".intent-*")) == []
    store.write_text("wp01/1/c.txt", "c\n")
    EvidenceStore(root).flush()  # another store of the same run folder flushes this one's batch too
    assert list(root.glob(".intent-*")) == []
    assert verify_tree(root).ok
