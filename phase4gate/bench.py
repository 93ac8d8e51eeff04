"""Benchmarks (``nox -s bench`` / ``make bench``): what users pay, as ratios against floors timed in the same run.

Nothing here passes or fails: it prints figures.  Each comparison runs its
commands interleaved (one warm-up each, then *repeat* rounds) and prints the
ratio of each round with its min / median / max, so the spread is visible.
Children run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed), as
an installed phase4gate runs for users.

* gate overhead: the green sandbox gate's wall time when no child process ran, over
  the union of its children's intervals (canary runs, installs, proof runs, git);
  GitHub requests per green gate, counted at the emulator, against the minimum.  Each
  round is a fresh process (as each ``phase4gate run`` is: it imports github3,
  cattrs and the steps again) with bytecode caching on, after one untimed warm-up round;
* ``phase4gate --help`` through the console script against ``python -c "import argparse"``;
* ``phase4gate resolve-rc`` as a whole process, on the default path (pip's default
  index, here a pip configuration naming the local index emulator, answered from
  phase4gate's cache) and with ``--index-url``, against a bare urllib3 fetch+parse
  process of the same page; ``pip index versions --pre`` against ``resolve-rc``;
  the same against the real package index unless ``--skip-network``;
* the fix audit (classification only) of a 500-file / 50,000-line commit against
  one ``git cat-file --batch`` plus one ``ast.parse`` per side (``bench_audit``);
* WP01's proof of the sandbox's #1182 fix commit (``audit_commit`` with proof: build
  the test environment, run the tests with and without the fix) against ``uv sync``
  of the same lock into an empty venv plus the same two pytest runs by hand, with a
  warm uv cache;
* GitHub requests per canary run on (sandbox) GitHub Actions against the minimum the
  contract needs (dispatch, run read, jobs, artifacts list, download), 304s counted
  apart (:mod:`phase4gate.bench_actions`).

Run ``python -m phase4gate.bench [--skip-network] [--repeat N] [--only NAME ...]``.
Each row is a function in :data:`SECTIONS` (name, runner taking the repeat count):
a new row is one more function and one more entry.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

__all__ = [
    "FLOOR_SCRIPT",
    "MIN_GITHUB_REQUESTS",
    "SECTIONS",
    "Section",
    "Spread",
    "bench_gate",
    "bench_help",
    "bench_resolve",
    "bench_wp01_proof",
    "main",
]

# The fewest GitHub requests a green gate can make under the contracts:
# WP01: per blocker the issue and its timeline (2 x 2), plus the merged PR behind #1182's
# cross-reference (1); WP02: the RC tag (1) and one compare per fix commit (2); WP06: the
# token's login (1), e2e#41's comments (1), the comment (1), its read-back (1), the issue
# state (1) and the close (1); WP08: the login (1), #1038's comments (1), the comment (1),
# its read-back (1) and the state check (1).
MIN_GITHUB_REQUESTS: Final = 5 + 3 + 6 + 5

# The floor of resolve-rc: one process that fetches the PEP 691 page with urllib3 and parses it.
FLOOR_SCRIPT: Final = """
import json, sys, urllib3
from packaging.version import Version
url = sys.argv[1].rstrip("/") + "/spec-kitty-cli/"
r = urllib3.PoolManager().request("GET", url, headers={"Accept": "application/vnd.pypi.simple.v1+json",
                                                        "Accept-Encoding": "gzip"})
