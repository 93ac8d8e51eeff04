"""Hypothesis strategies for the models (shared by the property tests)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from phase4gate.models import DEFAULT_SCENARIO_IDS

_ISO = st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat())


@st.composite
def harness_run_files(draw: st.DrawFn, *, all_pass: bool | None = None) -> dict[str, Any]:
    """A run file in the real harness's spelling, consistent with the plan's invariants."""
    statuses = (
        ["pass"] * 4
        if all_pass
        else draw(st.lists(st.sampled_from(["pass", "fail", "skipped", "error"]), min_size=4, max_size=4))
    )
    if all_pass is False and all(s == "pass" for s in statuses):
        statuses[draw(st.integers(0, 3))] = "fail"
    outcome = "pass" if all(s == "pass" for s in statuses) else draw(st.sampled_from(["fail", "error"]))
    scenarios = [
        {
            "scenario_id": sid,
            "name": f"scenario-{sid}",
            "status": status,
            "started_at": draw(_ISO),
            "finished_at": draw(_ISO),
            "duration_seconds": draw(st.floats(0, 1e4, allow_nan=False)),
            "failure_reason": None if status == "pass" else draw(st.text(min_size=1, max_size=40)),
            "boundary_evidence": draw(st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)),
        }
        for sid, status in zip(DEFAULT_SCENARIO_IDS, statuses, strict=True)
    ]
    order = draw(st.permutations(scenarios))
    return {
        "run_id": draw(st.from_regex(r"01[0-9A-HJKMNP-TV-Z]{24}", fullmatch=True)),
        "outcome": outcome,
        "cli_version": f"spec-kitty-cli version 3.2.0rc{draw(st.integers(16, 45))}",
        "events_package_version": "5.1.0",
        "evidence_path": "artifacts/sync_identity_boundary/latest.json",
        "started_at": draw(_ISO),
        "finished_at": draw(_ISO),
        "saas_url": "https://saas.invalid",
        "target_environment": "dev",
        "skip_reason": None,
        "scenarios": list(order),
        **draw(st.dictionaries(st.sampled_from(["extra_a", "harness_meta", "x_notes"]), st.integers(), max_size=2)),
    }
