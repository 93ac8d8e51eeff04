"""The fix audit's proof: run the new tests with the fix and without it, in throwaway worktrees.

The test environment is built the way the project builds it: ``uv sync
--frozen`` with its ``test`` extra or dependency group when a ``uv.lock``
exists, else a uv venv and ``pip install -e .[test]``, or the configured
``audit.install_command``.  It is cached by the hash of the lock (or
``pyproject.toml``) so every blocker audited on the same commit reuses it.
The project itself is put on ``PYTHONPATH`` from each worktree, so one
environment serves both trees.

"With the fix" is the fix commit; "without the fix" is the same tree with only
the focus's behavioural files restored to the parent (tests and logging stay
as at the fix).  Only the new or changed pytest node ids run, with an isolated
``HOME``, ``-p no:cacheprovider``, the project's deselecting ``addopts``
neutralised, and a timeout.  Outcomes come from pytest's JUnit XML.
"""

from __future__ import annotations

import concurrent.futures
import configparser
import hashlib
import multiprocessing
import os
import re
import shlex
import shutil
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import filelock
from attrs import field, frozen

from phase4gate.adapters import git
from phase4gate.adapters.proc import run_process
from phase4gate.checks.fix_substance import (
    AuditOptions,
    Classification,
    FileChange,
    FileReport,
    Focus,
    ProofJudgement,
    TestOutcome,
    TestProof,
    Verdict,
    added_names,
    audit_fix_substance,
    classify_file,
    find_callers,
    judge_proof,
    without_fix_source,
)
from phase4gate.errors import ProcessError

__all__ = [
    "DESELECTING_OPTIONS",
    "PARALLEL_MIN_FILES",
    "AuditResult",
    "ProofRun",
    "ProofSettings",
    "TestEnv",
    "audit_commit",
    "build_env",
    "classify_files",
    "focus_exists",
    "neutralised_addopts",
    "parse_junit",
    "run_proof",
]

PARALLEL_MIN_FILES: Final = 64
_CLASSIFY_TIMEOUT_SECONDS: Final = 600.0
# addopts that deselect or skip tests; dropped so the ids we ask for really run.
DESELECTING_OPTIONS: Final = frozenset({"-m", "-k", "--deselect", "--ignore", "--ignore-glob", "--lf", "--ff", "--sw"})
_TAKES_VALUE: Final = frozenset({"-m", "-k", "--deselect", "--ignore", "--ignore-glob"})
_TEST_EXTRAS: Final = ("test", "tests", "testing")
_READY: Final = ".phase4gate-ready"
_EXC_RE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Warning|Failed|Failure))\b")
_E_LINE_RE = re.compile(r"^E\s+((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Failed)\b.*)$", re.MULTILINE)
_SECRET_ENV_RE = re.compile(r"TOKEN|SECRET|PASSW|CREDENTIAL|_KEY$|^AWS_|^GH_|^GITHUB_", re.IGNORECASE)
_INSTALLER_DROP: Final = frozenset(
    {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX", "UV_PROJECT_ENVIRONMENT"}
)
_PASSTHROUGH_ENV: Final = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "UV_CACHE_DIR", "UV_INDEX_URL")


@frozen
class ProofSettings:
    """How to build the test environment and run the tests."""

    cache_dir: Path
    install_command: tuple[str, ...] = ()
    test_env: Mapping[str, str] = field(factory=dict)
    timeout_seconds: float = 900.0
    uv: str = "uv"


@frozen
class TestEnv:
    """A built test environment."""

    python: Path
    key: str
    how: str  # "uv-sync", "pip", "install-command"
    log_path: Path
    reused: bool

    __test__ = False


@frozen
class ProofRun:
    """Both pytest runs: each test's outcomes, and the logs and reports kept as evidence."""

    tests: tuple[TestProof, ...]
    env: TestEnv
    with_log: Path
    without_log: Path
    with_junit: Path
    without_junit: Path
    command: tuple[str, ...]


def _pyproject(checkout: Path) -> dict[str, object]:
    path = checkout / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProcessError(f"{path}: not valid TOML: {exc}") from None


