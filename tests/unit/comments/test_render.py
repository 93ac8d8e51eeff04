"""The two evidence comments are rendered from observed facts only, or refused."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from phase4gate.checks.comments import (
    E2E_HEADING,
    GITHUB_BODY_LIMIT,
    NO_MUTATION_E2E,
    NO_MUTATION_TRACKER,
    TRACKER_HEADING,
    CommentFacts,
    CommentRenderError,
    RunRow,
    build_comment_facts,
    drain_names,
    parse_marker,
    render_e2e_comment,
    render_tracker_comment,
    run_row,
)
from phase4gate.errors import ExitCode, InputError
from phase4gate.models import parse_run_file

SHA = "a" * 64
MakeRuns = Callable[..., tuple[RunRow, ...]]


def test_e2e_body_has_every_field(facts: CommentFacts) -> None:
    """The e2e#41 body carries the heading, CLI, SaaS, events, health, drain, table, paths, statement."""
    body = render_e2e_comment(facts)

    assert body.startswith(f"## {E2E_HEADING}\n")
    assert "`spec-kitty-cli==3.2.0rc16`, tag `v3.2.0rc16`, commit `0123456789abcdef" in body
    assert "Fly image `registry.fly.io/spec-kitty-dev:deployment-01J`" in body
    assert "git SHA `fedcba9876543210fedcba9876543210fedcba98`" in body
    assert "spec-kitty-events==5.1.0" in body
    assert "- `/health/` status: 200" in body
    assert "- `/health/ready/` status: 200" in body
    assert "`terminal_failed_count=0`, `business_rule_rejected_count=22`" in body
    assert "4/4 pass (16/16 scenario cells pass)" in body
    assert NO_MUTATION_E2E in body
    for n in range(1, 5):
        assert f"- `rc16-attempt1/runs/run-{n}.json`" in body
        assert f"| {n} | pass | pass | pass | pass |" in body


def test_e2e_table_has_sixteen_cells(facts: CommentFacts) -> None:
    """Four runs x four scenarios, one row per run."""
    body = render_e2e_comment(facts)
    rows = [ln for ln in body.splitlines() if ln.startswith("| ") and ln[2].isdigit()]

    assert len(rows) == 4
    assert sum(row.count("| pass") for row in rows) == 16


def test_tracker_body_has_every_field(facts: CommentFacts) -> None:
    """The #1038 body: CLI, events, SaaS, drain in its spelling, e2e#41 link, Teamspace, bundle, statement."""
    body = render_tracker_comment(facts)

    assert body.startswith(f"## {TRACKER_HEADING}\n")
    assert "spec-kitty-events==5.1.0 (5.1.0 or newer)" in body
    assert "`/health/` 200, `/health/ready/` 200" in body
    assert "terminal_failed_infra=0, terminal_failed_business_rule=22" in body
    assert "terminal_failed_count" not in body
    assert f"evidence on e2e#41 (now closed): {facts.e2e_comment_url}" in body
    assert "Teamspace MVP canary suite: 4/4 pass." in body
    assert f"`wp06/1/rc16-attempt1.tar.gz` (sha256 `{SHA}`)" in body
    assert NO_MUTATION_TRACKER in body


def test_marker_is_last_and_names_gate_issue_and_sha(facts: CommentFacts) -> None:
    """Both bodies end with a hidden marker for their own issue and the bundle sha256."""
    e2e = parse_marker(render_e2e_comment(facts))
    tracker = parse_marker(render_tracker_comment(facts))

    assert e2e is not None
    assert tracker is not None
    assert (e2e.gate_id, e2e.issue, e2e.bundle_sha256) == (facts.gate_id, facts.e2e_issue, SHA)
    assert tracker.issue == facts.tracker_issue
    assert render_tracker_comment(facts).rstrip().endswith("-->")


def test_rendering_is_deterministic(facts: CommentFacts) -> None:
    """The same facts give the same bytes (a re-run updates nothing)."""
    assert render_e2e_comment(facts) == render_e2e_comment(attrs.evolve(facts))


@pytest.mark.parametrize(
    ("field", "source"),
    [
        ("cli_version", "WP02 fact 'rc_version'"),
        ("rc_commit", "WP02 fact 'rc_commit'"),
        ("saas_git_sha", "WP03 fact 'saas_git_sha'"),
        ("terminal_failed", "WP03 fact 'terminal_failed_count'"),
        ("runs", "WP05 fact 'run_files'"),
        ("bundle_sha256", "WP06 fact 'bundle_sha256'"),
    ],
)
def test_missing_fact_is_named(facts: CommentFacts, field: str, source: str) -> None:
    """A missing fact refuses the render and names the field and where it comes from."""
    missing: dict[str, object] = {field: None}
    with pytest.raises(CommentRenderError) as excinfo:
        render_e2e_comment(attrs.evolve(facts, **missing))  # type: ignore[arg-type]

    assert excinfo.value.fields == (field,)
    assert source in str(excinfo.value)
    assert excinfo.value.exit_code == ExitCode.STOPPED


