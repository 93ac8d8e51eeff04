"""Pure canary checks: signature triage, one-run and four-run verdicts, JUnit, Teamspace triage."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phase4gate.checks.canary import (
    INGRESS_CAP_BYTES,
    JUnitCase,
    RunVerdict,
    SignatureMatch,
    TeamspaceFailure,
    blockers_to_reopen,
    check_protocol,
    check_run,
    check_teamspace_run,
    parse_junit,
    quote_failure,
    render_reopen_comment,
    run_file_from_junit,
    scenario_for_case,
    should_reopen,
    triage_failure,
    triage_teamspace_log,
    unknown_signatures,
)
from phase4gate.config import CanaryConfig
from phase4gate.errors import InputError
from phase4gate.models import ScenarioStatus, parse_run_file
from phase4gate.sandbox.e2e import SIGNATURE_TEXTS, TEAMSPACE_TEXTS, UNKNOWN_SIGNATURE_TEXT

SIGS = CanaryConfig().signatures


def _run(statuses: dict[int, str], *, version: str | None = "spec-kitty-cli version 3.2.0rc16", **extra: Any) -> Any:
    outcome = "pass" if all(s == "pass" for s in statuses.values()) else "fail"
    doc: dict[str, Any] = {
        "run_id": "01KS1W46ZAR9S9RJPQQJAMCV6P",
        "outcome": extra.pop("outcome", outcome),
        "cli_version": version,
        "scenarios": [
            {"scenario_id": sid, "name": f"scenario-{sid}", "status": st_, "failure_reason": extra.get(f"r{sid}")}
            for sid, st_ in statuses.items()
        ],
    }
    return parse_run_file(doc, source="run-1.json")


ALL_PASS = {1: "pass", 2: "pass", 3: "pass", 4: "pass"}


@pytest.mark.parametrize(
    ("scenario", "text", "signature", "blocker"),
    [
        (4, SIGNATURE_TEXTS["rollback-peek"], "rollback-peek", 1141),
        (1, SIGNATURE_TEXTS["event-loop-unavailable"], "event-loop-unavailable", 1182),
        (2, "Errors: 3 (unknown: 3)\nsync.event_loop_unavailable", "event-loop-unavailable", 1182),
        (2, SIGNATURE_TEXTS["forbidden-key"], "forbidden-key", 1142),
    ],
)
def test_known_signatures_map_to_their_blocker(scenario: int, text: str, signature: str, blocker: int) -> None:
    match = triage_failure(text, scenario_id=scenario, run_number=1, status="fail", signatures=SIGS)
    assert (match.signature, match.blocker, match.known) == (signature, blocker, True)
    assert f"#{blocker}" in match.describe()


def test_unknown_signature_is_quoted_and_maps_to_nothing() -> None:
    match = triage_failure(UNKNOWN_SIGNATURE_TEXT, scenario_id=3, run_number=2, status="fail", signatures=SIGS)
    assert (match.signature, match.blocker) == (None, None)
    assert "Batch sync failed (400)" in match.quote
    assert "new failure signature" in match.describe()
    assert unknown_signatures([match]) == (match,)
    assert blockers_to_reopen([match]) == ()


def test_signature_restricted_to_its_scenarios() -> None:
    """The rollback-peek text in scenario 1 is not S4's signature: it is new."""
    match = triage_failure(
        SIGNATURE_TEXTS["rollback-peek"], scenario_id=1, run_number=1, status="fail", signatures=SIGS
    )
    assert match.signature is None


def test_event_loop_without_unknown_errors_is_not_1182() -> None:
    text = "sync.event_loop_unavailable Errors: 1 (unknown: 0)"
    assert triage_failure(text, scenario_id=1, run_number=1, status="fail", signatures=SIGS).signature is None


def test_missing_failure_text_is_described() -> None:
    match = triage_failure(None, scenario_id=2, run_number=1, status="skipped", signatures=SIGS)
    assert match.quote == "(scenario skipped without a failure reason)"


