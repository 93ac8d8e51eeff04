"""``phase4gate audit-fix``: is one fix commit behavioural for its focus, and proven by a test?"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from phase4gate.adapters.cache import cache_dir

if TYPE_CHECKING:
    from phase4gate.audit import AuditResult

DESCRIPTION = """\
Audit one fix commit (WP01's fix-substance audit) in a local git checkout.

Each changed Python file is compared with logging calls, print, docstrings and
comments removed; with --focus/--focus-symbol only changes to those files and
symbols (and the symbols' direct callers) count. Unless --no-proof, the new or
changed tests run with the fix and without it: only the focus's behavioural
changes are reverted (the focus symbols' when given, else the focus files'),
and each tree gets the project installed from itself, as its CI does. A test
proves the fix only if it passes with it and fails without it on behaviour:
not on a name the fix added, and not only where it reads captured logs.

Output is bounded: long reasons and lists are cut with "… N more" naming the file
(in --logs DIR, else the cache's audits/ folder) that holds the full output.

exit codes: 0 substantive (and proven), 1 any other verdict, 3 could not build or run

examples:
  phase4gate audit-fix --repo ../spec-kitty 3f9a2c1 \\
      --focus src/specify_cli/sync/queue.py --focus-symbol OfflineQueue.queue_event
  phase4gate audit-fix --repo . HEAD --no-proof --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``audit-fix``'s options."""
    parser.add_argument("commit", metavar="COMMIT", help="the fix commit (sha, tag or ref)")
    parser.add_argument("--repo", metavar="PATH", default=".", help="git checkout holding COMMIT (default: .)")
    parser.add_argument("--parent", metavar="REV", help="diff against REV (default: first parent)")
    parser.add_argument(
        "--focus", metavar="PATH", action="append", default=[], help="a file that belongs to the blocker (repeat)"
    )
    parser.add_argument(
        "--focus-symbol",
        metavar="NAME",
        action="append",
        default=[],
        help="a function or method that belongs to the blocker, e.g. OfflineQueue.queue_event (repeat)",
    )
    parser.add_argument("--no-proof", action="store_true", help="classify only; do not build or run tests")
    parser.add_argument(
        "--logs",
        metavar="DIR",
        help="keep the proof's pytest logs and JUnit reports, and the full output when the printed one is capped",
    )
    parser.add_argument(
        "--cache-dir", metavar="DIR", help="where test environments are cached (default: ~/.cache/phase4gate)"
    )


def render_text(result: AuditResult, *, full_text: str | None = None, bounded: bool = True) -> str:
    """Render an audit for a terminal: verdict, files, changed symbols, tests.

    *bounded* caps every line and every listing (:mod:`phase4gate.textcap`),
    naming *full_text* as where the whole rendering is kept.
    """
    from phase4gate.textcap import LINE_LIMIT, cap, cap_lines  # noqa: PLC0415

    def one(line: str) -> str:
        return cap(line, LINE_LIMIT, full_text=full_text) if bounded else line

    def many(items: list[str], what: str) -> list[str]:
        return cap_lines(items, what=what, full_text=full_text) if bounded and items else items

    c = result.classification
    lines = [one(f"verdict: {result.verdict.value}"), one(f"reason: {result.reason}"), f"commit: {result.commit}"]
    if c.closes:
        lines.append(one("closes: " + ", ".join(f"#{n}" for n in c.closes)))
    lines.extend(many([f"note: {n}" for n in c.notes], "notes"))
    lines.append("files:")
    lines.extend(
        many(
            [
                f"  {f.kind.value:<13} {'focus' if f.in_focus else '     '} {f.path}"
                + (f" (from {f.old_path})" if f.old_path else "")
                for f in c.files
            ],
            "files",
        )
    )
    behavioural = [s for s in c.changed_symbols if s.behavioural and s.qualname != "<module>"]
    if behavioural:
        lines.append("changed symbols:")
        lines.extend(many([f"  {s}" + (" [focus]" if s.in_focus else "") for s in behavioural], "changed symbols"))
    if result.proof is not None:
        lines.append("tests (with fix / without fix):")
        judged = {p.id: j.value for p, j in result.judgement.judgements} if result.judgement else {}
        rows = []
        for t in result.proof.tests:
            why = f" {t.failure_class}" if t.failure_class else ""
            rows.append(f"  {t.with_fix.value} / {t.without_fix.value}{why}  {t.id}  -> {judged.get(t.id, '')}")
        lines.extend(many(rows, "tests"))
    return "\n".join(lines) + "\n"


def _keep_full(path: Path, text: str) -> None:
    """Write *text* to *path* atomically (the full output the printed one points to)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def bounded_output(result: AuditResult, out_dir: Path, *, as_json: bool) -> str:
    """Return what ``audit-fix`` prints, bounded; when anything is capped the full output is written to *out_dir*.

    The full text goes to ``audit-<sha12>-<hash>.txt`` (or ``.json``), and every
    capped value names that file.
    """
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415

    from phase4gate.textcap import cap_json, needs_cap  # noqa: PLC0415

    if as_json:
        data = result.to_json_dict()
        full = json.dumps(data, indent=2, sort_keys=True) + "\n"
        if not needs_cap(data):
            return full
        digest = hashlib.sha256(full.encode()).hexdigest()[:8]
        path = out_dir / f"audit-{result.commit[:12]}-{digest}.json"
        _keep_full(path, full)
        return json.dumps(cap_json(data, full_text=str(path)), indent=2, sort_keys=True) + "\n"
    full = render_text(result, bounded=False)
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    path = out_dir / f"audit-{result.commit[:12]}-{digest}.txt"
    shown = render_text(result, full_text=str(path))
    if shown != full:
        _keep_full(path, full)
    return shown


def run(args: argparse.Namespace) -> int:
    """Audit the commit and print the verdict; 0 substantive, 1 other verdicts."""
    import tempfile  # noqa: PLC0415

    from phase4gate.adapters.proof_env import ProofSettings  # noqa: PLC0415
    from phase4gate.audit import audit_commit, audit_options  # noqa: PLC0415
    from phase4gate.checks.fix_substance import Focus  # noqa: PLC0415
    from phase4gate.commands._common import load_config  # noqa: PLC0415
    from phase4gate.errors import ExitCode  # noqa: PLC0415

    config = load_config(args)
    options = audit_options(config)
    focus = Focus(files=tuple(args.focus), symbols=tuple(args.focus_symbol))
    cache = cache_dir(args.cache_dir)
    proof = None if args.no_proof else ProofSettings.from_config(config, cache)
    from phase4gate.adapters.guard import cache_user  # noqa: PLC0415

    cache.mkdir(parents=True, exist_ok=True)
    # Registered like a gate: a gate starting meanwhile does not prune this audit's worktrees.
    with cache_user(cache), tempfile.TemporaryDirectory(prefix="audit-", dir=cache) as work:
        result = audit_commit(
            Path(args.repo),
            args.commit,
            parent=args.parent,
            focus=focus,
            options=options,
            proof=proof,
            work_dir=Path(work),
        )
        if args.logs and result.proof is not None:
            import shutil  # noqa: PLC0415

            shutil.copytree(result.proof.with_log.parent, Path(args.logs), dirs_exist_ok=True)
        out_dir = Path(args.logs) if args.logs else cache / "audits"
        print(bounded_output(result, out_dir, as_json=args.json), end="")
    return int(ExitCode.PASSED if result.substantive else ExitCode.STOPPED)