def _test_selector(data: Mapping[str, object]) -> tuple[str, ...]:
    project = data.get("project")
    extras = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    groups = data.get("dependency-groups", {})
    for name in _TEST_EXTRAS:
        if isinstance(extras, dict) and name in extras:
            return ("--extra", name)
        if isinstance(groups, dict) and name in groups:
            return ("--group", name)
    return ()


def _env_key(checkout: Path, settings: ProofSettings) -> tuple[str, str]:
    h = hashlib.sha256()
    lock = checkout / "uv.lock"
    if settings.install_command:
        how = "install-command"
        h.update("\0".join(settings.install_command).encode())
        for name in ("uv.lock", "pyproject.toml", "requirements.txt"):
            if (checkout / name).is_file():
                h.update((checkout / name).read_bytes())
    elif lock.is_file():
        how = "uv-sync"
        h.update(lock.read_bytes())
        h.update(" ".join(_test_selector(_pyproject(checkout))).encode())
    else:
        how = "pip"
        pp = checkout / "pyproject.toml"
        h.update(pp.read_bytes() if pp.is_file() else b"")
    return how, h.hexdigest()


def _installer_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment an installer needs (certificates, proxies, uv/pip settings, HOME for uv's cache), no secrets."""
    env = {k: v for k, v in os.environ.items() if not _SECRET_ENV_RE.search(k) and k not in _INSTALLER_DROP}
    env.update(extra)
    return env


def _child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSTHROUGH_ENV if k in os.environ}
    env.update(extra or {})
    return env


def _run_build(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path, timeout: float) -> None:
    result = run_process(argv, cwd=cwd, env=env, timeout=timeout, log_path=log)
    if not result.ok:
        why = "timed out" if result.timed_out else f"exited {result.returncode}"
        tail = result.output_tail.strip().splitlines()[-5:]
        raise ProcessError(
            f"building the test environment in {cwd}: `{shlex.join(result.argv)}` {why}: " + " | ".join(tail),
            argv=result.argv,
            returncode=result.returncode,
            hint=f"see {log}; set audit.install_command to the project's own install steps",
        )


def build_env(checkout: Path, settings: ProofSettings, *, log_path: Path) -> TestEnv:
    """Build (or reuse) the test environment for *checkout*; return its interpreter.

    ``uv.lock`` present: ``uv sync --frozen --no-install-project`` with the
    project's ``test`` extra or dependency group (the project itself is put on
    ``PYTHONPATH`` from each worktree).  No lock: ``uv venv`` then
    ``uv pip install -e .[test]``.  ``install_command`` (from ``audit.install_command``)
    replaces the install step; ``{python}`` and ``{env}`` in it are the new
    environment's interpreter and folder.  Installers see certificates, proxies
    and uv/pip settings from the environment, never a variable that looks secret.

    Raises:
        ProcessError: the environment could not be built (exit 3, never a pass).
    """
    how, key = _env_key(checkout, settings)
    env_dir = settings.cache_dir / f"env-{key[:16]}"
    python = env_dir / "bin" / "python"
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(settings.cache_dir / f"env-{key[:16]}.lock"), timeout=settings.timeout_seconds):
        if (env_dir / _READY).is_file() and python.exists():
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(f"reused test environment {env_dir} ({how}, key {key[:16]})\n", encoding="utf-8")
            return TestEnv(python=python, key=key, how=how, log_path=log_path, reused=True)
        shutil.rmtree(env_dir, ignore_errors=True)
        base_env = _installer_env({"VIRTUAL_ENV": str(env_dir)})
        timeout = settings.timeout_seconds
        if how == "uv-sync":
            selector = _test_selector(_pyproject(checkout))
            argv = (settings.uv, "sync", "--frozen", "--no-install-project", *selector)
            _run_build(
                argv,
                cwd=checkout,
                env={**base_env, "UV_PROJECT_ENVIRONMENT": str(env_dir)},
                log=log_path,
                timeout=timeout,
            )
        else:
            _run_build(
                (settings.uv, "venv", "--quiet", str(env_dir)),
                cwd=checkout,
                env=base_env,
                log=log_path,
                timeout=timeout,
            )
            if how == "pip":
                target = ".[test]" if _test_selector(_pyproject(checkout))[:2] == ("--extra", "test") else "."
                argv = (settings.uv, "pip", "install", "--python", str(python), "-e", target)
            else:
                subst = {"python": str(python), "env": str(env_dir)}
                argv = tuple(part.format(**subst) for part in settings.install_command)
            path_env = {**base_env, "PATH": f"{env_dir / 'bin'}{os.pathsep}{base_env.get('PATH', '')}"}
            _run_build(argv, cwd=checkout, env=path_env, log=log_path, timeout=timeout)
        if not python.exists():
            raise ProcessError(
                f"the test environment {env_dir} has no interpreter after building", hint=f"see {log_path}"
            )
        (env_dir / _READY).write_text(key + "\n", encoding="utf-8")
    return TestEnv(python=python, key=key, how=how, log_path=log_path, reused=False)


