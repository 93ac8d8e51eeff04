"""``phase4gate history`` over an evidence root built by real gate runs on the sandbox.

One root per module (building it runs five gates): rc16 waiting at WP03, rc16 failed at
WP04 on a new signature, rc16 failed at WP04 on #1141's signature, a run that resolved
no RC (WP01 waiting: #1141 re-opened), a green rc17, plus a damaged and a foreign folder.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from phase4gate import convert
from phase4gate.adapters.history_reader import read_history
from phase4gate.checks.history import (
    SCHEMA,
    CellStatus,
    FolderKind,
    History,
    RCHistory,
    render_history_markdown,
    summarise_history,
)
from phase4gate.models import StepStatus
from tests.integration.history.gfm import parse_tables, tables_after
from tests.integration.history.series import Series, build_series


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Series:
    """The evidence root of the whole series (built once for this module)."""
    return build_series(tmp_path_factory.mktemp("history-series"))


def _green_preflight(series: Series) -> dt.datetime:
    step = series.reports["green"].step("WP03")
    assert step is not None
    return dt.datetime.fromisoformat(str(step.facts["preflight_at"]))


def _history(series: Series, **kw: object) -> History:
    now = kw.pop("now", _green_preflight(series) + dt.timedelta(hours=1))
    assert isinstance(now, dt.datetime)
    return summarise_history(read_history(series.root), evidence_root=str(series.root), now=now, **kw)  # type: ignore[arg-type]


def _rc(history: History, rc: str) -> RCHistory:
    return next(h for h in history.rcs if h.rc == rc)


def test_series_stopped_where_planned(series: Series) -> None:
    """The fixture itself: each real run ended on the stop it was built for."""
    stops = {}
    for label, report in series.reports.items():
        halted = next((s for s in report.steps if s.status is StepStatus.STOPPED), None)
        stops[label] = (halted.wp, halted.stop_kind.value) if halted and halted.stop_kind else None
    assert stops == {
        "waiting": ("WP03", "waiting"),
        "unknown": ("WP04", "failed"),
        "known": ("WP04", "failed"),
        "blocked": ("WP01", "waiting"),
        "green": None,
    }


def test_rcs_newest_first_with_each_run_and_stop(series: Series) -> None:
    """rc17 before rc16; rc16 lists its three runs with where they stopped and how."""
    history = _history(series)

    assert [h.rc for h in history.rcs] == ["rc17", "rc16"]
    assert [h.rc_version for h in history.rcs] == ["3.2.0rc17", "3.2.0rc16"]
    rc16 = _rc(history, "rc16")
    got = [(r.run_id, r.stopped_at, r.stop_kind, r.verdict) for r in rc16.runs]
    assert got == [
        (series.reports["waiting"].run_id, "WP03", "waiting", "stopped"),
        (series.reports["unknown"].run_id, "WP04", "failed", "stopped"),
        (series.reports["known"].run_id, "WP04", "failed", "stopped"),
    ]
    assert all("\n" not in r.reason and r.reason for r in rc16.runs)
    assert "ready" in rc16.runs[0].reason
    assert rc16.runs[0].attempts == ()
    assert rc16.runs[1].attempts == ("rc16-single-attempt1",)
    assert rc16.runs[2].attempts == ("rc16-single-attempt2",)
    assert [r.run_id for r in history.runs_without_rc] == [series.reports["blocked"].run_id]
    assert history.runs_without_rc[0].stopped_at == "WP01"
    assert history.runs_without_rc[0].stop_kind == "waiting"


def test_matrix_signatures_and_blockers(series: Series) -> None:
    """rc16's matrix: a new signature on S1, then rollback-peek on S4 mapped to #1141; the rest pass."""
    rc16 = _rc(_history(series), "rc16")

    rows = [(m.attempt, m.run_number, m.wp, m.outcome) for m in rc16.matrix]
    assert rows == [("rc16-single-attempt1", 1, "WP04", "fail"), ("rc16-single-attempt2", 1, "WP04", "fail")]
    first, second = ({c.scenario_id: c for c in m.cells} for m in rc16.matrix)
    assert first[1].status is CellStatus.FAIL
    assert first[1].new_signature
    assert first[1].signature is None
    assert [first[s].status for s in (2, 3, 4)] == [CellStatus.PASS] * 3
    assert second[4].signature == "rollback-peek"
    assert second[4].blocker == 1141
    assert not second[4].new_signature
    assert [second[s].status for s in (1, 2, 3)] == [CellStatus.PASS] * 3
    assert [(s.name, s.blocker, s.scenarios, s.runs) for s in rc16.signatures] == [
        ("rollback-peek", 1141, (4,), (series.reports["known"].run_id,))
    ]
    assert len(rc16.unknown_signatures) == 1
    unknown = rc16.unknown_signatures[0]
    assert "Batch sync failed (400)" in unknown.quote
    assert unknown.runs == (series.reports["unknown"].run_id,)
    assert unknown.scenarios == (1,)
    assert unknown.seen_in == (f"{series.run_dirs['unknown']}/rc16-single-attempt1/runs/run-1.json S1",)