def test_blockers_deduplicated_in_order_and_reopen_only_closed() -> None:
    ms = [
        SignatureMatch(1, 4, "fail", "rollback-peek", 1141, "q"),
        SignatureMatch(1, 1, "fail", "event-loop-unavailable", 1182, "q"),
        SignatureMatch(1, 2, "fail", "event-loop-unavailable", 1182, "q"),
        SignatureMatch(1, 3, "fail", None, None, "q"),
    ]
    assert blockers_to_reopen(ms) == (1141, 1182)
    assert should_reopen("closed") is True
    assert should_reopen("open") is False


def test_reopen_comment_names_rc_run_scenario_and_evidence() -> None:
    body = render_reopen_comment(
        rc_version="3.2.0rc16",
        match=SignatureMatch(3, 4, "fail", "rollback-peek", 1141, "peeked row"),
        evidence_path="rc16-attempt1/runs/run-3.json",
        gate_id="gate",
    )
    for needle in ("3.2.0rc16", "Run: 3, scenario 4", "rollback-peek", "rc16-attempt1/runs/run-3.json"):
        assert needle in body


def test_quote_failure_picks_the_error_line() -> None:
    assert quote_failure("setup\nE   AssertionError: boom\nmore") == "AssertionError: boom"
    assert quote_failure("just words") == "just words"
    assert quote_failure("   ") == "(no failure text)"
    assert len(quote_failure("Error " + "x" * 1000)) == 240


def test_check_run_passes_a_green_run_with_the_installed_version() -> None:
    verdict = check_run(_run(ALL_PASS), run_number=1, expected_version="3.2.0rc16", signatures=SIGS, source="f")
    assert verdict == RunVerdict(1, passed=True, problems=(), failures=(), cells_passed=4)


def test_check_run_names_the_failing_scenario() -> None:
    run = _run({**ALL_PASS, 4: "fail"}, r4=SIGNATURE_TEXTS["rollback-peek"])
    verdict = check_run(run, run_number=2, expected_version="3.2.0rc16", signatures=SIGS, source="f")
    assert not verdict.passed
    assert verdict.cells_passed == 3
    assert verdict.failures[0].blocker == 1141
    assert verdict.describe().startswith("run 2: scenario 4 fail")


def test_check_run_version_mismatch_and_missing() -> None:
    other = check_run(
        _run(ALL_PASS, version="spec-kitty-cli version 3.2.0rc15"),
        run_number=1,
        expected_version="3.2.0rc16",
        signatures=SIGS,
        source="f",
    )
    assert (other.passed, other.version_mismatch) == (False, True)
    assert "3.2.0rc15 ran, but WP02 installed 3.2.0rc16" in other.problems[0]
    missing = check_run(
        _run(ALL_PASS, version=None), run_number=1, expected_version="3.2.0rc16", signatures=SIGS, source="f"
    )
    assert not missing.passed
    assert "cannot tell which CLI ran" in missing.problems[0]


def test_check_run_skipped_outcome() -> None:
    run = _run({1: "skipped", 2: "skipped", 3: "skipped", 4: "skipped"}, outcome="skipped")
    verdict = check_run(run, run_number=1, expected_version="3.2.0rc16", signatures=SIGS, source="f")
    assert not verdict.passed
    assert any("a skip is never a pass" in p for p in verdict.problems)


def _v(n: int, *, passed: bool = True) -> RunVerdict:
    return RunVerdict(n, passed, () if passed else ("scenario 4 fail",), (), 4 if passed else 3)


def test_protocol_four_green_runs_pass() -> None:
    verdict = check_protocol([_v(k) for k in range(1, 5)])
    assert (verdict.passed, verdict.runs_passed, verdict.cells_passed) == (True, 4, 16)


def test_protocol_empty_fewer_more_and_gaps_fail() -> None:
    assert not check_protocol([]).passed
    assert "no runs recorded" in check_protocol([]).reason
    assert "exactly 4" in check_protocol([_v(1), _v(2), _v(3)]).reason
    assert not check_protocol([_v(k) for k in range(1, 6)]).passed
    assert "not consecutive" in check_protocol([_v(1), _v(3)]).reason
    partial = RunVerdict(1, passed=True, problems=(), failures=(), cells_passed=3)
    assert "cells passed" in check_protocol([partial], required_runs=1).reason


