"""The WP registry: each work package, what it needs, how it stops, its step and its resume rule.

Every :class:`WorkPackage` names its step function and its ``still_valid`` rule
explicitly, as a ``"module:function"`` reference resolved by :func:`resolve` on first
use, so ``phase4gate --help`` and ``import phase4gate.gate`` import no step module.
Nothing is found by a module-name convention: the reference in :data:`WORK_PACKAGES`
is the only place that says where a WP's code lives.

A step is ``run(ctx: StepContext) -> StepOutcome``; a resume rule is
``still_valid(check: ResumeCheck) -> str | None`` (why the earlier passed result no
longer holds, or ``None``): WP01 re-checks blockers the gate itself re-opened since
(the ``reopened`` fact), WP03 re-runs a preflight that is too old or a SaaS that was
redeployed (see :mod:`phase4gate.resume`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from attrs import field, frozen

from phase4gate.errors import NotImplementedStepError, UsageError
from phase4gate.models import WP_IDS, StepOutcome

if TYPE_CHECKING:
    from phase4gate.gate import StepContext
    from phase4gate.resume import ResumeCheck

__all__ = [
    "WORK_PACKAGES",
    "Step",
    "StillValid",
    "WorkPackage",
    "dependents",
    "resolve",
    "work_package",
]

Step = Callable[["StepContext"], StepOutcome]
# still_valid(check) -> why the earlier result no longer holds, or None.
StillValid = Callable[["ResumeCheck"], "str | None"]

_HINT: Final = "run the WPs before it with --until, or wait for the implementation"


def resolve(ref: str, *, wp: str) -> Callable[..., object]:
    """Return the callable *ref* (``"package.module:function"``) names, importing its module.

    Raises:
        NotImplementedStepError: the module or the function does not exist (the gate cannot
            decide *wp*: exit 3); an import error inside an existing module propagates.
    """
    module_name, sep, name = ref.partition(":")
    missing = f"{wp} is not implemented yet; the gate cannot decide it ({ref!r} does not exist)"
    if not sep or not module_name or not name:
        raise NotImplementedStepError(missing, hint=_HINT)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the named module (or a package above it) missing means "not implemented".
        if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise
        raise NotImplementedStepError(missing, hint=_HINT) from None
    found = getattr(module, name, None)
    if not callable(found):
        raise NotImplementedStepError(missing, hint=_HINT)
    return found  # type: ignore[no-any-return]


@frozen
class WorkPackage:
    """One WP: what it does, what it needs, when it stops, and where its step and resume rule live."""

    id: str
    title: str
    needs: tuple[str, ...]
    stop_conditions: tuple[str, ...]
    # Ordering only: start after these passed, without being a dependency (WP03 after WP01).
    starts_after: tuple[str, ...] = ()
    # "module:function" of the step, and of its resume rule (None: a passed result with intact evidence holds).
    step: str = field(default="", kw_only=True)
    still_valid: str | None = field(default=None, kw_only=True)

    def load_step(self) -> Step:
        """Return this WP's step function.

        Raises:
            NotImplementedStepError: the reference names nothing.
        """
        step: Step = resolve(self.step, wp=self.id)  # type: ignore[assignment]
        return step

    def load_still_valid(self) -> StillValid | None:
        """Return this WP's resume rule, if it has one.

        Raises:
            NotImplementedStepError: the reference names nothing.
        """
        if self.still_valid is None:
            return None
        rule: StillValid = resolve(self.still_valid, wp=self.id)  # type: ignore[assignment]
        return rule


WORK_PACKAGES: Final = (
    WorkPackage(
        "WP01",
        "Blockers #1141 and #1182 closed by substantive, test-backed fixes",
        (),
        (
            "a blocker is still open (waiting)",
            "a blocker was closed as not planned or duplicate, or without a linked change (failed)",
            "a blocker's fix is logging-only, docs-only, or does not touch its focus (failed)",
            "no test fails without the fix and passes with it (failed)",
        ),
        step="phase4gate.steps.wp01:run",
        still_valid="phase4gate.steps.wp01:still_valid",
    ),
    WorkPackage(
        "WP02",
        "Newest RC after the baseline installed in isolation and verified",
        ("WP01",),
        (
            "no RC newer than the baseline on the index (waiting: an operator must cut one)",
            "the RC does not contain a blocker's fix commit (waiting)",
            "the RC breaks as users install it: dependency drift or broken (failed)",
        ),
        step="phase4gate.steps.wp02:run",
    ),
    WorkPackage(
        "WP03",
        "Read-only SaaS preflight: health, readiness, drain counts",
        (),
        (
            "/health/ready/ is not 200 or the drain queue is degraded (waiting)",
            "events package older than required (waiting)",
            "drain counts differ from 0 and exactly 22 (failed)",
        ),
        starts_after=("WP01",),
        step="phase4gate.steps.wp03:run",
        still_valid="phase4gate.steps.wp03:still_valid",
    ),
    WorkPackage(
        "WP04",
        "One canary run: all four scenarios pass",
        ("WP02", "WP03"),
        (
            "any scenario fails, is skipped or missing (failed; the mapped blocker is re-opened)",
            "the run file was not written by this run, or contradicts the runner's exit (failed)",
            "the SaaS was redeployed since the preflight, checked before run 1 and after the run (waiting)",
        ),
        step="phase4gate.steps.wp04:run",
    ),
    WorkPackage(
        "WP05",
        "Four consecutive canary runs: 16 of 16 cells pass",
        ("WP04",),
        (
            "any run does not pass (failed; the mapped blocker is re-opened)",
            "a run file was not written by its run, or contradicts the runner's exit (failed)",
            "the SaaS was redeployed or the RC changed during the gate (waiting)",
        ),
        step="phase4gate.steps.wp05:run",
    ),
    WorkPackage(
        "WP06",
        "Evidence bundled; e2e#41 commented and closed",
        ("WP05",),
        (
            "the comment cannot be rendered from observed facts, or was not read back (failed)",
            "the plan's protocol (4 consecutive runs x 4 scenarios) was not what ran (failed; nothing posted)",
        ),
        step="phase4gate.steps.wp06:run",
    ),
    WorkPackage(
        "WP07",
        "Teamspace MVP suite passes four times, logs kept",
        ("WP06",),
        (
            "any Teamspace run fails (failed; triaged from its log)",
            "the SaaS was redeployed, checked before run 1 and after every run (waiting)",
        ),
        step="phase4gate.steps.wp07:run",
    ),
    WorkPackage(
        "WP08",
        "spec-kitty#1038 commented, never closed",
        ("WP07",),
        (
            "the comment cannot be rendered, or #1038 is not open after posting (failed)",
            "the plan's protocol (4 canary runs, 4 Teamspace runs) was not what ran (failed; nothing posted)",
        ),
        step="phase4gate.steps.wp08:run",
    ),
)


def work_package(wp: str) -> WorkPackage:
    """Return the WP named *wp* (case-insensitive).

    Raises:
        UsageError: no such WP.
    """
    key = wp.upper()
    for w in WORK_PACKAGES:
        if w.id == key:
            return w
    msg = f"unknown work package {wp!r}; expected one of {', '.join(WP_IDS)}"
    raise UsageError(msg)


def dependents(wp: str) -> set[str]:
    """Return every WP that needs *wp*, directly or not."""
    out: set[str] = set()
    frontier = [wp]
    while frontier:
        cur = frontier.pop()
        for w in WORK_PACKAGES:
            if cur in w.needs and w.id not in out:
                out.add(w.id)
                frontier.append(w.id)
    return out
