"""Executor citations (GitHub Actions runs) in the two comments and the gate report; local runs render as before."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import pytest

from phase4gate import convert
from phase4gate.checks.citations import (
    ActionsRun,
    Citation,
    actions_meta_path,
    artifact_path,
    citation_problem,
    cited_runs,
    parse_actions_run,
    parse_citations,
    render_link,
    report_citation_lines,
    report_citations_json,
    report_json_data,
)
from phase4gate.checks.comments import (
    CommentFacts,
    CommentRenderError,
    RunRow,
    build_comment_facts,
    render_e2e_comment,
    render_tracker_comment,
)
from phase4gate.errors import InputError
from phase4gate.gate import render_report_markdown
from phase4gate.models import FactValue, GateReport, StepResult, StepStatus

E2E = "Priivacy-ai/spec-kitty-end-to-end-testing"
IDS = ("15000000001", "15000000002", "15000000003", "15000000004")


def url(run_id: str) -> str:
    return f"https://github.com/{E2E}/actions/runs/{run_id}"


def cited(facts: CommentFacts, *, with_meta: bool = False) -> CommentFacts:
    """The same facts with every run cited (and, optionally, the Actions metadata kept beside it)."""
    assert facts.runs is not None
    runs = tuple(
        attrs.evolve(
            r,
            citation=Citation(IDS[r.number - 1], url(IDS[r.number - 1])),
            actions=ActionsRun(IDS[r.number - 1], url(IDS[r.number - 1]), 40 + r.number, 1, "ab" * 20)
            if with_meta
            else None,
        )
        for r in facts.runs
    )
    return attrs.evolve(facts, runs=runs)


def wp05_facts(run_files: list[str], ids: tuple[str, ...] = IDS) -> dict[str, FactValue]:
    return {
        "attempt_dir": "rc16-attempt1",
        "run_files": ",".join(run_files),
        "runs_passed": 4,
        "cells_passed": 16,
        "executor_run_ids": ",".join(ids),
        "executor_run_urls": ",".join(url(i) for i in ids),
    }


# --------------------------------------------------------------------------- the e2e#41 comment


def test_e2e_table_has_a_run_id_column_linking_each_actions_run(facts: CommentFacts) -> None:
    """Every run cited: the table gains a run_id column, each id linked to its Actions run URL."""
    body = render_e2e_comment(cited(facts))

    assert "| Run | run_id | Scenario 1 | Scenario 2 | Scenario 3 | Scenario 4 |" in body
    assert "|---|---|---|---|---|---|" in body
    for n, run_id in enumerate(IDS, start=1):
        assert f"| {n} | [{run_id}]({url(run_id)}) | pass | pass | pass | pass |" in body


def test_e2e_local_runs_have_no_run_id_column(facts: CommentFacts) -> None:
    """A local run cites nothing: the table is exactly the local one (no run_id column, no link)."""
    body = render_e2e_comment(facts)

    assert "| Run | Scenario 1 | Scenario 2 | Scenario 3 | Scenario 4 |" in body
    assert "|---|---|---|---|---|" in body
    assert "run_id" not in body
    assert "/actions/runs/" not in body


def test_e2e_with_matching_actions_metadata_renders(facts: CommentFacts) -> None:
    """The Actions metadata kept beside each run file agrees with WP05's citation: rendered."""
    body = render_e2e_comment(cited(facts, with_meta=True))

    assert f"| 1 | [{IDS[0]}]({url(IDS[0])}) |" in body


# --------------------------------------------------------------------------- the #1038 comment


def test_tracker_cites_the_actions_runs_in_the_launch_gate_table(facts: CommentFacts) -> None:
    """#1038 gets the launch-gate table: Run | run_id | S1 | S2 | S3 | S4 | outcome, one linked row per run."""
    body = render_tracker_comment(cited(facts))

    assert "Identity-boundary canary runs, cited by run id:" in body
    assert "| Run | run_id | S1 | S2 | S3 | S4 | outcome |" in body
    assert "|---|---|---|---|---|---|---|" in body
    for n, run_id in enumerate(IDS, start=1):
        assert f"| {n} | [{run_id}]({url(run_id)}) | pass | pass | pass | pass | pass |" in body
    assert body.index("outcome |") < body.index("No manual SaaS queue mutation")