def test_protocol_first_failure_stops() -> None:
    verdict = check_protocol([_v(1), _v(2), _v(3, passed=False)])
    assert (verdict.passed, verdict.failed_run, verdict.runs_passed, verdict.cells_passed) == (False, 3, 2, 8)
    assert "protocol stopped after run 3 of 4" in verdict.reason


@given(st.lists(st.booleans(), max_size=7))
def test_protocol_passes_only_with_exactly_four_passing_runs(flags: list[bool]) -> None:
    """WP05 "any run != pass": the verdict passes iff there are exactly four runs and all pass."""
    verdict = check_protocol([_v(i + 1, passed=f) for i, f in enumerate(flags)])
    assert verdict.passed == (len(flags) == 4 and all(flags))


_JUNIT = """<?xml version="1.0"?>
<testsuites><testsuite name="pytest" tests="5">
<testcase classname="tests.identity_boundary.test_scenario_1_fresh_authenticated_mission" name="test_scenario_1_fresh_authenticated_mission" time="0.5"/>
<testcase classname="tests.identity_boundary.test_scenario_2_legacy_queue_migration" name="test_scenario_2_legacy_queue_migration" time="x"><skipped message="no SaaS"/></testcase>
<testcase classname="tests.identity_boundary.test_scenario_3_owner_mismatch" name="test_scenario_3_owner_mismatch"><error message="fixture broke">trace</error></testcase>
<testcase classname="tests.identity_boundary.test_scenario_4_review_rejection_contract" name="test_a"><failure message="AssertionError: peeked row is not the rollback we triggered">tb</failure></testcase>
<testcase classname="tests.identity_boundary.test_scenario_4_review_rejection_contract" name="test_b"/>
<testcase classname="tests.test_other" name="test_unrelated"/>
</testsuite></testsuites>"""


def test_parse_junit_and_build_a_run_file() -> None:
    cases = parse_junit(_JUNIT, source="run-1.junit.xml")
    assert [c.status for c in cases][:4] == [
        ScenarioStatus.PASS,
        ScenarioStatus.SKIPPED,
        ScenarioStatus.ERROR,
        ScenarioStatus.FAIL,
    ]
    assert cases[1].time == 0.0
    doc = run_file_from_junit(
        cases,
        scenario_map={},
        cli_version="spec-kitty-cli version 3.2.0rc16",
        run_id="r",
        started_at="2026-05-20T00:00:00+00:00",
        finished_at="2026-05-20T00:01:00+00:00",
    )
    assert doc["outcome"] == "fail"
    assert [s["status"] for s in doc["scenarios"]] == ["pass", "skipped", "error", "fail"]
    assert "peeked row" in doc["scenarios"][3]["failure_reason"]
    run = parse_run_file(doc, source="built")
    assert [s.scenario_id for s in run.failed_scenarios()] == [2, 3, 4]


def test_junit_scenario_map_wins_and_unmapped_cases_are_ignored() -> None:
    case = JUnitCase("tests.test_login", "test_login_ok", ScenarioStatus.PASS)
    assert scenario_for_case(case, {"test_login": 1}) == 1
    assert scenario_for_case(case, {}) is None


def test_junit_malformed_and_wrong_root() -> None:
    with pytest.raises(InputError, match="not valid JUnit XML"):
        parse_junit("<testsuite", source="j.xml")
    with pytest.raises(InputError, match="root element is <html>"):
        parse_junit("<html/>", source="j.xml")


@pytest.mark.parametrize("kind", [k.value for k in TeamspaceFailure])
def test_teamspace_triage_each_kind(kind: str) -> None:
    log = f"collected 3 items\nFAILED tests/test_x.py::test_sync - {TEAMSPACE_TEXTS[kind]}\n"
    triage = triage_teamspace_log(log)
    assert triage.kind.value == kind
    assert TEAMSPACE_TEXTS[kind][:20] in triage.quote


