"""WP05: four consecutive canary runs, 16 of 16 cells pass.

Stop conditions: any run does not pass (failed; the protocol stops at once, every
run so far is kept, and the blocker its failure maps to is re-opened, only if
closed); the SaaS was redeployed or the RC changed during the gate (waiting).
No retry-until-green: consecutiveness is the point.  The runs go into
``<rc short>-attempt<N>/runs/run-{1..4}.json`` (the protocol: :mod:`phase4gate.canary_protocol`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phase4gate.canary_protocol import RUN_CONDITION, run_protocol

if TYPE_CHECKING:
    from phase4gate.gate import StepContext
    from phase4gate.models import StepOutcome

__all__ = ["run"]


def run(ctx: StepContext) -> StepOutcome:
    """WP05: run the canary ``canary.runs`` (4) times in a row; every run and cell must pass."""
    return run_protocol(ctx, runs=ctx.config.canary.runs, attempt_tag_suffix="", condition=RUN_CONDITION)