def test_cleared_rc_and_its_evidence(series: Series) -> None:
    """rc17 cleared the whole gate in the green run (4 + 1 canary runs, all 16 + 4 cells pass); rc16 did not."""
    history = _history(series)
    green = series.reports["green"]

    assert history.cleared is not None
    assert (history.cleared.rc, history.cleared.rc_version, history.cleared.run_id) == (
        "rc17",
        "3.2.0rc17",
        green.run_id,
    )
    assert Path(history.cleared.evidence_path) == series.run_dirs["green"]
    assert _rc(history, "rc16").cleared is None
    rc17 = _rc(history, "rc17")
    assert [(m.attempt, m.run_number) for m in rc17.matrix] == [("rc17-single-attempt1", 1)] + [
        ("rc17-attempt1", n) for n in (1, 2, 3, 4)
    ]
    assert all(c.status is CellStatus.PASS for m in rc17.matrix for c in m.cells)
    assert sum(len(m.cells) for m in rc17.matrix) == 20


def test_freshness_follows_the_recorded_rule(series: Series) -> None:
    """The newest RC's preflight: fresh an hour later, stale past 24 h; --config's rule wins over the recorded one."""
    at = _green_preflight(series)

    fresh = _history(series, now=at + dt.timedelta(hours=1)).freshness
    stale = _history(series, now=at + dt.timedelta(hours=25)).freshness
    strict = _history(series, now=at + dt.timedelta(hours=1), max_age_hours=0.5).freshness

    assert fresh is not None
    assert stale is not None
    assert strict is not None
    assert (fresh.rc, fresh.stale, fresh.max_age_hours, fresh.preflight_at) == ("rc17", False, 24.0, at)
    assert fresh.rule_from == f"run {series.reports['green'].run_id}"
    assert stale.stale
    assert stale.age_hours == 25.0
    assert strict.stale
    assert strict.rule_from == "--config"


def test_damaged_and_foreign_folders_are_listed_not_fatal(series: Series) -> None:
    """A bad line inside a journal makes the folder damaged; no journal makes it foreign; both are listed."""
    history = _history(series)

    others = {f.name: f for f in history.other_folders}
    assert set(others) == {"20260101T000000Z-dead", "notes"}
    assert others["20260101T000000Z-dead"].kind is FolderKind.DAMAGED
    assert "line 2: not JSON" in others["20260101T000000Z-dead"].problem
    assert others["notes"].kind is FolderKind.FOREIGN
    assert history.folders_read == 7


