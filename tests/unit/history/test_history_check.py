"""The pure history summary: RC order, cleared, freshness, cells, Markdown escaping, the comment marker."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phase4gate import convert
from phase4gate.checks.comments import GITHUB_BODY_LIMIT, parse_marker, select_own_comments
from phase4gate.checks.history import (
    AttemptRead,
    CellStatus,
    FolderKind,
    FolderRead,
    History,
    RunFileRead,
    attempt_rc,
    history_comment_body,
    normalise_rc,
    render_history_markdown,
    summarise_history,
)
from phase4gate.config import GateConfig
from phase4gate.errors import InputError
from phase4gate.models import WP_IDS, Comment, GateReport, StepResult, StopKind, parse_run_file
from tests.integration.history.gfm import parse_tables, tables_after
from tests.unit.history.journals import T0, passed, run_file, stopped

GATE = "phase4-canary-gate-01KS1W46"
SIGNATURES = GateConfig().canary.signatures


def _rc(n: int) -> dict[str, str]:
    return {"rc_short": f"rc{n}", "rc_version": f"3.2.0rc{n}"}


def _folder(
    run_id: str,
    steps: list[StepResult],
    *,
    dry_run: bool = False,
    attempts: tuple[AttemptRead, ...] = (),
) -> FolderRead:
    report = GateReport(
        run_id=run_id,
        started_at=min(s.started_at for s in steps),
        finished_at=max(s.finished_at for s in steps),
        steps=tuple(steps),
        dry_run=dry_run,
        requested=WP_IDS,
    )
    return FolderRead(run_id, f"/e/{run_id}", FolderKind.RUN, report=report, signatures=SIGNATURES, attempts=attempts)


def _green(run_id: str, n: int, minute: int = 0) -> list[StepResult]:
    steps = [passed(wp, minute + i, **(_rc(n) if wp == "WP02" else {})) for i, wp in enumerate(WP_IDS)]
    steps[2] = passed("WP03", minute + 2, preflight_at=(T0 + dt.timedelta(minutes=minute + 2)).isoformat())
    return steps


def _summary(folders: list[FolderRead], **kw: object) -> History:
    return summarise_history(folders, evidence_root="/e", now=T0 + dt.timedelta(hours=2), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "short"), [("rc16", "rc16"), ("3.2.0rc16", "rc16"), ("v3.2.0RC16", "rc16")])
def test_normalise_rc(text: str, short: str) -> None:
    assert normalise_rc(text) == short


def test_attempt_folders_name_their_rc_and_wp() -> None:
    assert attempt_rc("rc16-single-attempt2") == ("rc16", "WP04")
    assert attempt_rc("rc16-attempt11") == ("rc16", "WP05")
    assert attempt_rc("wp03") is None


def test_rcs_sort_as_versions_not_strings() -> None:
    """rc10 is newer than rc9 (PEP 440), whatever the folder order."""
    history = _summary([_folder("a", _green("a", 10)), _folder("b", _green("b", 9, 20))])

    assert [h.rc for h in history.rcs] == ["rc10", "rc9"]
    assert history.cleared is not None
    assert history.cleared.rc == "rc10"


def test_a_dry_run_never_clears_an_rc() -> None:
    """Every WP passed in a dry run: it decided nothing, so nothing is cleared."""
    history = _summary([_folder("a", _green("a", 16), dry_run=True)])

    assert history.cleared is None
    assert history.rcs[0].cleared is None
    assert history.rcs[0].runs[0].dry_run


def test_newest_rc_without_a_passed_preflight_is_stale() -> None:
    """No passed WP03 for the newest RC: its evidence cannot be called fresh."""
    steps = [passed("WP01", 0), passed("WP02", 1, **_rc(17)), stopped("WP03", 2, StopKind.WAITING, "503")]
    history = _summary([_folder("b", steps), _folder("a", _green("a", 16))])

    assert history.freshness is not None
    assert (history.freshness.rc, history.freshness.stale) == ("rc17", True)
    assert history.freshness.reason.startswith("no passed preflight (WP03) recorded for rc17")
    assert history.freshness.rule_from == "default"


def test_skips_and_errors_in_the_matrix() -> None:
    """A skipped scenario is never a pass nor a signature; an error is triaged like a failure."""
    data = run_file(
        {1: "skipped", 2: "error", 3: "pass", 4: "fail"},
        reasons={2: "sync now failed: FORBIDDEN_KEY 'owner_email'", 4: "peeked row is not the rollback we triggered"},
    )
    parsed = parse_run_file(data, source="run-1.json", file_run_number=1)
    attempt = AttemptRead("rc16-attempt1", (RunFileRead("rc16-attempt1/runs/run-1.json", 1, parsed),))
    steps = [passed("WP01", 0), passed("WP02", 1, **_rc(16)), stopped("WP05", 3, StopKind.FAILED, "run 1 failed")]
    history = _summary([_folder("a", steps, attempts=(attempt,))])

    cells = {c.scenario_id: c for c in history.rcs[0].matrix[0].cells}
    assert cells[1].status is CellStatus.SKIPPED
    assert cells[1].signature is None
    assert not cells[1].new_signature
    assert (cells[2].status, cells[2].signature, cells[2].blocker) == (CellStatus.ERROR, "forbidden-key", 1142)
    assert (cells[4].signature, cells[4].blocker) == ("rollback-peek", 1141)
    assert [(s.name, s.blocker) for s in history.rcs[0].signatures] == [
        ("forbidden-key", 1142),
        ("rollback-peek", 1141),
    ]
    assert history.rcs[0].unknown_signatures == ()
    matrix, _known = tables_after(render_history_markdown(history), "### Canary attempts")
    assert matrix.rows[0][3:7] == ("❌ skip", "❌ error: forbidden-key", "✅ pass", "❌ fail: rollback-peek")
    assert history.rcs[0].matrix[0].path == "/e/a/rc16-attempt1/runs/run-1.json"


@given(st.text(min_size=1, max_size=200))
def test_any_reason_keeps_the_tables_well_formed_and_html_free(reason: str) -> None:
    """Pipes, newlines, angle brackets, backticks in a stop reason: still one row of eight cells, no raw HTML."""
    steps = [passed("WP01", 0), passed("WP02", 1, **_rc(16)), stopped("WP03", 2, StopKind.FAILED, reason)]
    markdown = render_history_markdown(_summary([_folder("a", steps)]))

    [runs] = tables_after(markdown, "### Gate runs")
    assert len(runs.rows) == 1
    assert len(runs.rows[0]) == 8
    outside_code = re.sub(r"`[^`]*`", "", markdown)
    assert re.search(r"(?<!\\)<", outside_code) is None


def test_history_round_trips_and_refuses_another_schema() -> None:
    """cattrs round trip; a document of another schema version does not structure."""
    history = _summary([_folder("a", _green("a", 16))])
    data = convert.unstructure(history)

    assert convert.structure(data, History, source="h.json") == history
    with pytest.raises(InputError, match="schema must be 'phase4gate.history/1'"):
        convert.structure({**data, "schema": "phase4gate.history/2"}, History, source="h.json")


def test_comment_body_marker_is_the_history_one_never_the_evidence_one() -> None:
    """The marker names "<gate>-history" and the summary's sha256; the WP08 evidence comment is not ours to edit."""
    history = _summary([_folder("a", _green("a", 16))])
    body = history_comment_body(history, gate_id=GATE, issue="Priivacy-ai/spec-kitty#1038")
    summary, _, marker_line = body.rstrip("\n").rpartition("\n")
    marker = parse_marker(body)

    assert marker is not None
    assert (marker.gate_id, marker.issue) == (f"{GATE}-history", "Priivacy-ai/spec-kitty#1038")
    assert (
        marker_line
        == f"<!-- phase4gate:comment gate={GATE}-history issue=Priivacy-ai/spec-kitty#1038 bundle-sha256={marker.bundle_sha256} -->"
    )
    assert marker.bundle_sha256 == hashlib.sha256(summary.encode()).hexdigest()
    assert "<!--" not in summary
    assert summary.startswith("## phase4gate history\n")
    assert len(parse_tables(summary)) == 1
    history_comment = Comment(id=2, author="gate-bot", body=body, created_at="2026-05-20T10:00:00Z")
    own = select_own_comments([history_comment], login="gate-bot", gate_id=GATE, issue="Priivacy-ai/spec-kitty#1038")
    assert own.keep is None


