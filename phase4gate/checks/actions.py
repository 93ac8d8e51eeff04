"""Verdicts over a GitHub Actions run the gate dispatched: pure functions, no I/O.

The run file decides a canary run, as locally; these add what only Actions can get
wrong (:func:`run_problems`, :func:`digest_verdict`, :func:`conclusion_problem`: each
problem makes the run a failed stop) and say when a run ended without a verdict
(:func:`undecided_reason`: "could not decide", exit 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from attrs import frozen

__all__ = [
    "DECIDED_CONCLUSIONS",
    "DigestVerdict",
    "RunFacts",
    "carries_correlation",
    "conclusion_problem",
    "digest_verdict",
    "run_facts",
    "run_problems",
    "undecided_reason",
]

# The conclusions after which the run file decides; every other one ends without a verdict.
DECIDED_CONCLUSIONS: Final = frozenset({"success", "failure"})
_DIGEST_RE: Final = re.compile(r"sha256:(?P<hex>[0-9a-f]{64})")


@frozen
class RunFacts:
    """The fields of a workflow run (``GET /repos/{o}/{r}/actions/runs/{id}``) the verdicts read."""

    id: int
    run_number: int | None
    run_attempt: int | None
    status: str
    conclusion: str | None
    event: str
    head_sha: str
    head_branch: str | None
    display_title: str
    html_url: str
    created_at: str | None
    run_started_at: str | None
    updated_at: str | None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def run_facts(data: Mapping[str, Any]) -> RunFacts:
    """Return the verdicts' view of a workflow run's JSON (missing fields stay empty)."""
    return RunFacts(
        id=_int(data.get("id")) or 0,
        run_number=_int(data.get("run_number")),
        run_attempt=_int(data.get("run_attempt")),
        status=_str(data.get("status")) or "",
        conclusion=_str(data.get("conclusion")),
        event=_str(data.get("event")) or "",
        head_sha=_str(data.get("head_sha")) or "",
        head_branch=_str(data.get("head_branch")),
        display_title=_str(data.get("display_title")) or "",
        html_url=_str(data.get("html_url")) or "",
        created_at=_str(data.get("created_at")),
        run_started_at=_str(data.get("run_started_at")),
        updated_at=_str(data.get("updated_at")),
    )


def carries_correlation(title: str, correlation_id: str) -> bool:
    """Return whether *title* names *correlation_id* as a whole word (``…-WP05-1`` is not in ``…-WP05-12``)."""
    return re.search(rf"(?<![\w-]){re.escape(correlation_id)}(?![\w-])", title) is not None


def run_problems(
    run: RunFacts, *, label: str, dispatched_id: int, correlation_id: str, pinned_sha: str | None
) -> tuple[str, ...]:
    """Return why *run* cannot count for the gate although its run file may say pass (empty: none).

    A re-run attempt hides a flaky failure; another commit than ``pinned_sha`` is not the
    pinned harness; only a ``workflow_dispatch`` run this gate dispatched (its id, its
    correlation id in the run's title) is the gate's run.
    """
    problems: list[str] = []
    if run.run_attempt != 1:
        problems.append(
            f"{label}: run_attempt is {run.run_attempt}, not 1: the run was re-run, which hides a flaky failure; "
            "the gate never re-runs and never counts a re-run"
        )
    if pinned_sha is not None and run.head_sha != pinned_sha:
        problems.append(f"{label}: head_sha {run.head_sha or '(none)'} is not the pinned_sha {pinned_sha}")
    if run.event != "workflow_dispatch":
        problems.append(f"{label}: event is {run.event or '(none)'!r}, not 'workflow_dispatch'")
    if run.id != dispatched_id or not carries_correlation(run.display_title, correlation_id):
        problems.append(
            f"{label}: run {run.id} ({run.display_title!r}) is not the run this gate dispatched "
            f"(run {dispatched_id}, correlation id {correlation_id}); the workflow's run-name must carry "
            "${{ inputs.correlation_id }}"
        )
    return tuple(problems)


@frozen
class DigestVerdict:
    """The artifact zip against the artifact's ``digest``: ``match``, ``mismatch`` or ``absent``."""

    state: str
    expected: str | None
    actual: str  # "sha256:<hex>" of the downloaded zip

    @property
    def problem(self) -> str | None:
        """The failed-stop text of a mismatch (None otherwise)."""
        if self.state != "mismatch":
            return None
        return (
            f"evidence altered in transit: the artifact zip's sha256 is {self.actual}, "
            f"its digest on GitHub is {self.expected}"
        )


def digest_verdict(expected: object, actual_hex: str) -> DigestVerdict:
    """Compare the artifact's *expected* ``digest`` (``sha256:<hex>``, None when GitHub gave none) with the zip's."""
    actual = f"sha256:{actual_hex}"
    if expected is None or expected == "":
        return DigestVerdict("absent", None, actual)
    text = str(expected).strip().lower()
    if _DIGEST_RE.fullmatch(text) and text == actual:
        return DigestVerdict("match", text, actual)
    return DigestVerdict("mismatch", str(expected), actual)


def conclusion_problem(conclusion: str | None, *, run_file_passed: bool, label: str) -> str | None:
    """Return the "inconsistent evidence" text when the run's conclusion contradicts its run file (None: agree)."""
    if conclusion == "success" and not run_file_passed:
        verdict = "the run file says it did not pass"
    elif conclusion == "failure" and run_file_passed:
        verdict = "the run file says pass"
    else:
        return None
    return f"{label}: inconsistent evidence: the run concluded {conclusion!r} but {verdict}"


def undecided_reason(run: RunFacts) -> str | None:
    """Return why a completed *run* gives no verdict (cancelled, timed out, startup failure, ...), or None."""
    if run.status != "completed":
        return f"run {run.id} is {run.status or 'in an unknown state'}, not completed"
    if run.conclusion in DECIDED_CONCLUSIONS:
        return None
    return f"run {run.id} concluded {run.conclusion or '(no conclusion)'!r}: a run that ended without a verdict"