def test_tracker_local_runs_have_no_run_table(facts: CommentFacts) -> None:
    """A local gate's #1038 comment is unchanged: no run table, no run id."""
    body = render_tracker_comment(facts)

    assert "run_id" not in body
    assert "cited by run id" not in body


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("render", [render_e2e_comment, render_tracker_comment])
def test_some_runs_cited_and_others_not_is_refused(facts: CommentFacts, render: object) -> None:
    """Runs 1-3 cite an Actions run, run 4 does not: which executor ran run 4 is unknown; refused."""
    whole = cited(facts)
    assert whole.runs is not None
    runs = (*whole.runs[:3], attrs.evolve(whole.runs[3], citation=None))
    with pytest.raises(CommentRenderError) as excinfo:
        render(attrs.evolve(whole, runs=runs))  # type: ignore[operator]

    assert excinfo.value.fields == ("executor_runs",)
    assert "runs [1, 2, 3] cite an executor run but runs [4] do not" in str(excinfo.value)


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        (ActionsRun("999", url("999"), 41, 1), f"WP05 cites Actions run {IDS[0]}, its metadata is run 999"),
        (ActionsRun(IDS[0], url("999"), 41, 1), f"WP05 cites {url(IDS[0])}, its metadata says {url('999')}"),
        (ActionsRun(IDS[0], url(IDS[0]), 41, 2), f"is attempt 2 of Actions run {IDS[0]}: a re-run"),
    ],
    ids=["other-run", "other-url", "re-run"],
)
def test_citation_contradicted_by_the_actions_metadata_is_refused(
    facts: CommentFacts, meta: ActionsRun, expected: str
) -> None:
    """The journal's citation must be the run whose metadata the executor kept, attempt 1."""
    whole = cited(facts)
    assert whole.runs is not None
    runs = (attrs.evolve(whole.runs[0], actions=meta), *whole.runs[1:])
    with pytest.raises(CommentRenderError) as excinfo:
        render_e2e_comment(attrs.evolve(whole, runs=runs))

    assert excinfo.value.fields == ("executor_runs",)
    assert expected in str(excinfo.value)


def test_actions_metadata_without_a_citation_is_refused(facts: CommentFacts) -> None:
    """A run file with Actions metadata beside it but no citation in the journal: the journal contradicts it."""
    assert facts.runs is not None
    runs = (attrs.evolve(facts.runs[0], actions=ActionsRun(IDS[0], url(IDS[0]))), *facts.runs[1:])
    with pytest.raises(CommentRenderError) as excinfo:
        render_e2e_comment(attrs.evolve(facts, runs=runs))

    assert f"has GitHub Actions metadata (run {IDS[0]}) but WP05 cites no executor run" in str(excinfo.value)


@pytest.mark.parametrize(
    "bad_url",
    ["javascript:alert(1)", "https://x/y) [z](https://evil", "https://x/`y`", ""],
    ids=["scheme", "breaks-link", "backtick", "empty"],
)
def test_a_url_that_cannot_be_a_link_is_refused(facts: CommentFacts, bad_url: str) -> None:
    """An executor URL is shown verbatim as a link target: one that could break the Markdown is refused."""
    whole = cited(facts)
    assert whole.runs is not None
    runs = (attrs.evolve(whole.runs[0], citation=Citation(IDS[0], bad_url)), *whole.runs[1:])
    with pytest.raises(CommentRenderError) as excinfo:
        render_tracker_comment(attrs.evolve(whole, runs=runs))

    assert excinfo.value.fields == ("executor_runs",)
    assert "is not an http(s) URL that can be shown as a link" in str(excinfo.value)


# --------------------------------------------------------------------------- building facts from WP05


def test_build_pairs_wp05_citations_with_the_run_files_in_run_order(facts: CommentFacts) -> None:
    """WP05's executor_run_ids/urls are in run order: run file k gets citation k."""
    assert facts.runs is not None
    built = build_comment_facts(
        {"WP05": wp05_facts([r.path for r in facts.runs])},
        runs=facts.runs,
        gate_id="g",
        fly_image="img",
        e2e_issue="o/e#41",
        tracker_issue="o/c#1038",
    )

    assert built.runs is not None
    assert [r.citation for r in built.runs] == [Citation(i, url(i)) for i in IDS]
    assert built.citation_problem is None


def test_build_without_citations_leaves_runs_uncited(facts: CommentFacts) -> None:
    """A local WP05 records no executor facts: every run stays uncited and nothing is a problem."""
    assert facts.runs is not None
    built = build_comment_facts(
        {"WP05": {"attempt_dir": "rc16-attempt1"}},
        runs=facts.runs,
        gate_id="g",
        fly_image="img",
        e2e_issue="o/e#41",
        tracker_issue="o/c#1038",
    )

    assert built.runs is not None
    assert all(r.citation is None for r in built.runs)
    assert built.citation_problem is None