def test_a_history_too_long_for_one_comment_drops_its_oldest_rcs() -> None:
    """200 RCs do not fit in one GitHub comment: the newest are kept, the rest named, the marker intact."""
    folders = [
        _folder(
            f"r{n:03d}",
            [passed("WP01", n), passed("WP02", n, **_rc(n)), stopped("WP03", n, StopKind.WAITING, "x" * 200)],
        )
        for n in range(1, 201)
    ]
    history = _summary(folders)
    assert len(render_history_markdown(history)) > GITHUB_BODY_LIMIT

    body = history_comment_body(history, gate_id=GATE, issue="Priivacy-ai/spec-kitty#1038")

    assert len(body) <= GITHUB_BODY_LIMIT
    assert "## phase4gate history" in body
    assert "### rc200 (3.2.0rc200): ❌ not cleared" in body
    assert "### rc1 (3.2.0rc1)" not in body
    assert re.search(r"\n[0-9]+ older RC\(s\) not shown here \(rc[0-9]+, .*rc1\)", body)
    assert parse_marker(body) is not None


def test_a_run_without_wp02_facts_takes_its_rc_from_its_attempt_folders() -> None:
    """No WP02 fact (an older journal): the attempt folder's name says the RC; an empty attempt is a row of missing cells."""
    steps = [passed("WP01", 0), stopped("WP04", 3, StopKind.FAILED, "evidence malformed or inconsistent")]
    history = _summary([_folder("a", steps, attempts=(AttemptRead("rc16-single-attempt1"),))])

    [rc16] = history.rcs
    assert (rc16.rc, rc16.rc_version) == ("rc16", None)
    [row] = rc16.matrix
    assert (row.run_number, row.outcome, row.problem) == (None, None, "no run file in the attempt folder")
    assert {c.status for c in row.cells} == {CellStatus.MISSING}
    assert history.freshness is not None
    assert history.freshness.stale


