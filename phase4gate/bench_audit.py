"""Benchmark of the fix audit's classification (no proof) on a synthetic 500-file, 50,000-line commit.

Three timings from the same run: our audit (``adapters.proof.audit_commit``
without the proof, as ``audit-fix --no-proof`` runs it), the floor (one ``git cat-file
--batch`` of both sides of every changed file and one ``ast.parse`` of each, on
one core) and ``git show`` of the same commit.  Ratios are printed; nothing
here asserts a time.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

from phase4gate.adapters import git
from phase4gate.adapters.proof import audit_commit
from phase4gate.sandbox.repos import commit_files

__all__ = ["CHANGED_LINES_PER_FILE", "FILES", "bench_audit", "build_bench_repo", "main"]

FILES: Final = 500
CHANGED_LINES_PER_FILE: Final = 100
_FUNCS: Final = 25  # functions per file; each has four changed lines


def _source(n: int, *, fixed: bool) -> str:
    lines = [f'"""Synthetic module {n}."""', "", "import logging", "", "logger = logging.getLogger(__name__)", ""]
    for f in range(_FUNCS):
        k = 2 if fixed else 1
        lines += [
            "",
            f"def handler_{n}_{f}(queue, event, limit={f}):",
            f'    """Handle event {f}."""',
            f"    total = len(queue) * {k} + limit",
            f"    if total > {100 * k + f}:",
            f'        logger.info("queue %s over limit %d", event, {k})',
            f"        return total - {k}",
            "    queue.append(event)",
            "    return total",
        ]
    return "\n".join(lines) + "\n"


def build_bench_repo(path: Path, *, files: int = FILES) -> tuple[Path, str]:
    """Create the synthetic repository (*files* modules, 100 changed lines each); return it and the big commit."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(("git", "-C", str(path), "init", "--quiet", "--initial-branch=main"), check=True, timeout=60)
    base = {f"src/pkg/mod_{n:03d}.py": _source(n, fixed=False) for n in range(files)}
    parent = commit_files(path, base, "base", date="2026-05-10T10:00:00+00:00", parent=None)
    fix = {f"src/pkg/mod_{n:03d}.py": _source(n, fixed=True) for n in range(files)}
    sha = commit_files(path, fix, "big change", date="2026-05-11T10:00:00+00:00", parent=parent)
    return path, sha


def _floor(repo: Path, sha: str) -> None:
    info = git.commit_info(repo, sha)
    paths = git.changed_paths(repo, info.parents[0], sha)
    specs = [s for _st, old, new in paths for s in (f"{info.parents[0]}:{old or new}", f"{sha}:{new}")]
    for blob in git.read_blobs(repo, specs):
        if blob is not None:
            ast.parse(blob)


def _ours(repo: Path, sha: str) -> None:
    audit_commit(repo, sha)


def _time(fn: object, *args: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def bench_audit(tmpdir: Path, *, repeat: int = 3, files: int = FILES) -> dict[str, float]:
    """Build the synthetic commit under *tmpdir*; return the best-of-*repeat* seconds of each measure."""
    repo, sha = build_bench_repo(Path(tmpdir) / "bench-repo", files=files)
    show = ("git", "-C", str(repo), "show", "--no-color", sha)
    return {
        "ours": _time(_ours, repo, sha, repeat=repeat),
        "floor": _time(_floor, repo, sha, repeat=repeat),
        "git_show": _time(lambda: subprocess.run(show, capture_output=True, check=True, timeout=120), repeat=repeat),
    }


def main(tmpdir: Path, *, repeat: int = 3, files: int = FILES) -> dict[str, float]:
    """Run :func:`bench_audit` and print the times and ratios."""
    result = bench_audit(tmpdir, repeat=repeat, files=files)
    lines = [f"audit classification, {files} files / {files * CHANGED_LINES_PER_FILE} changed lines:"]
    lines.extend(f"  {key:<9} {value:8.3f} s" for key, value in result.items())
    lines.append(f"  ours / floor    = {result['ours'] / result['floor']:.2f}x (target <= 1.2x)")
    lines.append(f"  ours / git show = {result['ours'] / result['git_show']:.2f}x")
    sys.stdout.write("\n".join(lines) + "\n")
    return result


if __name__ == "__main__":  # pragma: no cover - `python -m phase4gate.bench_audit`
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        main(Path(d))