def test_missing_fly_image_names_the_config_key(facts: CommentFacts) -> None:
    """The Fly image comes only from the operator: the error names saas.fly_image."""
    with pytest.raises(CommentRenderError) as excinfo:
        render_tracker_comment(attrs.evolve(facts, fly_image=None))

    assert "config key saas.fly_image" in str(excinfo.value)
    assert excinfo.value.hint is not None
    assert "saas.fly_image" in excinfo.value.hint


def test_every_missing_fact_is_reported_at_once() -> None:
    """Nothing observed: every required field is listed in one error."""
    with pytest.raises(CommentRenderError) as excinfo:
        render_tracker_comment(CommentFacts())

    assert {"cli_version", "fly_image", "e2e_comment_url", "teamspace_runs_passed", "runs"} <= set(excinfo.value.fields)


@pytest.mark.parametrize("version", ["5.0.9", "4.9.0", "5.1.0rc1"])
def test_old_events_version_is_refused(facts: CommentFacts, version: str) -> None:
    """spec-kitty-events older than 5.1.0 is refused."""
    with pytest.raises(CommentRenderError, match=r"older than 5\.1\.0"):
        render_e2e_comment(attrs.evolve(facts, events_version=version))


def test_unparseable_events_version_is_refused(facts: CommentFacts) -> None:
    with pytest.raises(CommentRenderError, match="is not a version"):
        render_e2e_comment(attrs.evolve(facts, events_version="latest"))


def test_newer_events_version_is_accepted(facts: CommentFacts) -> None:
    assert "spec-kitty-events==6.0.1" in render_e2e_comment(attrs.evolve(facts, events_version="6.0.1"))


def test_failed_run_cannot_be_claimed_four_of_four(facts: CommentFacts, make_runs: MakeRuns) -> None:
    """4/4 pass cannot be rendered when a run failed."""
    runs = list(make_runs())
    runs[2] = attrs.evolve(runs[2], outcome="fail", scenarios=((1, "pass"), (2, "pass"), (3, "pass"), (4, "fail")))

    with pytest.raises(CommentRenderError) as excinfo:
        render_e2e_comment(attrs.evolve(facts, runs=tuple(runs)))

    assert "run 3" in str(excinfo.value)
    assert "4=fail" in str(excinfo.value)


def test_three_runs_cannot_be_claimed_four_of_four(facts: CommentFacts, make_runs: MakeRuns) -> None:
    with pytest.raises(CommentRenderError, match=r"run numbers \[1, 2, 3\]"):
        render_e2e_comment(attrs.evolve(facts, runs=make_runs(n=3)))


def test_missing_scenario_is_refused(facts: CommentFacts, make_runs: MakeRuns) -> None:
    runs = list(make_runs())
    runs[0] = attrs.evolve(runs[0], scenarios=((1, "pass"), (2, "pass"), (3, "pass")))
    with pytest.raises(CommentRenderError, match=r"has scenarios \[1, 2, 3\]"):
        render_e2e_comment(attrs.evolve(facts, runs=tuple(runs)))


def test_run_file_outside_attempt_folder_is_refused(facts: CommentFacts, make_runs: MakeRuns) -> None:
    with pytest.raises(CommentRenderError, match="not inside the attempt folder"):
        render_e2e_comment(attrs.evolve(facts, runs=make_runs(attempt="rc15-attempt1")))


def test_run_of_another_cli_version_contradicts_the_journal(facts: CommentFacts, make_runs: MakeRuns) -> None:
    runs = tuple(attrs.evolve(r, cli_version="3.2.0rc15") for r in make_runs())
    with pytest.raises(CommentRenderError, match="the journal contradicts it"):
        render_e2e_comment(attrs.evolve(facts, runs=runs))


def test_unhealthy_saas_is_refused(facts: CommentFacts) -> None:
    with pytest.raises(CommentRenderError, match=r"/health/ready/ answered 503"):
        render_e2e_comment(attrs.evolve(facts, ready_status=503))


def test_open_e2e_issue_cannot_be_called_closed(facts: CommentFacts) -> None:
    """#1038 says e2e#41 is now closed; it must be."""
    with pytest.raises(CommentRenderError, match="now closed"):
        render_tracker_comment(attrs.evolve(facts, e2e_state="open"))


def test_teamspace_three_of_four_is_refused(facts: CommentFacts) -> None:
    with pytest.raises(CommentRenderError, match="3 of 4 Teamspace runs passed"):
        render_tracker_comment(attrs.evolve(facts, teamspace_runs_passed=3))


