"""The history reader: journals of other versions tolerated, damaged and foreign folders listed, run files checked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phase4gate.adapters.history_reader import read_folder, read_history
from phase4gate.checks.history import FolderKind
from phase4gate.errors import EvidenceError
from phase4gate.models import StopKind
from tests.unit.history.journals import event, journal, passed, run_file, stopped, write_run

RC16 = {"rc_short": "rc16", "rc_version": "3.2.0rc16"}


def _lines(run_id: str = "20260520T090000Z-aaaa") -> list[str]:
    return journal(
        run_id,
        [passed("WP01", 1), passed("WP02", 2, **RC16), stopped("WP03", 3, StopKind.WAITING, "/health/ready/ is 503")],
    )


def test_a_gate_run_is_folded_from_its_journal(evidence_root: Path) -> None:
    """The journal gives the report; the configuration it recorded gives the signatures and the age rule."""
    folder = read_folder(write_run(evidence_root, "20260520T090000Z-aaaa", _lines()))

    assert folder.kind is FolderKind.RUN
    assert folder.report is not None
    assert folder.report.run_id == "20260520T090000Z-aaaa"
    assert [s.wp for s in folder.report.steps] == ["WP01", "WP02", "WP03"]
    assert folder.ending == "finished"
    assert [s.name for s in folder.signatures] == ["rollback-peek", "event-loop-unavailable", "forbidden-key"]
    assert folder.max_preflight_age_hours == 24.0
    assert folder.notes == ()


def test_unknown_event_types_and_keys_are_tolerated(evidence_root: Path) -> None:
    """A newer writer's ``prev`` hash-chain key and an event type this reader does not know are not fatal."""
    lines = [ln[:-1] + ', "prev": "ab12"}' for ln in _lines()]
    lines.insert(2, event("checkpoint", time="2026-05-20T09:00:00+00:00", prev="cd34"))
    folder = read_folder(write_run(evidence_root, "r1", lines))

    assert folder.kind is FolderKind.RUN
    assert folder.notes == ("1 event(s) of unknown type 'checkpoint' ignored",)


def test_a_torn_last_line_is_dropped_and_noted(evidence_root: Path) -> None:
    """A writer killed mid-append leaves a partial last line: the rest of the journal still reads."""
    lines = _lines()[:-1]
    lines.append('{"event": "gate-e')
    folder = read_folder(write_run(evidence_root, "r1", lines))

    assert folder.kind is FolderKind.RUN
    assert folder.ending == "unfinished"
    assert folder.notes == (f"line {len(lines)}: torn last line dropped (a writer stopped mid-append)",)


def test_interrupted_run_is_said_so(evidence_root: Path) -> None:
    """An ``interrupted`` event after the last gate-start: the run ended on Ctrl-C."""
    lines = [*_lines()[:-1], event("interrupted", time="2026-05-20T09:30:00+00:00")]

    assert read_folder(write_run(evidence_root, "r1", lines)).ending == "interrupted"


@pytest.mark.parametrize(
    ("mangle", "problem"),
    [
        (lambda ls: [ls[0], "{not json", *ls[1:]], "journal.jsonl line 2: not JSON"),
        (lambda ls: ls[1:], "journal.jsonl: no gate-start event"),
        (lambda ls: [*ls[:2], '["a", "list"]', *ls[2:]], "journal.jsonl line 3: not a journal event"),
        (lambda ls: [*ls, event("wp-result", wp="WP04", result={"wp": "WP99"})], "journal.jsonl"),
    ],
    ids=["bad-middle-line", "no-gate-start", "not-an-event", "result-does-not-structure"],
)
def test_damaged_journals_are_listed_not_fatal(evidence_root: Path, mangle: object, problem: str) -> None:
    """A journal the gate itself could not fold makes the folder damaged, with the problem named."""
    assert callable(mangle)
    folder = read_folder(write_run(evidence_root, "r1", mangle(_lines())))

    assert folder.kind is FolderKind.DAMAGED
    assert folder.problem is not None
    assert folder.problem.startswith(problem)


def test_foreign_folders_files_and_hidden_entries(evidence_root: Path) -> None:
    """A folder without a journal is foreign; plain files and hidden entries (locks) are not folders to list."""
    write_run(evidence_root, "20260520T090000Z-aaaa", _lines())
    (evidence_root / "rc14-attempt1").mkdir()
    (evidence_root / "notes.txt").write_text("x", encoding="utf-8")
    (evidence_root / ".phase4gate.lock").write_text("", encoding="utf-8")

    folders = read_history(evidence_root)

    assert [(f.name, f.kind) for f in folders] == [
        ("20260520T090000Z-aaaa", FolderKind.RUN),
        ("rc14-attempt1", FolderKind.FOREIGN),
    ]
    assert folders[1].problem == "no journal.jsonl: not a gate run folder"


