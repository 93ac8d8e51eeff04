"""``phase4gate demo``: the whole gate on the sandbox world, green or ending on one stop."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phase4gate.sandbox.world import Scenario

DESCRIPTION = """\
Start the sandbox world (GitHub, package-index and SaaS emulators on 127.0.0.1, the
fixture spec-kitty and end-to-end repositories, the canary suites), run WP01-WP08
through exactly the code path of a real gate, print the report and both rendered
comments, say where the evidence is, and stop the world (also on Ctrl-C).

--scenario NAME ends the gate on one stop condition; --scenario list lists them.
--executor github-actions runs every canary and Teamspace run on the sandbox's GitHub
Actions (the emulator dispatches each run to a local runner pool that checks out the
e2e fixture, installs the RC from the index emulator and uploads the artifact); the
actions-* scenarios use it by themselves.
Exit codes as `run`: 0 green, 1 stopped, 2 configuration refused, 3 could not decide."""

EPILOG = """\
examples:
  phase4gate demo                              the green gate
  phase4gate demo --scenario two-blocker-squash
  phase4gate demo --scenario list
  phase4gate demo --history                    rc16 stops on a new signature, rc17 clears; the history
  phase4gate demo --executor github-actions    the green gate, every canary run on (sandbox) Actions
  phase4gate demo --scenario actions-rerun-attempt
  make demo SCENARIO=flaky-four-run
  make demo EXECUTOR=github-actions
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``demo``'s options."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415

    parser.add_argument(
        "--scenario", default="green", metavar="NAME", help="a stop scenario, or 'list' (default: green)"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "github-actions"),
        default=None,
        help="who runs the canary and Teamspace runs (default: the scenario's; local for the classic ones)",
    )
    add_evidence_root(parser)
    parser.add_argument("--junit", metavar="FILE", help="also write one JUnit test case per WP to FILE")
    parser.add_argument(
        "--history",
        action="store_true",
        help="run a series on one evidence root (rc16 stops on a new signature, then a green rc17) and print it",
    )


def _list(as_json: bool) -> int:
    import json  # noqa: PLC0415

    from phase4gate.errors import ExitCode  # noqa: PLC0415
    from phase4gate.sandbox.world import ACTIONS_SCENARIOS, SCENARIOS  # noqa: PLC0415

    every = (*SCENARIOS, *ACTIONS_SCENARIOS)
    if as_json:
        rows = [
            {
                "name": s.name,
                "wp": s.wp,
                "kind": s.kind,
                "executor": s.executor,
                "exit_code": _expected_exit(s),
                "summary": s.summary,
            }
            for s in every
        ]
        print(json.dumps(rows, indent=2))
        return ExitCode.PASSED
    width = max(len(s.name) for s in every)
    for s in every:
        print(f"{s.name:<{width}}  {_where(s):<32}  {s.summary}")
    return ExitCode.PASSED


def _expected_exit(s: Scenario) -> int:
    """Return the gate's exit code the scenario expects."""
    if s.exit_code is not None:
        return s.exit_code
    return 1 if s.wp else 0


def _where(s: Scenario) -> str:
    """Return where a scenario ends, as `demo --scenario list` shows it."""
    on = " on Actions" if s.executor == "github-actions" else ""
    if s.wp is None:
        return f"passes every WP{on}"
    if s.kind is None:
        return f"exit {_expected_exit(s)} at {s.wp}{on}"
    return f"stops at {s.wp} ({s.kind}){on}"


def run(args: argparse.Namespace) -> int:
    """Run the demo and return the gate's exit code."""
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from phase4gate.commands._common import print_report, write_outputs  # noqa: PLC0415
    from phase4gate.gate import Gate  # noqa: PLC0415
    from phase4gate.progress import NullProgress, Progress  # noqa: PLC0415
    from phase4gate.sandbox.world import World, scenario  # noqa: PLC0415

    if args.scenario == "list":
        return _list(args.json)
    if args.history:
        from phase4gate.commands.history import demo_series  # noqa: PLC0415

        return demo_series(args)
    chosen = scenario(args.scenario)
    evidence_root = Path(args.evidence_root or "evidence").resolve()

    def say(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr)

    executor = args.executor or chosen.executor
    say(f"demo: starting the sandbox world (scenario {chosen.name}: {chosen.summary}; canary executor {executor})")
    with World(scenario_name=chosen.name, executor=executor) as world:
        say("demo: " + ", ".join(f"{k} {v}" for k, v in world.describe().items() if k in {"github", "index", "saas"}))
        gate = Gate(
            world.config(evidence_root),
            evidence_root=evidence_root,
            environ=world.environ(dict(os.environ)),
            progress=NullProgress() if args.json else Progress(sys.stderr),
        )
        report = gate.run()
    print_report(report, gate.run_dir, as_json=args.json)
    if not args.json:
        for step in report.steps:
            for ref in step.evidence:
                if ref.path.endswith("-comment.md"):
                    print(f"\n----- {ref.path} -----\n")
                    print((gate.run_dir / ref.path).read_text(encoding="utf-8"))
        stopped = next((s for s in report.steps if s.status.value in {"stopped", "error"}), None)
        if chosen.wp:
            hit = (
                stopped is not None
                and stopped.wp == chosen.wp
                and (chosen.kind is None or (stopped.stop_kind is not None and stopped.stop_kind.value == chosen.kind))
                and report.exit_code == _expected_exit(chosen)
            )
            verdict = "as expected" if hit else "NOT as expected"
            on = " on Actions" if chosen.executor == "github-actions" else ""
            expected = (
                f"a {chosen.kind} stop at {chosen.wp}{on}"
                if chosen.kind
                else f"exit {_expected_exit(chosen)} at {chosen.wp}{on}"
            )
            say(f"demo: scenario {chosen.name} expects {expected}: {verdict}")
        say(f"demo: evidence in {gate.run_dir} (check it with `phase4gate verify {gate.run_dir}`)")
    write_outputs(report, args)
    return report.exit_code