files = json.loads(r.data)["files"]
print(len(files), max(Version(f["filename"].split("-")[1]) for f in files if f["filename"].endswith(".whl")))
"""
_RESOLVE: Final = ("resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15")
# pip's sources besides --index-url (resolve-rc reads one index): left out of pip's environment in the bench.
_PIP_OTHER_SOURCES: Final = frozenset({"PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX", "PIP_CONFIG_FILE"})
_TIMEOUT: Final = 600.0

Spread = tuple[float, float, float]  # min, median, max


def _spread(values: Sequence[float]) -> Spread:
    return min(values), statistics.median(values), max(values)


def _child_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment of timed children: bytecode caching on, as for an installed phase4gate."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def _console_script() -> list[str]:
    """Return the ``phase4gate`` console script beside this interpreter (else on PATH, else ``-m``)."""
    beside = Path(sys.executable).with_name("phase4gate")
    found = str(beside) if beside.is_file() else shutil.which("phase4gate")
    return [found] if found else [sys.executable, "-m", "phase4gate"]


def _run(argv: Sequence[str], env: Mapping[str, str], ok: frozenset[int]) -> float:
    start = time.perf_counter()
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, env=dict(env), timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        msg = f"cannot time {argv[0]}: {exc}"
        raise RuntimeError(msg) from None
    elapsed = time.perf_counter() - start
    if done.returncode not in ok:
        msg = f"{' '.join(argv[:5])} exited {done.returncode}: {done.stderr.strip()[-300:]}"
        raise RuntimeError(msg)
    return elapsed


def _interleaved(
    commands: Mapping[str, Sequence[str]],
    repeat: int,
    env: Mapping[str, str],
    ok: frozenset[int] = frozenset({0}),
    envs: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, list[float]]:
    """Time each command *repeat* times, round-robin after one untimed warm-up each (caches, bytecode).

    *envs* gives a command its own environment instead of *env*.
    """
    own = envs or {}
    for name, argv in commands.items():
        _run(argv, own.get(name, env), ok)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            times[name].append(_run(argv, own.get(name, env), ok))
    return times


def _ratio(times: Mapping[str, Sequence[float]], ours: str, floor: str) -> Spread:
    return _spread([a / b for a, b in zip(times[ours], times[floor], strict=True)])


# --------------------------------------------------------------------------- gate overhead


def gate_round() -> dict[str, float]:
    """Build the sandbox world, run the green gate once in this process; return its wall, child and request figures.

    :func:`bench_gate` runs this in a fresh process per round.

    Raises:
        RuntimeError: the green gate did not pass.
    """
    from phase4gate.adapters import proc  # noqa: PLC0415
    from phase4gate.gate import Gate  # noqa: PLC0415
    from phase4gate.sandbox.world import World  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp, World(Path(tmp) / "world") as world:
        gate = Gate(world.config(Path(tmp) / "evidence"), environ=world.environ(dict(os.environ)))
        before_requests = len(world.github.requests)
        start = time.monotonic()
        report = gate.run()
        end = time.monotonic()
        if report.exit_code != 0:
            msg = f"the green gate did not pass: {[(s.wp, s.reason) for s in report.steps]}"
            raise RuntimeError(msg)
        # A conditional GET answered 304 costs no rate limit on GitHub: count what does.
        requests = sum(1 for r in world.github.requests[before_requests:] if r.status != 304)
        # The time at least one child ran (they run side by side: WP02 beside WP03, both installs).
        return {"wall": end - start, "children": proc.child_busy_seconds(start, end), "requests": float(requests)}


_GATE_ROUND: Final = "import json; from phase4gate.bench import gate_round; print(json.dumps(gate_round()))"


def bench_gate(repeat: int = 1) -> dict[str, Spread]:
    """Time the green sandbox gate (one fresh process per round, after a warm-up round); count GitHub requests.

    Raises:
        RuntimeError: a round failed or the green gate did not pass.
    """
    rounds: list[dict[str, float]] = []
    for n in range(repeat + 1):
        try:
            done = subprocess.run(
                [sys.executable, "-c", _GATE_ROUND],
                capture_output=True,
                text=True,
                env=_child_env(),
                timeout=_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            msg = f"cannot run a gate round: {exc}"
            raise RuntimeError(msg) from None
        if done.returncode != 0:
            msg = f"a gate round exited {done.returncode}: {done.stderr.strip()[-500:]}"
            raise RuntimeError(msg)
        if n:  # round 0 is the warm-up: bytecode written, uv and git caches filled
            rounds.append(json.loads(done.stdout.strip().splitlines()[-1]))
    walls = [r["wall"] for r in rounds]
    children = [r["children"] for r in rounds]
    requests = [r["requests"] for r in rounds]
    return {
        "gate_wall_s": _spread(walls),
        "children_s": _spread(children),
        "outside_children_s": _spread([w - c for w, c in zip(walls, children, strict=True)]),
        "overhead_ratio": _spread([(w - c) / c if c else float("nan") for w, c in zip(walls, children, strict=True)]),
        "github_requests": _spread(requests),
        "github_requests_ratio": _spread([r / MIN_GITHUB_REQUESTS for r in requests]),
    }


# --------------------------------------------------------------------------- start-up and resolve-rc


def bench_help(repeat: int = 15) -> dict[str, Spread]:
    """``phase4gate --help`` (the console script) against ``python -c 'import argparse'``, same interpreter."""
    commands = {"help": [*_console_script(), "--help"], "argparse": [sys.executable, "-c", "import argparse"]}
    times = _interleaved(commands, repeat, _child_env())
    return {"help_s": _spread(times["help"]), "argparse_s": _spread(times["argparse"]), **_help_ratio(times)}


def _help_ratio(times: Mapping[str, Sequence[float]]) -> dict[str, Spread]:
    return {"help_over_argparse": _ratio(times, "help", "argparse")}


def bench_resolve(
    index_url: str | None, *, repeat: int = 7, base_env: Mapping[str, str] | None = None
) -> dict[str, Spread]:
    """Time ``resolve-rc`` (default path and ``--index-url``), the urllib3 floor and ``pip index versions``.

    *index_url* ``None`` means the real default (pip's own configuration, as users
    have it); otherwise the default path is given a pip configuration naming
    *index_url*.  Either way phase4gate's cache lives in a temporary directory and
    is filled by the warm-up run, so the timed runs are the cached default path.

    ``pip index versions`` gets ``--index-url`` and a configuration file naming only
    that index (no ``find-links``, no ``extra-index-url``): it reads the same one page.

    Returns each command's seconds and the ratios ``default_over_floor``,
    ``index_url_over_floor`` (targets <= 1.3), ``pip_over_default`` (target >= 3.5)
    and ``pip_over_floor`` (what ``pip_over_default`` can reach at best).

    Raises:
        RuntimeError: a timed command failed.
        PackageIndexError: *index_url* is ``None`` and pip reports no default index.
    """
    with tempfile.TemporaryDirectory() as tmp:
        env = _child_env(base_env, PHASE4GATE_CACHE_DIR=str(Path(tmp) / "cache"))
        if index_url is None:
            from phase4gate.adapters.index import default_index_url  # noqa: PLC0415

            url = default_index_url(environ=env)
        else:
            url = index_url
            for key in [k for k in env if k.startswith(("PIP_", "UV_"))]:
                del env[key]
            conf = Path(tmp) / "config" / "pip" / "pip.conf"
            conf.parent.mkdir(parents=True)
            conf.write_text(f"[global]\nindex-url = {url}\n", encoding="utf-8")
            env["XDG_CONFIG_HOME"] = str(conf.parent.parent)
        # pip asks exactly the index resolve-rc asks: no find-links, no extra index from the user's configuration.
        pip_conf = Path(tmp) / "pip-only-index.conf"
        pip_conf.write_text(f"[global]\nindex-url = {url}\n", encoding="utf-8")
        pip_env = {k: v for k, v in env.items() if k not in _PIP_OTHER_SOURCES} | {"PIP_CONFIG_FILE": str(pip_conf)}
        script = _console_script()
        commands = {
            "floor": [sys.executable, "-c", FLOOR_SCRIPT, url],
            "default": [*script, *_RESOLVE],
            "index_url": [*script, *_RESOLVE, "--index-url", url],
            "pip": [sys.executable, "-m", "pip", "index", "versions", "spec-kitty-cli", "--pre", "--index-url", url],
        }
        times = _interleaved(commands, repeat, env, ok=frozenset({0, 1}), envs={"pip": pip_env})
    out = {f"{name}_s": _spread(t) for name, t in times.items()}
    out["default_over_floor"] = _ratio(times, "default", "floor")
    out["index_url_over_floor"] = _ratio(times, "index_url", "floor")
    out["pip_over_default"] = _ratio(times, "pip", "default")
    # pip over the floor bounds pip_over_default: resolve-rc cannot do better than the floor.
    out["pip_over_floor"] = _ratio(times, "pip", "floor")
    return out


# --------------------------------------------------------------------------- WP01's proof


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(("git", "-C", str(repo), *args), capture_output=True, text=True, check=True, timeout=120)
    return done.stdout


def _selector(checkout: Path) -> list[str]:
    import tomllib  # noqa: PLC0415

    data = tomllib.loads((checkout / "pyproject.toml").read_text(encoding="utf-8"))
    if "test" in data.get("project", {}).get("optional-dependencies", {}):
        return ["--extra", "test"]
    return ["--group", "test"] if "test" in data.get("dependency-groups", {}) else []


def _proof_by_hand(repo: Path, sha: str, test_ids: Sequence[str], work: Path) -> None:
    """Do the proof by hand (the floor): two worktrees, the fix's code reverted in one, ``uv sync``, two pytests."""
    parent = _git(repo, "rev-parse", f"{sha}^").strip()
    changed = [p for p in _git(repo, "diff", "--name-only", parent, sha).splitlines() if not p.startswith("tests/")]
    with_tree, without_tree, venv = work / "with", work / "without", work / "venv"
    _git(repo, "worktree", "add", "--quiet", "--detach", str(with_tree), sha)
    _git(repo, "worktree", "add", "--quiet", "--detach", str(without_tree), sha)
    try:
        _git(without_tree, "checkout", parent, "--", *changed)
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
        sync = ["uv", "sync", "--frozen", "--quiet", *_selector(with_tree)]
        subprocess.run(sync, cwd=with_tree, env={**env, "UV_PROJECT_ENVIRONMENT": str(venv)}, check=True, timeout=600)
        for tree, ok in ((with_tree, 0), (without_tree, 1)):
            argv = [str(venv / "bin" / "python"), "-m", "pytest", *test_ids, "-q", "-p", "no:cacheprovider"]
            src = os.pathsep.join([str(tree / "src"), str(tree)])
            done = subprocess.run(
                argv, cwd=tree, env={**env, "PYTHONPATH": src}, capture_output=True, timeout=600, check=False
            )
            if done.returncode != ok:
                msg = f"pytest in {tree.name} exited {done.returncode}, expected {ok}: {done.stdout[-300:]!r}"
                raise RuntimeError(msg)
    finally:
        _git(repo, "worktree", "remove", "--force", str(with_tree))
        _git(repo, "worktree", "remove", "--force", str(without_tree))


