"""``phase4gate demo``: the whole gate on the sandbox world, green or ending on one stop."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Start the sandbox world (GitHub, package-index and SaaS emulators on 127.0.0.1, the
fixture spec-kitty and end-to-end repositories, the canary suites), run WP01-WP08
through exactly the code path of a real gate, print the report and both rendered
comments, say where the evidence is, and stop the world (also on Ctrl-C).

--scenario NAME ends the gate on one stop condition; --scenario list lists them.
Exit codes as `run`: 0 green, 1 stopped, 3 could not decide."""

EPILOG = """\
examples:
  phase4gate demo                              the green gate
  phase4gate demo --scenario two-blocker-squash
  phase4gate demo --scenario list
  phase4gate demo --history                    rc16 stops on a new signature, rc17 clears; the history
  make demo SCENARIO=flaky-four-run
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``demo``'s options."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415

    parser.add_argument(
        "--scenario", default="green", metavar="NAME", help="a stop scenario, or 'list' (default: green)"
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
    from phase4gate.sandbox.world import SCENARIOS  # noqa: PLC0415

    if as_json:
        rows = [{"name": s.name, "wp": s.wp, "kind": s.kind, "summary": s.summary} for s in SCENARIOS]
        print(json.dumps(rows, indent=2))
        return ExitCode.PASSED
    width = max(len(s.name) for s in SCENARIOS)
    for s in SCENARIOS:
        where = f"stops at {s.wp} ({s.kind})" if s.wp else "passes every WP"
        print(f"{s.name:<{width}}  {where:<24}  {s.summary}")
    return ExitCode.PASSED


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

    say(f"demo: starting the sandbox world (scenario {chosen.name}: {chosen.summary})")
    with World(scenario_name=chosen.name) as world:
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
                and (stopped.stop_kind is not None and stopped.stop_kind.value == chosen.kind)
            )
            verdict = "as expected" if hit else "NOT as expected"
            say(f"demo: scenario {chosen.name} expects a {chosen.kind} stop at {chosen.wp}: {verdict}")
        say(f"demo: evidence in {gate.run_dir} (check it with `phase4gate verify {gate.run_dir}`)")
    write_outputs(report, args)
    return report.exit_code