def test_bad_bundle_sha_is_refused(facts: CommentFacts) -> None:
    with pytest.raises(CommentRenderError, match="64 lowercase hex"):
        render_e2e_comment(attrs.evolve(facts, bundle_sha256="XYZ"))


def test_gate_id_with_spaces_cannot_go_into_marker(facts: CommentFacts) -> None:
    with pytest.raises(CommentRenderError, match="hidden marker"):
        render_e2e_comment(attrs.evolve(facts, gate_id="a -- b"))


def test_body_over_github_limit_is_refused(facts: CommentFacts) -> None:
    """A body over 65,536 characters is refused before sending."""
    huge = attrs.evolve(facts, fly_image="x" * GITHUB_BODY_LIMIT)
    with pytest.raises(CommentRenderError, match="over GitHub's limit of 65536"):
        render_e2e_comment(huge)


def test_drain_spellings_per_document() -> None:
    """One internal name per count, spelled per document."""
    assert drain_names("readiness") == ("terminal_failed_count", "business_rule_rejected_count")
    assert drain_names("e2e-41") == ("terminal_failed_count", "business_rule_rejected_count")
    assert drain_names("issue-1038") == ("terminal_failed_infra", "terminal_failed_business_rule")
    assert drain_names("harness") == ("batch_intake_terminal_failed", "batch_intake_business_rule_rejected")


def test_build_facts_maps_wp_facts_to_internal_names() -> None:
    """The WP facts of the journal map onto the internal names; nothing is invented."""
    facts = build_comment_facts(
        {
            "WP02": {"rc_version": "3.2.0rc16", "rc_tag": "v3.2.0rc16", "rc_commit": "abc"},
            "WP03": {
                "terminal_failed_count": 0,
                "business_rule_rejected_count": "22",
                "health_status": 200,
                "ready_status": True,
            },
            "WP07": {"teamspace_runs_passed": 4},
        },
        runs=None,
        gate_id="g",
        fly_image=None,
        e2e_issue="o/e#41",
        tracker_issue="o/c#1038",
    )

    assert facts.cli_version == "3.2.0rc16"
    assert facts.terminal_failed == 0
    assert facts.business_rule_rejected == 22
    assert facts.ready_status is None  # a boolean is not a status code
    assert facts.fly_image is None
    assert facts.saas_git_sha is None
    assert facts.runs is None
    assert facts.teamspace_runs_passed == 4


def _harness_run(n: int, status: str = "pass") -> dict[str, object]:
    return {
        "run_id": f"01J{n}",
        "outcome": "pass" if status == "pass" else "fail",
        "cli_version": "spec-kitty-cli version 3.2.0rc16",
        "scenarios": [
            {"scenario_id": s, "name": f"scenario-{s}", "status": status if s == 4 else "pass"} for s in (1, 2, 3, 4)
        ],
    }


def test_run_row_from_a_harness_run_file() -> None:
    """The run number comes from the file name; the CLI version from the harness's line."""
    path = "rc16-attempt1/runs/run-3.json"
    row = run_row(path, parse_run_file(_harness_run(3), source=path, file_run_number=3))

    assert row == RunRow(
        number=3,
        path=path,
        outcome="pass",
        scenarios=((1, "pass"), (2, "pass"), (3, "pass"), (4, "pass")),
        cli_version="3.2.0rc16",
    )


def test_run_row_needs_a_run_number() -> None:
    run = parse_run_file(_harness_run(1), source="x.json")
    with pytest.raises(InputError, match=r"run-N\.json"):
        run_row("rc16-attempt1/latest.json", run)


@pytest.mark.parametrize(("runs", "cells"), [(3, 16), (4, 15)])
def test_wp05_counts_that_disagree_with_the_run_files_are_refused(facts: CommentFacts, runs: int, cells: int) -> None:
    """WP05's recorded counts must match what its run files show."""
    with pytest.raises(CommentRenderError, match="the journal contradicts them"):
        render_e2e_comment(attrs.evolve(facts, claimed_runs_passed=runs, claimed_cells_passed=cells))


def test_wp05_counts_that_agree_are_accepted(facts: CommentFacts) -> None:
    body = render_e2e_comment(attrs.evolve(facts, claimed_runs_passed=4, claimed_cells_passed=16))
    assert "16/16 scenario cells pass" in body


@pytest.mark.parametrize("value", ["sha\n## Forged heading", "a`b", "x<!-- hidden -->"])
def test_value_that_breaks_markdown_is_refused(facts: CommentFacts, value: str) -> None:
    """A value read from the SaaS is shown verbatim, so one that could forge content is refused."""
    with pytest.raises(CommentRenderError) as excinfo:
        render_tracker_comment(attrs.evolve(facts, saas_git_sha=value))
    assert excinfo.value.fields == ("saas_git_sha",)