def _read_addopts(checkout: Path) -> list[str] | None:
    data = _pyproject(checkout)
    tool = data.get("tool")
    ini = tool.get("pytest", {}).get("ini_options") if isinstance(tool, dict) else None
    if isinstance(ini, dict) and "addopts" in ini:
        raw = ini["addopts"]
        return list(raw) if isinstance(raw, list) else shlex.split(str(raw))
    for name, section in (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        path = checkout / name
        if not path.is_file():
            continue
        cp = configparser.ConfigParser(interpolation=None)
        try:
            cp.read(path, encoding="utf-8")
        except configparser.Error:
            continue
        if cp.has_option(section, "addopts"):
            return shlex.split(cp.get(section, "addopts"))
    return None


def neutralised_addopts(checkout: Path) -> str | None:
    """Return the project's ``addopts`` without deselecting options, or ``None`` when nothing deselects."""
    opts = _read_addopts(checkout)
    if not opts:
        return None
    kept: list[str] = []
    skip = False
    changed = False
    for opt in opts:
        if skip:
            skip = False
            continue
        name = opt.split("=", 1)[0]
        if name in DESELECTING_OPTIONS or (opt[:2] in {"-m", "-k"} and len(opt) > 2):
            changed = True
            skip = name in _TAKES_VALUE and "=" not in opt and len(opt) == len(name)
            continue
        kept.append(opt)
    return shlex.join(kept) if changed else None


def _failure_class(message: str, text: str) -> str | None:
    first = message.strip().splitlines()[0] if message.strip() else ""
    m = _EXC_RE.match(first)
    if m:
        return m.group(1)
    if first.startswith("assert") or "AssertionError" in first:
        return "AssertionError"
    lines = _E_LINE_RE.findall(text)
    if lines:
        m = _EXC_RE.match(lines[-1])
        if m:
            return m.group(1)
    if text.rstrip().endswith("AssertionError"):
        return "AssertionError"
    return first.split(":", 1)[0] or None


def _expected_case(node_id: str) -> tuple[str, str]:
    path, _, rest = node_id.partition("::")
    parts = rest.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[:-1]]), parts[-1]


_RANK: Final = {
    TestOutcome.PASSED: 0,
    TestOutcome.SKIPPED: 1,
    TestOutcome.MISSING: 2,
    TestOutcome.ERROR: 3,
    TestOutcome.FAILED: 4,
}