def test_build_with_fewer_citations_than_run_files_is_refused_at_render(facts: CommentFacts) -> None:
    """Three citations for four run files: which run each cites is unknown; the renderer names it."""
    assert facts.runs is not None
    built = attrs.evolve(
        facts,
        citation_problem=citation_problem(
            wp05_facts([r.path for r in facts.runs], IDS[:3]), [r.path for r in facts.runs]
        ),
    )
    with pytest.raises(CommentRenderError) as excinfo:
        render_e2e_comment(built)

    assert "3 executor run id(s) for 4 run file(s): cannot tell which run each cites" in str(excinfo.value)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({}, None),
        ({"executor_run_ids": "1,2"}, "2 executor run id(s) but 0 URL(s): they cannot be paired"),
        ({"executor_run_ids": "1", "executor_run_urls": "https://h/1"}, None),
        ({"executor_run_ids": "a b", "executor_run_urls": "https://h/1"}, "executor run id 'a b' is not a plain token"),
    ],
)
def test_citation_problem(facts: dict[str, FactValue], expected: str | None) -> None:
    """Citations pair by position with the run files; ids are plain tokens."""
    assert citation_problem(facts, ["a/runs/run-1.json"]) == expected


def test_parse_citations_and_link() -> None:
    """Comma-separated ids and URLs in run order; a link is [id](url), an id without URL a code span."""
    got = parse_citations({"executor_run_ids": "7, 8", "executor_run_urls": "https://h/7,https://h/8"})

    assert got == (Citation("7", "https://h/7"), Citation("8", "https://h/8"))
    assert render_link(got[0]) == "[7](https://h/7)"
    assert render_link(Citation("9", "")) == "`9`"
    assert parse_citations({"run_ids": "x"}) == ()


# --------------------------------------------------------------------------- the Actions metadata file


def test_evidence_file_names_sit_beside_the_run_file() -> None:
    """run-N.json -> run-N.actions.json and run-N.artifact.zip in the same runs/ folder."""
    assert actions_meta_path("rc16-attempt1/runs/run-3.json") == "rc16-attempt1/runs/run-3.actions.json"
    assert artifact_path("rc16-attempt1/runs/run-3.json") == "rc16-attempt1/runs/run-3.artifact.zip"


def test_parse_actions_run_keeps_what_the_evidence_states() -> None:
    """id (int or str), URL, run number and attempt, head SHA; unknown fields ignored."""
    data = {"id": 42, "run_number": 7, "run_attempt": 1, "html_url": url("42"), "head_sha": "c" * 40, "event": "x"}

    assert parse_actions_run(data, source="m.json") == ActionsRun("42", url("42"), 7, 1, "c" * 40)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "$: expected a JSON object"),
        ({"run_number": 1}, "$.id: expected the workflow run id, got None"),
        ({"id": True}, "$.id: expected the workflow run id, got True"),
        ({"id": 1, "run_attempt": "1"}, "$.run_attempt: expected an integer, got '1'"),
        ({"id": 1, "html_url": 5}, "$.html_url: expected a string, got 5"),
    ],
)
def test_parse_actions_run_names_file_and_field(data: object, expected: str) -> None:
    """A malformed metadata file is an InputError naming the file and the JSON path."""
    with pytest.raises(InputError) as excinfo:
        parse_actions_run(data, source="rc16-attempt1/runs/run-1.actions.json")

    assert "rc16-attempt1/runs/run-1.actions.json" in str(excinfo.value)
    assert expected in str(excinfo.value)


# --------------------------------------------------------------------------- the gate report


def step(wp: str, facts: dict[str, FactValue]) -> StepResult:
    at = dt.datetime(2026, 5, 20, 10, 0, tzinfo=dt.UTC)
    return StepResult(wp=wp, status=StepStatus.PASSED, reason="ok", started_at=at, finished_at=at, facts=facts)


def report(*steps: StepResult) -> GateReport:
    at = dt.datetime(2026, 5, 20, 10, 0, tzinfo=dt.UTC)
    return GateReport(run_id="r1", started_at=at, finished_at=at, steps=steps)