def bench_wp01_proof(repeat: int = 3) -> dict[str, Spread]:
    """Time WP01's proof of the sandbox's #1182 fix against the same steps by hand (warm uv cache).

    Ours is :func:`phase4gate.adapters.proof.audit_commit` with proof settings and a
    fresh environment cache each round (so the test environment is built every
    time, from uv's warm cache); the floor is :func:`_proof_by_hand`.

    Raises:
        RuntimeError: the proof did not run both ways, or a step by hand failed.
    """
    from phase4gate.adapters.proof import ProofSettings, audit_commit  # noqa: PLC0415
    from phase4gate.sandbox.world import World  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp, World(Path(tmp) / "world") as world:
        repo, sha = world.cli_path, world.commits["cli:fix-1182"]
        rounds = iter(range(1_000_000))

        def ours() -> list[str]:
            work = Path(tmp) / f"ours-{next(rounds)}"
            result = audit_commit(repo, sha, proof=ProofSettings(cache_dir=work / "envs"), work_dir=work / "work")
            if result.proof is None or result.proof.env.reused:
                msg = f"the #1182 proof did not build and run: {result.verdict.value}: {result.reason}"
                raise RuntimeError(msg)
            return [t.id for t in result.proof.tests]

        test_ids = ours()  # warm-up: uv's cache, bytecode, git's object cache
        _proof_by_hand(repo, sha, test_ids, Path(tmp) / "floor-warm")
        times: dict[str, list[float]] = {"ours": [], "floor": []}
        for n in range(repeat):
            start = time.perf_counter()
            ours()
            times["ours"].append(time.perf_counter() - start)
            start = time.perf_counter()
            _proof_by_hand(repo, sha, test_ids, Path(tmp) / f"floor-{n}")
            times["floor"].append(time.perf_counter() - start)
    return {
        "ours_s": _spread(times["ours"]),
        "floor_s": _spread(times["floor"]),
        "ours_over_floor": _ratio(times, "ours", "floor"),
    }