def parse_junit(
    xml_text: str, ids: Sequence[str], *, source: str = "JUnit XML report"
) -> dict[str, tuple[TestOutcome, str | None, str | None]]:
    """Map each node id to ``(outcome, failure class, failure message)`` from a JUnit report.

    The report is read by the one JUnit parser (:func:`~phase4gate.checks.junit_report.parse_junit_report`).
    Parametrised cases fold into their id (the worst outcome wins); ids absent
    from the report are ``missing`` unless their module failed to collect
    (then ``error`` with the collection error's class).

    Raises:
        InputError: the report is empty, truncated or not JUnit XML, naming *source* and the position.
    """
    from phase4gate.checks.junit_report import parse_junit_report  # noqa: PLC0415
    from phase4gate.models import ScenarioStatus  # noqa: PLC0415

    kinds = {
        ScenarioStatus.PASS: TestOutcome.PASSED,
        ScenarioStatus.FAIL: TestOutcome.FAILED,
        ScenarioStatus.ERROR: TestOutcome.ERROR,
        ScenarioStatus.SKIPPED: TestOutcome.SKIPPED,
    }
    cases: list[tuple[str, str, TestOutcome, str | None, str | None]] = []
    collection: dict[str, tuple[str | None, str]] = {}
    for case in parse_junit_report(xml_text, source=source):
        classname, name = case.classname, case.name
        outcome, cls, msg = kinds[case.status], None, None
        if outcome is TestOutcome.SKIPPED:
            msg = case.message
        elif outcome is not TestOutcome.PASSED:
            message, text = case.message, case.text
            cls = _failure_class(message, text)
            e_lines = _E_LINE_RE.findall(text)
            msg = e_lines[-1] if e_lines and not message.strip() else (message or (e_lines[-1] if e_lines else ""))
            if msg and msg.startswith("assert"):
                msg = f"AssertionError: {msg}"
        if not classname and outcome is TestOutcome.ERROR:
            e_lines = _E_LINE_RE.findall(case.text)
            collection[name] = (cls, f"collection error: {e_lines[-1] if e_lines else msg}")
            continue
        cases.append((classname, name.split("[", 1)[0], outcome, cls, msg))
    out: dict[str, tuple[TestOutcome, str | None, str | None]] = {}
    for node_id in ids:
        classname, name = _expected_case(node_id)
        mine = [c for c in cases if c[0] == classname and c[1] == name]
        if mine:
            worst = max(mine, key=lambda c: _RANK[c[2]])
            out[node_id] = (worst[2], worst[3], worst[4])
            continue
        module = node_id.partition("::")[0].removesuffix(".py").replace("/", ".")
        if module in collection:
            cls, msg = collection[module]
            out[node_id] = (TestOutcome.ERROR, cls, msg)
        else:
            out[node_id] = (TestOutcome.MISSING, None, None)
    return out


def _restore(tree: Path, changes: Sequence[FileChange], restore_paths: Sequence[str], options: AuditOptions) -> None:
    """Take the fix's behavioural code out of *tree*: changed functions back to the parent, logging kept."""
    by_path = {c.path: c for c in changes}
    for rel in restore_paths:
        change = by_path[rel]
        text = without_fix_source(change, options)
        target = tree / rel
        if text is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if change.old_path and change.old_path != rel and change.before is not None:
            # A moved module also comes back at its old path, so the parent's importers still import.
            old = tree / change.old_path
            old.parent.mkdir(parents=True, exist_ok=True)
            old.write_text(change.before, encoding="utf-8")


def _pythonpath(tree: Path) -> str:
    parts = [str(tree / "src")] if (tree / "src").is_dir() else []
    parts.append(str(tree))
    return os.pathsep.join(parts)


def _pytest(  # noqa: PLR0913 - one pytest run's knobs
    env: TestEnv, tree: Path, ids: Sequence[str], *, junit: Path, log: Path, home: Path, settings: ProofSettings
) -> tuple[str, ...]:
    argv = [str(env.python), "-m", "pytest", *ids, "-p", "no:cacheprovider", f"--junitxml={junit}", "-q", "-rfE"]
    addopts = neutralised_addopts(tree)
    if addopts is not None:
        argv[3:3] = ["-o", f"addopts={addopts}"]
    home.mkdir(parents=True, exist_ok=True)
    child = _child_env(
        {
            "HOME": str(home),
            "PYTHONPATH": _pythonpath(tree),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "PATH": f"{env.python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            **settings.test_env,
        }
    )
    result = run_process(argv, cwd=tree, env=child, timeout=settings.timeout_seconds, log_path=log)
    if result.timed_out:
        raise ProcessError(
            f"pytest in {tree} did not finish within {settings.timeout_seconds:.0f}s",
            argv=result.argv,
            hint=f"see {log}; raise audit.test_timeout_seconds",
        )
    if not junit.is_file():
        raise ProcessError(
            f"pytest in {tree} exited {result.returncode} without a JUnit report",
            argv=result.argv,
            returncode=result.returncode,
            hint=f"see {log}",
        )
    return tuple(argv)


