"""The renderer includes every required field or raises (WP06/WP08 stop condition:
"the comment cannot be rendered from observed facts")."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from phase4gate.checks.comments import (
    E2E_REQUIRED_FACTS,
    TRACKER_REQUIRED_FACTS,
    CommentFacts,
    CommentRenderError,
    RunRow,
    parse_marker,
    render_e2e_comment,
    render_tracker_comment,
)

_HEX = "0123456789abcdef"
_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.:/_", min_size=1, max_size=30).filter(
    lambda s: "--" not in s
)


@st.composite
def complete_facts(draw: st.DrawFn) -> CommentFacts:
    """Facts a passing gate could record: every field present, every claim supported."""
    minor = draw(st.integers(min_value=0, max_value=40))
    rc = f"3.2.0rc{minor}"
    attempt = f"rc{minor}-attempt{draw(st.integers(min_value=1, max_value=9))}"
    runs = tuple(
        RunRow(
            number=n,
            path=f"{attempt}/runs/run-{n}.json",
            outcome="pass",
            scenarios=tuple((s, "pass") for s in (1, 2, 3, 4)),
            cli_version=draw(st.sampled_from([rc, None])),
        )
        for n in (1, 2, 3, 4)
    )
    events = draw(st.sampled_from(["5.1.0", "5.1.1", "5.2.0", "6.0.0", "10.0.0"]))
    return CommentFacts(
        gate_id=draw(_word),
        cli_version=rc,
        rc_tag=f"v{rc}",
        rc_commit=draw(st.text(alphabet=_HEX, min_size=40, max_size=40)),
        fly_image=draw(_word),
        saas_git_sha=draw(st.text(alphabet=_HEX, min_size=7, max_size=40)),
        events_version=events,
        health_status=200,
        ready_status=200,
        terminal_failed=draw(st.integers(min_value=0, max_value=10_000)),
        business_rule_rejected=draw(st.integers(min_value=0, max_value=10_000)),
        attempt_dir=attempt,
        runs=runs,
        bundle_path=f"wp06/1/{attempt}.tar.gz",
        bundle_sha256=draw(st.text(alphabet=_HEX, min_size=64, max_size=64)),
        e2e_issue=f"{draw(_word).replace('/', '')}/e2e#41",
        e2e_comment_url=f"http://127.0.0.1/{draw(_word)}",
        e2e_state="closed",
        tracker_issue="o/cli#1038",
        teamspace_runs_passed=4,
    )


_OPTIONAL_FIELDS = [a.name for a in attrs.fields(CommentFacts) if a.default is None]


@given(complete_facts(), st.sets(st.sampled_from(_OPTIONAL_FIELDS)))
def test_renderer_includes_every_field_or_raises(facts: CommentFacts, dropped: set[str]) -> None:
    """Either every observed value appears in the body, or the error names exactly the missing fields."""
    changes: dict[str, object] = dict.fromkeys(dropped)
    partial = attrs.evolve(facts, **changes)  # type: ignore[arg-type]
    for render, required in (
        (render_e2e_comment, E2E_REQUIRED_FACTS),
        (render_tracker_comment, TRACKER_REQUIRED_FACTS),
    ):
        missing = dropped & set(required)
        if missing:
            with pytest.raises(CommentRenderError) as excinfo:
                render(partial)
            assert set(excinfo.value.fields) == missing
            continue
        body = render(partial)
        for name in required:
            value = getattr(partial, name)
            if name == "runs":
                assert all(r.path in body for r in value) or render is render_tracker_comment
            elif name in {"health_status", "ready_status"}:
                assert f" {value}" in body
            elif name in {"terminal_failed", "business_rule_rejected"}:
                assert f"={value}" in body
            elif name == "e2e_state":
                assert "(now closed)" in body
            elif name == "e2e_issue" and render is render_tracker_comment:
                assert "e2e#41" in body
            else:
                assert str(value) in body, name
        marker = parse_marker(body)
        assert marker is not None
        assert marker.bundle_sha256 == partial.bundle_sha256


@given(complete_facts(), st.integers(min_value=1, max_value=4), st.sampled_from(["fail", "skipped", "error"]))
def test_a_failed_cell_is_never_rendered_as_four_of_four(facts: CommentFacts, run: int, status: str) -> None:
    """Any non-pass cell refuses the "4/4 pass" comment."""
    assert facts.runs is not None
    runs = tuple(
        attrs.evolve(r, scenarios=((1, "pass"), (2, status), (3, "pass"), (4, "pass"))) if r.number == run else r
        for r in facts.runs
    )
    with pytest.raises(CommentRenderError) as excinfo:
        render_e2e_comment(attrs.evolve(facts, runs=runs))
    assert excinfo.value.fields == ("runs",)


_plain = st.from_regex(r"[a-z0-9._-]{1,12}", fullmatch=True)
_anything = st.text(alphabet="abc019:/.-_()[]|` <>'\"#?=&", min_size=0, max_size=40)
# Half the time four plain ids and URL paths (rendered), else anything (refused or rendered, never a broken table).
_citations = st.one_of(
    st.lists(st.tuples(_plain, _plain), min_size=4, max_size=4),
    st.lists(st.tuples(st.one_of(_plain, _anything), st.one_of(_plain, _anything)), min_size=4, max_size=4),
)


@given(complete_facts(), _citations)
def test_executor_citations_render_as_whole_table_rows_or_are_refused(
    facts: CommentFacts, citations: list[tuple[str, str]]
) -> None:
    """Any run id and URL: refused naming executor_runs, or every table row has the header's cells and the link."""
    from phase4gate.checks.citations import Citation, render_link

    assert facts.runs is not None
    runs = tuple(
        attrs.evolve(r, citation=Citation(run_id, f"https://h/{url}"))
        for r, (run_id, url) in zip(facts.runs, citations, strict=True)
    )
    cited = attrs.evolve(facts, runs=runs)
    for render in (render_e2e_comment, render_tracker_comment):
        try:
            body = render(cited)
        except CommentRenderError as exc:
            assert exc.fields == ("executor_runs",)
            continue
        table = [ln for ln in body.splitlines() if ln.startswith("| ")]
        assert len({ln.count(" | ") for ln in table}) == 1, table
        for r in runs:
            assert r.citation is not None
            assert f"| {r.number} | {render_link(r.citation)} |" in body