def test_a_partial_run_never_clears_an_rc() -> None:
    """`run --until WP05` passes every WP it was asked for, but only all eight WPs clear the gate."""
    partial = _green("a", 16)[:5]
    report = GateReport(
        run_id="a",
        started_at=partial[0].started_at,
        finished_at=partial[-1].finished_at,
        steps=tuple(partial),
        requested=WP_IDS[:5],
    )
    folder = FolderRead("a", "/e/a", FolderKind.RUN, report=report, signatures=SIGNATURES)
    history = _summary([folder])

    assert report.verdict.value == "passed"
    assert history.cleared is None
    assert history.rcs[0].cleared is None
    assert not history.rcs[0].runs[0].whole_gate
    assert "- Cleared: ❌ no RC has cleared the whole gate" in render_history_markdown(history)
    assert _summary([_folder("b", _green("b", 16))]).cleared is not None


def test_quoted_failures_and_reasons_are_redacted() -> None:
    """Run files are kept byte for byte, but what history quotes (and may post on #1038) carries no credential."""
    secret = "hunter2pass"
    leak = f"POST https://canary:{secret}@saas.example.invalid/x?token={secret} failed: Batch sync failed (400)"
    data = run_file({1: "fail", 2: "pass", 3: "pass", 4: "pass"}, reasons={1: leak})
    parsed = parse_run_file(data, source="run-1.json", file_run_number=1)
    attempt = AttemptRead("rc16-attempt1", (RunFileRead("rc16-attempt1/runs/run-1.json", 1, parsed),))
    steps = [passed("WP01", 0), passed("WP02", 1, **_rc(16)), stopped("WP05", 3, StopKind.FAILED, f"run 1: {leak}")]
    history = _summary([_folder("a", steps, attempts=(attempt,))])

    text = render_history_markdown(history) + convert.dumps(history)
    assert secret not in text
    assert "Batch sync failed (400)" in text
    body = history_comment_body(history, gate_id=GATE, issue="Priivacy-ai/spec-kitty#1038")
    assert secret not in body
