"""Benchmarks (``nox -s bench`` / ``make bench``): ratios against baselines timed in the same run.

Nothing here passes or fails: it prints figures.  Each section measures one claim:

* gate overhead: the green sandbox gate's wall time against the summed wall time of
  the child processes it ran (canary runs, installs, proof test runs);
* GitHub requests per green gate, counted at the emulator, against the minimum the
  comment and audit contracts need;
* ``phase4gate resolve-rc`` against a bare urllib3 fetch of the same page and
  against ``pip index versions`` (needs the real package index; skipped without it);
* the fix audit (classification only) of a 500-file / 50,000-line commit against
  one ``git cat-file --batch`` plus one ``ast.parse`` per side, and against ``git show``;
* ``phase4gate --help`` cold start against ``python -c "import argparse"``.

Run ``python -m phase4gate.bench [--skip-network]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

__all__ = ["MIN_GITHUB_REQUESTS", "main"]

# The fewest GitHub requests a green gate can make under the contracts:
# WP01: per blocker the issue and its timeline (2 x 2), plus the merged PR behind #1182's
# cross-reference (1); WP02: the RC tag (1) and one compare per fix commit (2); WP06: the
# token's login (1), e2e#41's comments (1), the comment (1), its read-back (1), the issue
# state (1) and the close (1); WP08: the login (1), #1038's comments (1), the comment (1),
# its read-back (1) and the state check (1).
MIN_GITHUB_REQUESTS: Final = 5 + 3 + 6 + 5


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_gate(repeat: int = 1) -> dict[str, float]:
    """Time the green sandbox gate and the child processes it ran; count GitHub requests."""
    from phase4gate.adapters import proc  # noqa: PLC0415
    from phase4gate.gate import Gate  # noqa: PLC0415
    from phase4gate.sandbox.world import World  # noqa: PLC0415

    walls: list[float] = []
    children: list[float] = []
    requests: list[int] = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp, World(Path(tmp) / "world") as world:
            gate = Gate(world.config(Path(tmp) / "evidence"), environ=world.environ(dict(os.environ)))
            before_children = proc.child_seconds()
            before_requests = len(world.github.requests)
            start = time.perf_counter()
            report = gate.run()
            walls.append(time.perf_counter() - start)
            children.append(proc.child_seconds() - before_children)
            # A conditional GET answered 304 costs no rate limit on GitHub: count what does.
            requests.append(sum(1 for r in world.github.requests[before_requests:] if r.status != 304))
            if report.exit_code != 0:
                msg = f"the green gate did not pass: {[(s.wp, s.reason) for s in report.steps]}"
                raise RuntimeError(msg)
    wall, child = statistics.median(walls), statistics.median(children)
    return {
        "gate_wall_s": wall,
        "children_s": child,
        "overhead_ratio": (wall - child) / child if child else float("nan"),
        "github_requests": float(statistics.median(requests)),
        "github_requests_ratio": statistics.median(requests) / MIN_GITHUB_REQUESTS,
    }


def bench_help(repeat: int = 15) -> dict[str, float]:
    """Cold start of ``phase4gate --help`` against ``python -c 'import argparse'``, same interpreter."""

    def run(*args: str) -> Callable[[], object]:
        return lambda: subprocess.run([sys.executable, *args], capture_output=True, check=True, timeout=60)

    floor = _best(run("-c", "import argparse"), repeat)
    ours = _best(run("-m", "phase4gate", "--help"), repeat)
    return {"help_s": ours, "argparse_s": floor, "help_ratio": ours / floor}


def _print(title: str, figures: dict[str, float]) -> None:
    print(f"\n{title}")
    for key, value in figures.items():
        print(f"  {key:<28} {value:10.4f}")


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m phase4gate.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-network", action="store_true", help="skip the real-index resolve-rc benchmark")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (best or median)")
    args = parser.parse_args(argv)

    _print("gate overhead and GitHub requests (green sandbox gate)", bench_gate(repeat=max(1, args.repeat // 2)))
    print("  targets: overhead_ratio <= 0.05, github_requests_ratio 1.0")
    _print("phase4gate --help cold start", bench_help())
    print("  target: help_ratio <= 2.0")

    from phase4gate.bench_audit import bench_audit  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        audit = bench_audit(Path(tmp), repeat=args.repeat)
    audit["ours_over_floor"] = audit["ours"] / audit["floor"]
    audit["ours_over_git_show"] = audit["ours"] / audit["git_show"]
    _print("fix audit of a 500-file / 50,000-line commit (classification, no proof)", audit)
    print("  target: ours / floor <= 1.2")

    if not args.skip_network:
        from phase4gate.adapters.index import bench_resolve, resolve_index_url  # noqa: PLC0415
        from phase4gate.errors import Phase4GateError  # noqa: PLC0415

        try:
            figures = bench_resolve(resolve_index_url(None), rounds=args.repeat)
        except (Phase4GateError, OSError, subprocess.SubprocessError) as exc:
            print(f"\nresolve-rc: skipped, the real package index is not reachable ({exc})")
        else:
            _print("resolve-rc spec-kitty-cli against the real index", figures)
            print("  targets: ours / floor <= 1.3, pip / ours >= 3.5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