FILES = [f"rc16-attempt1/runs/run-{n}.json" for n in (1, 2, 3, 4)]
ACTIONS_REPORT = report(
    step(
        "WP04",
        {
            "attempt_dir": "rc16-single-attempt1",
            "run_files": "rc16-single-attempt1/runs/run-1.json",
            "executor_run_ids": "15000000000",
            "executor_run_urls": url("15000000000"),
        },
    ),
    step("WP05", wp05_facts(FILES)),
)
LOCAL_REPORT = report(
    step("WP04", {"attempt_dir": "rc16-single-attempt1", "run_files": "rc16-single-attempt1/runs/run-1.json"}),
    step("WP05", {"attempt_dir": "rc16-attempt1", "run_files": ",".join(FILES)}),
)


def test_report_markdown_lists_each_cited_run_with_its_link() -> None:
    """report.md gains a section: WP, run, the Actions run id linked to its URL, the run file."""
    md = render_report_markdown(ACTIONS_REPORT)

    assert "## Canary runs by executor" in md
    assert "| WP | run | run_id | run file |" in md
    assert f"| WP04 | 1 | [15000000000]({url('15000000000')}) | `rc16-single-attempt1/runs/run-1.json` |" in md
    for n, run_id in enumerate(IDS, start=1):
        assert f"| WP05 | {n} | [{run_id}]({url(run_id)}) | `rc16-attempt1/runs/run-{n}.json` |" in md


def test_report_markdown_of_local_runs_has_no_citation_section() -> None:
    """A local gate's report.md is exactly the WP table."""
    md = render_report_markdown(LOCAL_REPORT)

    assert "Canary runs by executor" not in md
    assert report_citation_lines(LOCAL_REPORT.steps) == []
    assert md.rstrip("\n").splitlines()[-1].startswith("| WP05 |")


def test_report_json_carries_canary_runs_only_when_cited() -> None:
    """report.json: canary_runs (wp, run, run_file, run_id, url) with citations; the plain report without."""
    data = json.loads(convert.dumps(report_json_data(ACTIONS_REPORT)))

    assert data["canary_runs"][0] == {
        "wp": "WP04",
        "run": 1,
        "run_file": "rc16-single-attempt1/runs/run-1.json",
        "run_id": "15000000000",
        "url": url("15000000000"),
    }
    assert [(r["wp"], r["run"], r["run_id"]) for r in data["canary_runs"][1:]] == [
        ("WP05", n, i) for n, i in enumerate(IDS, start=1)
    ]
    assert convert.dumps(report_json_data(LOCAL_REPORT)) == convert.dumps(LOCAL_REPORT)
    assert report_citations_json(LOCAL_REPORT.steps) == []


def test_unpaired_citations_are_reported_by_position() -> None:
    """Two citations for four run files: the report still shows them, numbered by position, unpaired."""
    runs = cited_runs("WP05", wp05_facts(FILES, IDS[:2]))

    assert [(r.number, r.run_file, r.citation.run_id) for r in runs] == [(1, None, IDS[0]), (2, None, IDS[1])]
    md = "\n".join(report_citation_lines([step("WP05", wp05_facts(FILES, IDS[:2]))]))
    assert "(not paired with a run file)" in md


def test_report_cell_cannot_break_the_table() -> None:
    """A citation that is not a plain id and link is shown escaped in a code span, never as a link."""
    facts: dict[str, FactValue] = {
        "run_files": FILES[0],
        "executor_run_ids": "a|b",
        "executor_run_urls": "https://h/`x`",
    }
    (line,) = [ln for ln in report_citation_lines([step("WP05", facts)]) if ln.startswith("| WP05")]

    assert line == "| WP05 | 1 | `a\\|b` (https://h/'x') | `rc16-attempt1/runs/run-1.json` |"


def test_run_row_keeps_no_citation_by_default(facts: CommentFacts) -> None:
    """RunRow's new fields default to None, so facts built before citations existed render unchanged."""
    row = RunRow(1, "a/runs/run-1.json", "pass", ((1, "pass"),))

    assert (row.citation, row.actions) == (None, None)
    assert render_e2e_comment(facts) == render_e2e_comment(attrs.evolve(facts, citation_problem=None))


def test_teamspace_runs_cited_by_wp07_are_listed_by_their_logs() -> None:
    """WP07's Teamspace runs, when its executor cites them, are numbered from teamspace-run-N.log."""
    facts: dict[str, FactValue] = {
        "teamspace_runs_passed": 2,
        "teamspace_logs": "wp07/1/teamspace-run-1.log,wp07/1/teamspace-run-2.log",
        "executor_run_ids": "31,32",
        "executor_run_urls": f"{url('31')},{url('32')}",
    }
    lines = report_citation_lines([step("WP07", facts)])

    assert f"| WP07 | 2 | [32]({url('32')}) | `wp07/1/teamspace-run-2.log` |" in lines