def run_proof(  # noqa: PLR0913 - the proof's inputs
    repo: Path,
    fix_sha: str,
    changes: Sequence[FileChange],
    restore_paths: Sequence[str],
    test_ids: Sequence[str],
    *,
    settings: ProofSettings,
    work_dir: Path,
    options: AuditOptions = AuditOptions(),  # noqa: B008 - frozen value
) -> ProofRun:
    """Run *test_ids* with the fix and without it; return each test's two outcomes and the logs.

    Raises:
        ProcessError: the environment could not be built or pytest could not run.
        GitError: a worktree could not be made.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    with_tree = work_dir / "with-fix"
    without_tree = work_dir / "without-fix"
    logs = work_dir / "logs"
    logs.mkdir(exist_ok=True)
    try:
        git.add_worktree(repo, fix_sha, with_tree)
        git.add_worktree(repo, fix_sha, without_tree)
        _restore(without_tree, changes, restore_paths, options)
        env = build_env(with_tree, settings, log_path=logs / "env-build.log")
        results: dict[str, dict[str, tuple[TestOutcome, str | None, str | None]]] = {}
        command: tuple[str, ...] = ()
        for label, tree in (("with-fix", with_tree), ("without-fix", without_tree)):
            junit = logs / f"{label}.junit.xml"
            command = _pytest(
                env,
                tree,
                test_ids,
                junit=junit,
                log=logs / f"{label}.log",
                home=work_dir / f"home-{label}",
                settings=settings,
            )
            report = junit.read_text(encoding="utf-8", errors="replace") if junit.is_file() else ""
            results[label] = parse_junit(report, test_ids, source=str(junit))
    finally:
        git.remove_worktree(repo, with_tree)
        git.remove_worktree(repo, without_tree)
    tests = tuple(
        TestProof(
            id=i,
            with_fix=results["with-fix"][i][0],
            without_fix=results["without-fix"][i][0],
            failure_class=results["without-fix"][i][1],
            failure_message=results["without-fix"][i][2],
        )
        for i in test_ids
    )
    return ProofRun(
        tests=tests,
        env=env,
        with_log=logs / "with-fix.log",
        without_log=logs / "without-fix.log",
        with_junit=logs / "with-fix.junit.xml",
        without_junit=logs / "without-fix.junit.xml",
        command=command,
    )


# --------------------------------------------------------------------------- the whole audit


@frozen
class AuditResult:
    """One commit audited for one blocker: classification, proof (if run) and the final verdict."""

    repo: Path
    commit: str
    parent: str | None
    classification: Classification
    verdict: Verdict
    reason: str
    proof: ProofRun | None = None
    judgement: ProofJudgement | None = None

    @property
    def substantive(self) -> bool:
        """True when the fix is behavioural for its focus (and proven, when the proof ran)."""
        return self.verdict is Verdict.SUBSTANTIVE

    def to_json_dict(self) -> dict[str, object]:
        """Return the ``--json`` object: verdict, files, changed symbols, closes, tests."""
        c = self.classification
        judged = {p.id: j.value for p, j in self.judgement.judgements} if self.judgement else {}
        out: dict[str, object] = {
            "commit": self.commit,
            "parent": self.parent,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "closes": list(c.closes),
            "focus": {"files": list(c.focus.files), "symbols": list(c.focus.symbols), "callers": list(c.focus_callers)},
            "files": [
                {
                    "path": f.path,
                    "old_path": f.old_path,
                    "status": f.status,
                    "kind": f.kind.value,
                    "in_focus": f.in_focus,
                    **({"error": f.error} if f.error else {}),
                }
                for f in c.files
            ],
            "changed_symbols": [
                {
                    "path": s.path,
                    "symbol": s.qualname,
                    "change": s.change,
                    "lines": [s.start, s.end],
                    "behavioural": s.behavioural,
                    "in_focus": s.in_focus,
                }
                for s in c.changed_symbols
            ],
            "outside_focus": list(c.outside_focus),
            "referencing_tests": list(c.referencing_tests),
            "notes": list(c.notes),
        }
        if self.proof is not None:
            out["tests"] = [
                {
                    "id": t.id,
                    "with_fix": t.with_fix.value,
                    "without_fix": t.without_fix.value,
                    "failure_class": t.failure_class,
                    "failure_message": t.failure_message,
                    "judgement": judged.get(t.id),
                }
                for t in self.proof.tests
            ]
            out["test_env"] = {
                "how": self.proof.env.how,
                "key": self.proof.env.key[:16],
                "reused": self.proof.env.reused,
            }
        return out


def _classify_chunk(changes: list[FileChange], options: AuditOptions) -> list[FileReport]:
    return [classify_file(c, options) for c in changes]


def classify_files(
    changes: Sequence[FileChange],
    options: AuditOptions = AuditOptions(),  # noqa: B008 - frozen value
    *,
    workers: int | None = None,
) -> list[FileReport]:
    """Classify every changed file, on all cores for a large commit (the main process works too).

    Small commits (fewer than ``PARALLEL_MIN_FILES`` files) or one core stay in
    this process.  Chunks are handed to spawned workers from the front while
    this process takes them from the back, cancelling what no worker started,
    so the worker's start-up time is never waited for.
    """
    cores = workers if workers is not None else (os.cpu_count() or 1)
    if cores < 2 or len(changes) < PARALLEL_MIN_FILES:
        return _classify_chunk(list(changes), options)
    size = max(4, len(changes) // (16 * cores))
    chunks = [list(changes[i : i + size]) for i in range(0, len(changes), size)]
    results: list[list[FileReport] | None] = [None] * len(chunks)
    # spawn, not fork: the gate runs steps in threads, and forking a threaded process is unsafe.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=cores - 1, mp_context=context) as pool:
        futures = [pool.submit(_classify_chunk, chunk, options) for chunk in chunks]
        for i in reversed(range(len(chunks))):
            if futures[i].cancel():
                results[i] = _classify_chunk(chunks[i], options)
        for i, future in enumerate(futures):
            if results[i] is None:
                results[i] = future.result(timeout=_CLASSIFY_TIMEOUT_SECONDS)
    return [report for part in results if part is not None for report in part]


def focus_exists(repo: Path, sha: str, parent: str | None, focus: Focus) -> bool:
    """Return whether any focus file exists in *repo* at the fix or its parent (no files: True)."""
    if not focus.files:
        return True
    present = set(git.list_files(repo, sha)) | (set(git.list_files(repo, parent)) if parent else set())
    return any(f in present for f in focus.files)


def audit_commit(  # noqa: PLR0913 - the audit's inputs
    repo: Path,
    commit: str,
    *,
    parent: str | None = None,
    focus: Focus = Focus(),  # noqa: B008 - frozen value
    options: AuditOptions = AuditOptions(),  # noqa: B008 - frozen value
    proof: ProofSettings | None = None,
    work_dir: Path | None = None,
) -> AuditResult:
    """Audit *commit* in *repo* for one blocker's *focus*; prove it when *proof* settings are given.

    Raises:
        GitError: the repository or commit cannot be read.
        ProcessError: the proof's environment could not be built or pytest could not run.
    """
    info, base, changes = git.read_changes(repo, commit, parent=parent)
    applies = focus_exists(repo, info.sha, base, focus)
    callers: tuple[str, ...] = ()
    if applies and focus.symbols:
        py = [p for p in git.list_files(repo, info.sha) if p.endswith(".py")]
        callers = find_callers(git.read_sources(repo, info.sha, py), focus.symbols)
    c = audit_fix_substance(
        changes,
        message=info.message,
        focus=focus,
        callers=callers,
        options=options,
        focus_applies=applies,
        reports=classify_files(changes, options),
    )
    if not c.needs_proof or proof is None:
        return AuditResult(repo, info.sha, base, c, c.verdict, c.reason)
    if work_dir is None:
        msg = "the proof needs a work directory"
        raise ProcessError(msg)
    if not c.test_ids:
        return AuditResult(repo, info.sha, base, c, Verdict.NO_TEST, "no new or changed test function to run")
    run = run_proof(
        repo, info.sha, changes, c.restore_paths, c.test_ids, settings=proof, work_dir=work_dir, options=options
    )
    judgement = judge_proof(run.tests, added_names(changes))
    return AuditResult(repo, info.sha, base, c, judgement.verdict, judgement.reason, proof=run, judgement=judgement)