def test_root_that_cannot_be_read_is_an_evidence_error(tmp_path: Path) -> None:
    """Exit 3: the root is missing or a file."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    for root in (tmp_path / "missing", tmp_path / "file"):
        with pytest.raises(EvidenceError, match="cannot read the evidence root") as info:
            read_history(root)
        assert info.value.exit_code == 3


def test_run_files_are_read_in_order_and_checked_against_the_manifest(evidence_root: Path) -> None:
    """Run files come in run order; an altered one, one outside the manifest, or a malformed one names its problem."""
    files = {
        "rc16-attempt1/runs/run-2.json": run_file({1: "pass", 2: "pass", 3: "pass", 4: "pass"}),
        "rc16-attempt1/runs/run-1.json": run_file({1: "pass", 2: "pass", 3: "pass", 4: "pass"}),
        "rc16-single-attempt1/runs/run-1.json": run_file({1: "fail", 2: "pass", 3: "pass", 4: "pass"}),
    }
    run_dir = write_run(evidence_root, "r1", _lines(), files)
    altered = run_dir / "rc16-attempt1/runs/run-2.json"
    os.chmod(altered, 0o644)
    altered.write_text(altered.read_text(encoding="utf-8").replace('"pass"', '"pass" '), encoding="utf-8")
    (run_dir / "rc16-attempt1/runs/run-3.json").write_text('{"outcome": "pass"', encoding="utf-8")

    folder = read_folder(run_dir)

    attempts = {a.name: a for a in folder.attempts}
    assert list(attempts) == ["rc16-attempt1", "rc16-single-attempt1"]
    runs = attempts["rc16-attempt1"].run_files
    assert [r.run_number for r in runs] == [1, 2, 3]
    assert runs[0].problem is None
    assert runs[0].run is not None
    assert runs[1].problem == "altered since written (sha256 differs from MANIFEST.sha256)"
    assert runs[1].run is not None
    assert runs[2].run is None
    assert runs[2].problem is not None
    assert runs[2].problem.startswith("not listed in the run's MANIFEST.sha256; ")
    assert "not JSON" in runs[2].problem


def test_a_recorded_configuration_of_another_version_falls_back_to_the_defaults(evidence_root: Path) -> None:
    """A gate-start whose configuration has a key this version does not know: noted, default signatures used."""
    lines = _lines()
    lines[0] = lines[0].replace('"canary": {', '"canary": {"future_knob": 1, ', 1)
    folder = read_folder(write_run(evidence_root, "r1", lines))

    assert folder.kind is FolderKind.RUN
    assert [s.name for s in folder.signatures] == ["rollback-peek", "event-loop-unavailable", "forbidden-key"]
    assert len(folder.notes) == 1
    assert folder.notes[0].startswith("recorded configuration unreadable, default signatures used: ")
    assert "future_knob" in folder.notes[0]


def test_an_attempt_without_run_files_is_still_listed(evidence_root: Path) -> None:
    """The runner died before writing a run file: the attempt folder is there, with no runs."""
    lines = journal("r1", [passed("WP01", 1), stopped("WP04", 4, StopKind.FAILED, "evidence malformed")])
    run_dir = write_run(evidence_root, "r1", lines)
    (run_dir / "rc16-single-attempt1" / "logs").mkdir(parents=True)

    folder = read_folder(run_dir)

    assert [(a.name, a.run_files) for a in folder.attempts] == [("rc16-single-attempt1", ())]


@settings(max_examples=40)
@given(
    st.lists(st.one_of(st.text(max_size=40), st.sampled_from(_lines("r1"))), max_size=8),
    st.binary(max_size=30),
)
def test_any_journal_is_read_or_listed_damaged_never_raises(lines: list[str], tail: bytes) -> None:
    """Whatever a journal holds (text, real events in any order, stray bytes), the folder is read or listed."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "r1"
        run_dir.mkdir()
        (run_dir / "journal.jsonl").write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + tail)

        folder = read_folder(run_dir)

    assert folder.kind in {FolderKind.RUN, FolderKind.DAMAGED}
    assert (folder.report is not None) == (folder.kind is FolderKind.RUN)
    assert folder.kind is FolderKind.RUN or folder.problem


def test_progress_events_are_read_without_a_note(evidence_root: Path) -> None:
    """``wp-action`` and ``child-process`` (the gate's progress events) are not folded and not noted."""
    lines = _lines()
    lines[2:2] = [
        event("wp-action", wp="WP01", action="posted comment", time="2026-05-20T09:01:00+00:00"),
        event("child-process", wp="WP02", pid=4242, time="2026-05-20T09:02:00+00:00"),
    ]
    folder = read_folder(write_run(evidence_root, "r1", lines))

    assert folder.kind is FolderKind.RUN
    assert folder.report is not None
    assert [s.wp for s in folder.report.steps] == ["WP01", "WP02", "WP03"]
    assert folder.notes == ()


def test_a_reason_with_unicode_line_separators_is_not_damage(tmp_path: Path) -> None:
    """U+2028, U+2029 and U+0085 are legal inside a JSON string; the journal's lines end in \\n only."""
    from phase4gate.adapters.history_reader import read_folder
    from phase4gate.checks.history import FolderKind
    from phase4gate.models import StopKind
    from tests.unit.history.journals import journal, passed, stopped, write_run

    reason = "first\u2028second\u2029third\u0085fourth"
    run = write_run(tmp_path, "r1", journal("r1", [passed("WP01", 0), stopped("WP02", 1, StopKind.WAITING, reason)]))
    folder = read_folder(run)

    assert folder.kind is FolderKind.RUN, folder.problem
    assert folder.report is not None
    step = folder.report.step("WP02")
    assert step is not None
    assert step.reason == reason
