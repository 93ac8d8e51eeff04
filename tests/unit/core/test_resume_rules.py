"""The resume rules live in their steps: WP01 (the gate re-opened a blocker), WP03 (age, redeploy).

The rules read typed facts (``phase4gate.facts``): the ``reopened`` fact is what the
canary protocol's ``Reopened.fact`` writes, read back as numbers, never parsed from
an action's text.
"""

from __future__ import annotations

import datetime as dt

import pytest

from phase4gate.canary_protocol import Reopened
from phase4gate.clients import Clients
from phase4gate.config import GateConfig, SaaSConfig
from phase4gate.facts import CLI_FIX_COMMITS, REOPENED
from phase4gate.models import GateReport, StepResult, StepStatus
from phase4gate.resume import ResumeCheck, reused_results
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.saas import SaaSEmulator
from phase4gate.steps import wp01, wp03

T0 = dt.datetime(2026, 5, 20, 10, tzinfo=dt.UTC)


def result(wp: str, facts: dict[str, object] | None = None, *, at: dt.datetime = T0) -> StepResult:
    return StepResult(
        wp=wp,
        status=StepStatus.PASSED,
        reason="ok",
        started_at=at,
        finished_at=at,
        facts=dict(facts or {}),  # type: ignore[arg-type]
    )


def report(*steps: StepResult) -> GateReport:
    return GateReport(run_id="r", started_at=T0, finished_at=T0, steps=steps)


def check(
    config: GateConfig,
    earlier: StepResult,
    previous: GateReport,
    *,
    now: dt.datetime = T0,
    sleeps: list[float] | None = None,
) -> ResumeCheck:
    clients = Clients(config, {}, sleep=(sleeps if sleeps is not None else []).append)
    return ResumeCheck(config, earlier, previous, now, {}, clients)


# ----------------------------------------------------------------------------- typed facts


def test_the_reopened_fact_reads_back_what_the_protocol_wrote() -> None:
    """Reopened.fact (the writer) and REOPENED.read (WP01's reader) agree, for one and for two blockers."""
    one = Reopened(reopened=(("Priivacy-ai/spec-kitty", 1182),), actions=("re-opened Priivacy-ai/spec-kitty#1182",))
    two = Reopened(reopened=(("Priivacy-ai/spec-kitty", 1141), ("Priivacy-ai/spec-kitty", 1182)))
    assert REOPENED.read({"reopened": one.fact}) == (1182,)
    assert REOPENED.read({"reopened": two.fact}) == (1141, 1182)
    assert REOPENED.read({"reopened": Reopened().fact}) == ()
    assert REOPENED.read({}) == ()
    assert REOPENED.read({"reopened": 1141}) == (1141,)
    assert REOPENED.encode([1141, 1182]) == "1141,1182"


def test_an_action_text_is_not_a_reopened_fact() -> None:
    """The human-readable action is not parsed: a fact that is not numbers is refused."""
    with pytest.raises(ValueError, match="'re-opened #1141' is not a comma-separated list of numbers"):
        REOPENED.read({"reopened": "re-opened #1141"})


def test_a_list_fact_refuses_what_would_not_read_back() -> None:
    assert CLI_FIX_COMMITS.read({"cli_fix_commits": CLI_FIX_COMMITS.encode(["a" * 40, "b" * 40])}) == (
        "a" * 40,
        "b" * 40,
    )
    assert CLI_FIX_COMMITS.read({"cli_fix_commits": ""}) == ()
    with pytest.raises(ValueError, match="without commas"):
        CLI_FIX_COMMITS.encode(["a,b"])
    with pytest.raises(ValueError, match="non-empty"):
        CLI_FIX_COMMITS.encode([""])


# ----------------------------------------------------------------------------- WP01


def test_wp01_holds_when_nothing_was_reopened() -> None:
    earlier = result("WP01")
    previous = report(earlier, result("WP04", {"reopened": ""}))
    assert wp01.still_valid(check(GateConfig(), earlier, previous)) is None