# --------------------------------------------------------------------------- the fix audit


def bench_audit_rounds(repeat: int = 5) -> dict[str, Spread]:
    """Time the fix audit's classification of the 500-file commit against its floor, interleaved, *repeat* rounds.

    Ours is ``audit_commit`` without proof (``audit-fix --no-proof``); the floor is one
    ``git cat-file --batch`` of both sides of every changed file and one ``ast.parse``
    of each (:mod:`phase4gate.bench_audit`); ``git show`` of the commit for scale.
    """
    import ast  # noqa: PLC0415

    from phase4gate.adapters import git  # noqa: PLC0415
    from phase4gate.adapters.proof import audit_commit  # noqa: PLC0415
    from phase4gate.bench_audit import build_bench_repo  # noqa: PLC0415

    def floor(repo: Path, sha: str) -> None:
        info = git.commit_info(repo, sha)
        paths = git.changed_paths(repo, info.parents[0], sha)
        specs = [s for _st, old, new in paths for s in (f"{info.parents[0]}:{old or new}", f"{sha}:{new}")]
        for blob in git.read_blobs(repo, specs):
            if blob is not None:
                ast.parse(blob)

    with tempfile.TemporaryDirectory() as tmp:
        repo, sha = build_bench_repo(Path(tmp) / "bench-repo")
        show = ("git", "-C", str(repo), "show", "--no-color", sha)
        measures: dict[str, Callable[[], object]] = {
            "ours": lambda: audit_commit(repo, sha),
            "floor": lambda: floor(repo, sha),
            "git_show": lambda: subprocess.run(show, capture_output=True, check=True, timeout=120),
        }
        for fn in measures.values():  # warm-up: git's object cache, bytecode
            fn()
        times: dict[str, list[float]] = {name: [] for name in measures}
        for _ in range(repeat):
            for name, fn in measures.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    out = {f"{name}_s": _spread(t) for name, t in times.items()}
    out["ours_over_floor"] = _ratio(times, "ours", "floor")
    out["ours_over_git_show"] = _ratio(times, "ours", "git_show")
    return out