def test_teamspace_413_names_the_cap_and_never_raises_it() -> None:
    triage = triage_teamspace_log("HTTP 413 Payload Too Large")
    assert str(INGRESS_CAP_BYTES) in triage.describe()
    assert "never raise the cap" in triage.describe()


def test_teamspace_run_verdicts() -> None:
    files = ("tests/test_a_e2e.py", "tests/test_b_e2e.py")
    ok = [
        JUnitCase("tests.test_a_e2e", "t", ScenarioStatus.PASS),
        JUnitCase("tests.test_b_e2e", "t", ScenarioStatus.PASS),
    ]
    assert check_teamspace_run(ok, run_number=1, files=files, returncode=0).passed
    assert "0 collected" in check_teamspace_run([], run_number=1, files=files, returncode=5).problems[0]
    missing = check_teamspace_run(ok[:1], run_number=1, files=files, returncode=0)
    assert missing.problems == ("tests/test_b_e2e.py: no test of this file ran",)
    skipped = [ok[0], JUnitCase("tests.test_b_e2e", "t", ScenarioStatus.SKIPPED, "no SaaS")]
    assert "skipped" in check_teamspace_run(skipped, run_number=1, files=files, returncode=0).problems[0]
    disagree = check_teamspace_run(ok, run_number=1, files=files, returncode=1)
    assert "exited 1" in disagree.problems[0]


def test_versions_compare_as_pep440() -> None:
    run = _run(ALL_PASS, version="spec-kitty-cli version 3.2.0-rc16")
    assert check_run(run, run_number=1, expected_version="3.2.0rc16", signatures=SIGS, source="f").passed
    odd = _run(ALL_PASS, version="spec-kitty-cli version 3.2.0rc16")
    assert not check_run(odd, run_number=1, expected_version="not a version", signatures=SIGS, source="f").passed


def test_failing_scenario_names_file_and_field() -> None:
    run = _run({**ALL_PASS, 3: "skipped"})
    verdict = check_run(run, run_number=1, expected_version="3.2.0rc16", signatures=SIGS, source="a/runs/run-1.json")
    assert verdict.problems[0].endswith("[a/runs/run-1.json: $.scenarios[2].status]")


@given(st.text(max_size=400))
def test_triage_never_raises_and_always_quotes(text: str) -> None:
    """Any failure text is triaged to a signature or quoted as new; Teamspace logs always get a kind."""
    match = triage_failure(text, scenario_id=4, run_number=1, status="fail", signatures=SIGS)
    assert match.quote
    assert len(match.quote) <= 240
    assert triage_teamspace_log(text).kind in set(TeamspaceFailure)


@given(st.lists(st.sampled_from(["pass", "fail", "skipped", "error"]), min_size=4, max_size=4))
def test_junit_built_run_files_satisfy_the_invariants(statuses: list[str]) -> None:
    """A run file built from JUnit parses, and passes iff every scenario passed."""
    tag = {"fail": "<failure message='m'/>", "error": "<error message='m'/>", "skipped": "<skipped message='m'/>"}
    cases = "".join(
        f'<testcase classname="t" name="test_scenario_{i + 1}_x">{tag.get(s, "")}</testcase>'
        for i, s in enumerate(statuses)
    )
    doc = run_file_from_junit(
        parse_junit(f"<testsuite>{cases}</testsuite>", source="j"),
        scenario_map={},
        cli_version="spec-kitty-cli version 3.2.0rc16",
        run_id="r",
        started_at="2026-05-20T00:00:00+00:00",
        finished_at="2026-05-20T00:00:01+00:00",
    )
    run = parse_run_file(doc, source="built")
    assert run.passed == all(s == "pass" for s in statuses)


@given(st.text(max_size=200))
def test_parse_junit_fails_clearly_or_parses(text: str) -> None:
    """Arbitrary text: a tuple of cases or an InputError naming the file, never another exception."""
    outcome: object
    try:
        outcome = parse_junit(text, source="j.xml")
    except InputError as exc:
        outcome = exc.path
    assert outcome == "j.xml" or isinstance(outcome, tuple)