def test_wp01_is_rechecked_after_the_gate_reopened_a_blocker() -> None:
    earlier = result("WP01")
    previous = report(earlier, result("WP04", {"reopened": "1141"}), result("WP05", {"reopened": "1141,1182"}))
    why = wp01.still_valid(check(GateConfig(), earlier, previous))
    assert (
        why
        == "the gate itself re-opened a blocker since (WP04 re-opened #1141; WP05 re-opened #1141, #1182); re-checking"
    )


def test_wp01_an_unreadable_reopened_fact_rechecks_rather_than_trusts() -> None:
    earlier = result("WP01")
    previous = report(earlier, result("WP04", {"reopened": "see the log"}))
    why = wp01.still_valid(check(GateConfig(), earlier, previous))
    assert why is not None
    assert why.startswith("WP04 recorded an unreadable re-open list")


# ----------------------------------------------------------------------------- WP03


@pytest.mark.parametrize(("hours_later", "stale"), [(23.9, False), (24.0, False), (24.01, True), (100.0, True)])
def test_wp03_preflight_age(hours_later: float, stale: bool) -> None:
    """Older than [saas] max_preflight_age_hours (default 24) by the gate's clock is too old."""
    earlier = result("WP03")
    why = wp03.preflight_too_old(
        check(GateConfig(), earlier, report(earlier), now=T0 + dt.timedelta(hours=hours_later))
    )
    assert (why == "preflight older than 24 h") if stale else why is None


def _saas_config(saas: SaaSEmulator) -> GateConfig:
    section = SaaSConfig(base_url=saas.base_url, connect_timeout_seconds=2.0, read_timeout_seconds=5.0, retries=2)
    return GateConfig(saas=section)


def _preflight(saas: SaaSEmulator) -> StepResult:
    body = saas.health_body()
    return result("WP03", {"saas_git_sha": body["git_sha"], "saas_build_timestamp": body["build_timestamp"]})


def test_wp03_still_valid_reads_the_saas_through_the_gate_clients() -> None:
    """Unchanged: holds (one GET, after one 503 retried with the recorded, never slept, backoff); redeployed: re-run."""
    with SaaSEmulator() as saas:
        config = _saas_config(saas)
        earlier = _preflight(saas)
        saas.inject("/health/", Fault("status", status=503))
        sleeps: list[float] = []
        assert wp03.still_valid(check(config, earlier, report(earlier), sleeps=sleeps)) is None
        assert sleeps == [0.5]
        assert [(r.method, r.path, r.status) for r in saas.requests] == [
            ("GET", "/health/", 503),
            ("GET", "/health/", 200),
        ]
        saas.redeploy()
        why = wp03.still_valid(check(config, earlier, report(earlier)))
        assert why is not None
        assert why.startswith("SaaS redeployed since the preflight: git_sha ")


def test_wp03_too_old_asks_nothing() -> None:
    """The age is checked first: a stale preflight is re-run without a request."""
    with SaaSEmulator() as saas:
        earlier = _preflight(saas)
        why = wp03.still_valid(check(_saas_config(saas), earlier, report(earlier), now=T0 + dt.timedelta(days=2)))
        assert why == "preflight older than 24 h"
        assert saas.requests == []


def test_wp03_unreachable_saas_means_rerun() -> None:
    with SaaSEmulator() as saas:
        earlier = _preflight(saas)
        config = _saas_config(saas)
        saas.inject("/health/", Fault("status", status=500))
        why = wp03.still_valid(check(config, earlier, report(earlier)))
    assert why == "/health/ answered 500"


# ----------------------------------------------------------------------------- reuse


def test_a_rerun_wp_takes_every_wp_after_it_along() -> None:
    """WP03 no longer valid: WP04-WP08 are not reused either; WP01 and WP02 are."""
    previous = report(*(result(wp) for wp in ("WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07", "WP08")))

    def judge(r: StepResult) -> tuple[bool, str]:
        return (r.wp != "WP03", "test")

    kept = reused_results(previous, {"WP01", "WP02", "WP03", "WP04", "WP05", "WP06", "WP07", "WP08"}, judge)
    assert sorted(kept) == ["WP01", "WP02"]