# --------------------------------------------------------------------------- printing and the rows


def _print(title: str, figures: Mapping[str, float | Spread], target: str = "") -> None:
    print(f"\n{title}")
    for key, value in figures.items():
        if isinstance(value, tuple):
            low, mid, high = value
            print(f"  {key:<28} {mid:10.4f}   (min {low:.4f}, max {high:.4f})")
        else:
            print(f"  {key:<28} {value:10.4f}")
    if target:
        print(f"  target: {target}")


def _run_gate(repeat: int) -> None:
    figures = bench_gate(max(2, repeat // 2))
    title = "gate overhead and GitHub requests (green sandbox gate, a fresh process per round)"
    _print(title, figures, "overhead_ratio <= 0.05, github_requests_ratio 1.0")


def _run_help(repeat: int) -> None:
    figures = bench_help(3 * repeat)
    _print("phase4gate --help (console script) vs python -c 'import argparse'", figures, "help_over_argparse <= 2.0")


def _run_resolve_local(repeat: int) -> None:
    from phase4gate.sandbox.index import IndexEmulator  # noqa: PLC0415

    with IndexEmulator("rc15-rc16") as index:
        figures = bench_resolve(index.simple_url, repeat=2 * repeat)
    _print(
        "resolve-rc spec-kitty-cli as a whole process, local index emulator",
        figures,
        "default_over_floor <= 1.3, index_url_over_floor <= 1.3, pip_over_default >= 3.5",
    )


def _run_audit(repeat: int) -> None:
    figures = bench_audit_rounds(repeat)
    _print("fix audit of a 500-file / 50,000-line commit (classification, no proof)", figures, "ours_over_floor <= 1.2")


def _run_proof(repeat: int) -> None:
    from phase4gate.errors import Phase4GateError  # noqa: PLC0415

    try:
        figures = bench_wp01_proof(max(1, repeat // 2))
    except (Phase4GateError, RuntimeError, subprocess.SubprocessError) as exc:
        print(f"\nWP01 proof: skipped, the proof could not be run both ways ({exc})")
        return
    title = "WP01 proof of the sandbox #1182 fix vs uv sync + the two pytest runs by hand (warm uv cache)"
    _print(title, figures, "ours_over_floor <= 1.3")


def _run_resolve_network(repeat: int) -> None:
    from phase4gate.errors import Phase4GateError  # noqa: PLC0415

    try:
        figures = bench_resolve(None, repeat=repeat)
    except (Phase4GateError, RuntimeError, OSError) as exc:
        print(f"\nresolve-rc: skipped, the real package index is not reachable ({exc})")
        return
    _print(
        "resolve-rc spec-kitty-cli against the real index (pip's default from its configuration)",
        figures,
        "default_over_floor <= 1.3, index_url_over_floor <= 1.3, pip_over_default >= 3.5",
    )


def _run_actions(_repeat: int) -> None:
    from phase4gate.bench_actions import bench_actions  # noqa: PLC0415

    print("\nGitHub requests per canary run on (sandbox) GitHub Actions, the green gate's five runs")
    for line in bench_actions():
        print(line)


class Section(NamedTuple):
    """One row group of the bench: its ``--only`` name, its runner (given ``--repeat``), if it needs the network."""

    name: str
    run: Callable[[int], None]
    network: bool = False


# In the order they run.  A new row: a ``_run_<name>(repeat)`` function and one entry here.
SECTIONS: list[Section] = [
    Section("gate", _run_gate),
    Section("help", _run_help),
    Section("resolve", _run_resolve_local),
    Section("audit", _run_audit),
    Section("proof", _run_proof),
    Section("actions", _run_actions),
    Section("network", _run_resolve_network, network=True),
]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m phase4gate.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-network", action="store_true", help="skip the sections that need the network")
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds per comparison (after one warm-up)")
    names = [section.name for section in SECTIONS]
    parser.add_argument("--only", action="append", choices=names, default=[], help="run only these sections")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)
    for section in SECTIONS:
        if (args.only and section.name not in args.only) or (section.network and args.skip_network):
            continue
        section.run(repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
