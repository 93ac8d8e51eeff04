"""The Actions world: the sandbox World with the GitHub Actions emulator and its runner, shared per module.

One :class:`~phase4gate.sandbox.world.World` (``executor="github-actions"``) per test module:
building it and the runner's venv of the RC costs seconds.  Each test gets its own
evidence root, the emulator's behaviour reset to GitHub's (no knob), no faults, and
the SaaS state green.  ``ActionsHarness.gate`` runs the real engine with WP01-WP03 as
stand-ins carrying the facts WP04+ read.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import pytest

from phase4gate.clients import Clients
from phase4gate.config import GateConfig, PollConfig
from phase4gate.gate import Gate, StepContext
from phase4gate.models import GateReport, StepOutcome
from phase4gate.sandbox.e2e import CANARY_WORKFLOW, canary_state
from phase4gate.sandbox.github_actions import ActionsBehaviour
from phase4gate.sandbox.world import E2E_REPO, World

RC_VERSION = "3.2.0rc16"
FAST_POLL = PollConfig(initial_seconds=0.1, backoff=1.5, max_seconds=0.5)


@attrs.define
class SleepRecorder:
    """An injected ``sleep``: records every delay asked for and sleeps a little of it (the runner runs for real)."""

    delays: list[float] = attrs.field(factory=list)
    cap: float = 0.05

    def __call__(self, seconds: float) -> None:
        """Record *seconds*; sleep at most ``cap``."""
        self.delays.append(seconds)
        time.sleep(min(seconds, self.cap))


@attrs.define
class ActionsHarness:
    """One test's view of the shared Actions world."""

    world: World
    evidence_root: Path

    @property
    def actions(self) -> Any:
        """The Actions emulator."""
        return self.world.github.actions

    def behave(self, **knobs: Any) -> None:
        """Set the emulator's knobs (per-run knobs for the canary workflow)."""
        self.actions.set_behaviour(ActionsBehaviour(**{"workflow": CANARY_WORKFLOW, **knobs}))

    def next_run_number(self, workflow: str = CANARY_WORKFLOW) -> int:
        """Return the ``run_number`` the next dispatch of *workflow* gets."""
        with self.world.github.lock:
            return 1 + sum(1 for r in self.actions.runs if r.workflow_path.endswith("/" + workflow))

    def config(self, *, executor: Literal["local", "github-actions"] = "github-actions", **actions: Any) -> GateConfig:
        """Return the world's config with the Actions executor, short timeouts and a fast poll."""
        cfg = self.world.config(self.evidence_root)
        actions.setdefault("queue_timeout_seconds", 60.0)
        actions.setdefault("run_timeout_seconds", 300.0)
        actions.setdefault("poll", FAST_POLL)
        ts_actions = attrs.evolve(
            cfg.teamspace.actions, queue_timeout_seconds=60.0, run_timeout_seconds=300.0, poll=FAST_POLL
        )
        return attrs.evolve(
            cfg,
            github=attrs.evolve(cfg.github, max_retries=5, deadline_seconds=60.0),
            canary=attrs.evolve(cfg.canary, executor=executor, actions=attrs.evolve(cfg.canary.actions, **actions)),
            teamspace=attrs.evolve(cfg.teamspace, actions=ts_actions),
        )

    def facts(self) -> dict[str, dict[str, Any]]:
        """The facts WP02 and WP03 record that WP04+ read."""
        health = self.world.saas.health_body()
        return {
            "WP02": {"rc_version": RC_VERSION, "rc_tag": f"v{RC_VERSION}", "rc_short": "rc16", "cli_bin_dir": ""},
            "WP03": {
                "saas_git_sha": health["git_sha"],
                "saas_build_timestamp": health["build_timestamp"],
                "events_version": health["spec_kitty_events"],
            },
        }

    def stand_ins(self) -> dict[str, Callable[[Any], StepOutcome]]:
        """WP01-WP03 (and WP06) as passed, with the facts WP04+ read."""
        facts = self.facts()
        return {
            "WP01": lambda _ctx: StepOutcome.passed("blockers closed", facts={"blockers": "1141,1182"}),
            "WP02": lambda _ctx: StepOutcome.passed("rc16 installed", facts=facts["WP02"]),
            "WP03": lambda _ctx: StepOutcome.passed("SaaS ready", facts=facts["WP03"]),
            "WP06": lambda _ctx: StepOutcome.passed("e2e#41 closed"),
        }

    def environ(self) -> dict[str, str]:
        """The gate's environment: the emulator's write token."""
        return self.world.environ()

    def gate(
        self,
        until: str,
        config: GateConfig | None = None,
        *,
        steps: Mapping[str, Callable[[Any], StepOutcome]] | None = None,
        environ: Mapping[str, str] | None = None,
        resume: str | None = None,
    ) -> tuple[Gate, GateReport]:
        """Run the real engine up to *until*; return it and its report."""
        gate = Gate(
            config or self.config(),
            evidence_root=self.evidence_root,
            environ=dict(environ if environ is not None else self.environ()),
            steps={**self.stand_ins(), **(steps or {})},
            resume=resume,
            clock=lambda: dt.datetime.now(dt.UTC),
        )
        return gate, gate.run(until=until)


def with_sleep(step: Callable[[StepContext], StepOutcome], sleep: SleepRecorder) -> Callable[[Any], StepOutcome]:
    """Return *step* run with an injected ``sleep`` in its clients (the real step, nothing else changed)."""

    def run(ctx: StepContext) -> StepOutcome:
        return step(attrs.evolve(ctx, clients=Clients(ctx.config, ctx.environ, sleep=sleep)))

    return run


def canary_dispatches(harness: ActionsHarness) -> list[str]:
    """Return the correlation id of every accepted canary dispatch at the emulator, in order."""
    with harness.world.github.lock:
        return [str((d.get("inputs") or {}).get("correlation_id")) for d in harness.actions.dispatches]


@pytest.fixture(scope="module")
def actions_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A started sandbox World whose canary runs execute on the sandbox Actions runner."""
    with World(tmp_path_factory.mktemp("actions-world"), executor="github-actions") as world:
        yield world


@pytest.fixture
def harness(actions_world: World, tmp_path: Path) -> Iterator[ActionsHarness]:
    """The shared world reset for one test: GitHub's behaviour, no faults, a green SaaS, its own evidence."""
    actions_world.github.actions.set_behaviour(ActionsBehaviour())
    actions_world.github.clear_faults()
    actions_world.saas.extra["canary"] = canary_state()
    actions_world.saas.extra["teamspace"] = {}
    root = tmp_path / "evidence"
    root.mkdir()
    yield ActionsHarness(actions_world, root)
    actions_world.github.clear_faults()
    actions_world.github.actions.set_behaviour(ActionsBehaviour())


__all__ = [
    "E2E_REPO",
    "FAST_POLL",
    "RC_VERSION",
    "ActionsHarness",
    "SleepRecorder",
    "canary_dispatches",
    "with_sleep",
]
