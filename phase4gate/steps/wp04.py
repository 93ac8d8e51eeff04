"""WP04: one canary run, all four scenarios pass.

Stop conditions: any scenario fails, is skipped or missing (failed; the blocker its
failure signature maps to is re-opened, only if closed); the SaaS was redeployed or
the RC changed during the gate (waiting).

The protocol (attempt folder ``<rc short>-single-attempt<N>``, redeploy checks, judging,
re-opening, sealing) is :mod:`phase4gate.canary_protocol`, shared with WP05; who runs
the canary is the executor ``[canary] executor`` names (:mod:`phase4gate.executor`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phase4gate.canary_protocol import SCENARIO_CONDITION, run_protocol
from phase4gate.models import StepOutcome

if TYPE_CHECKING:
    from phase4gate.gate import StepContext

__all__ = ["run"]


def run(ctx: StepContext) -> StepOutcome:
    """WP04: run the canary once; every scenario must pass."""
    outcome = run_protocol(ctx, runs=1, attempt_tag_suffix="-single", condition=SCENARIO_CONDITION)
    if outcome.status.value == "passed" and not ctx.dry_run:
        facts = dict(outcome.facts)
        facts["single_run_file"] = str(facts.get("run_files", ""))
        return StepOutcome.passed(outcome.reason, facts=facts, evidence=outcome.evidence)
    return outcome