def test_unknown_events_and_a_torn_last_line_are_tolerated(series: Series) -> None:
    """A newer writer's event type is skipped, a torn last line dropped; both runs are read and noted."""
    history = _history(series)
    waiting = _rc(history, "rc16").runs[0]
    blocked = history.runs_without_rc[0]

    assert any("unknown type 'checkpoint-v2'" in n for n in waiting.notes)
    assert any("torn last line" in n for n in blocked.notes)
    assert blocked.ending == "finished"  # what the torn line was meant to say is unknown; the gate-end before it stands


def test_filters_rc_and_since(series: Series) -> None:
    """--rc keeps one RC (any spelling); --since keeps runs started at or after it."""
    only16 = _history(series, rc="v3.2.0rc16")
    since_green = _history(series, since=series.reports["green"].started_at)

    assert [h.rc for h in only16.rcs] == ["rc16"]
    assert only16.runs_without_rc == ()
    assert only16.freshness is not None
    assert only16.freshness.rc == "rc16"
    assert [h.rc for h in since_green.rcs] == ["rc17"]
    assert [r.run_id for h in since_green.rcs for r in h.runs] == [series.reports["green"].run_id]


def test_json_round_trips(series: Series) -> None:
    """The JSON shape structures back into an equal History (cattrs), and names its schema."""
    history = _history(series)

    text = convert.dumps(history)
    data = json.loads(text)
    back = convert.structure(data, History, source="history.json")

    assert data["schema"] == SCHEMA == "phase4gate.history/1"
    assert back == history
    assert convert.unstructure(back) == data
    assert data["rcs"][1]["matrix"][0]["cells"][0] == {
        "blocker": None,
        "new_signature": True,
        "quote": history.rcs[1].matrix[0].cells[0].quote,
        "scenario_id": 1,
        "signature": None,
        "status": "fail",
    }


def test_markdown_renders_as_github_tables(series: Series) -> None:
    """Every table parses as a GFM table; the rc16 matrix has the ✅/❌ cells the history says; no HTML."""
    history = _history(series)
    markdown = render_history_markdown(history)

    tables = parse_tables(markdown)
    assert len(tables) >= 7
    assert re.search(r"(?<!\\)<", markdown.replace("`", "")) is None
    runs16, matrix16, known16, unknown16 = tables_after(markdown, "## rc16 (3.2.0rc16): ❌ not cleared")
    assert [r[0].strip("`") for r in runs16.rows] == [r.run_id for r in reversed(_rc(history, "rc16").runs)]
    assert runs16.column("kind") == ["failed", "failed", "waiting"]
    assert matrix16.header == ("attempt", "run", "gate run", "S1", "S2", "S3", "S4", "outcome")
    assert matrix16.dicts()[0] | {"gate run": ""} == {
        "attempt": "`rc16-single-attempt1`",
        "run": "1",
        "gate run": "",
        "S1": "❌ fail: new signature",
        "S2": "✅ pass",
        "S3": "✅ pass",
        "S4": "✅ pass",
        "outcome": "❌ fail",
    }
    assert matrix16.dicts()[1]["S4"] == "❌ fail: rollback-peek"
    assert known16.dicts()[0]["blocker"] == "#1141"
    assert "Batch sync failed (400)" in unknown16.rows[0][0]
    [runs17, matrix17] = tables_after(markdown, "## rc17 (3.2.0rc17): ✅ cleared")
    assert runs17.column("verdict") == ["✅ passed"]
    assert all(cell == "✅ pass" for row in matrix17.rows for cell in row[3:7])
    assert f"- Cleared: ✅ rc17 (3.2.0rc17) cleared the whole gate in run `{history.cleared.run_id}`" in markdown  # type: ignore[union-attr]
    blocked = series.reports["blocked"].run_id
    assert re.search(rf"^- Reading `{blocked}`: line [0-9]+: torn last line dropped", markdown, re.MULTILINE)
    [others] = tables_after(markdown, "## Other folders")
    assert others.column("kind") == ["❌ damaged", "❌ foreign"]
