"""The fix audit's proof, the I/O part: build the test environment, then run the new tests with and without the fix.

The test environment is built the way the project builds it: ``uv sync
--frozen`` with its ``test`` extra or dependency group when a ``uv.lock``
exists, else a uv venv and ``pip install -e .[test]``, or the configured
``audit.install_command``.  It is cached by the hash of the lock (or
``pyproject.toml``) so every blocker audited on the same commit reuses it.
That cached environment holds the dependencies only; each worktree, with and
without the fix, then gets the project itself installed from that tree, the
way its CI's ``uv sync`` does (editable or not as ``uv.lock`` says), into a
small per-run overlay environment that sees the cached one through a ``.pth``
file: ``importlib.metadata`` and entry points read the tree's own metadata,
and the shared cache is never written after it is built.

"With the fix" is the fix commit; "without the fix" is the same tree with only
the behavioural changes of the focus reverted (of the focus symbols when they
are given, of the focus files otherwise; tests, logging and every other change
stay as at the fix).  Only the new or changed pytest node ids run, with an
isolated ``HOME``, ``-p no:cacheprovider``, the project's deselecting
``addopts`` neutralised, and a timeout.  Outcomes come from pytest's JUnit XML
(:func:`phase4gate.checks.proof.outcomes_from_junit`); a small probe plugin
records where each failure was raised, so a failure in a statement that only
reads captured logs is told apart.  The whole audit (classify, then prove) is
:func:`phase4gate.audit.audit_commit`.
"""

from __future__ import annotations

import concurrent.futures
import configparser
import contextvars
import hashlib
import json
import os
import re
import shlex
import shutil
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import filelock
from attrs import field, frozen

from phase4gate.adapters import git
from phase4gate.adapters.proc import run_process
from phase4gate.checks.fix_substance import (
    AuditOptions,
    FileChange,
    InseparableChangeError,
    TestProof,
    without_fix_source,
)
from phase4gate.checks.proof import (
    lock_install_mode,
    normalise_name,
    outcomes_from_junit,
    uv_test_selector,
    without_deselecting,
)
from phase4gate.errors import ProcessError

if TYPE_CHECKING:
    from phase4gate.checks.proof import IdOutcome
    from phase4gate.config import GateConfig

__all__ = [
    "ProofRun",
    "ProofSettings",
    "TestEnv",
    "TreeEnv",
    "build_env",
    "install_project",
    "neutralised_addopts",
    "project_install_mode",
    "run_proof",
]

_READY: Final = ".phase4gate-ready"
_PROJECT: Final = ".phase4gate-project"  # how each tree installs the project over this environment
# Bumped when what a cached environment holds changes (v3: dependencies only, and how trees install the project).
_ENV_LAYOUT: Final = b"phase4gate-env-v3\0"
_PROBE_MODULE: Final = "phase4gate_proof_probe"
# Loaded into the project's pytest with -p: records where each failure was raised (stdlib only).
_PROBE_SOURCE: Final = """\
import json
import os
import traceback

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call):
    out = os.environ.get("PHASE4GATE_PROOF_PROBE")
    if not out or call.excinfo is None or call.when not in ("setup", "call"):
        return None
    frames = [[f.filename, f.lineno] for f in traceback.extract_tb(call.excinfo.tb)]
    with open(out, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"nodeid": item.nodeid, "when": call.when, "frames": frames}) + "\\n")
    return None
"""
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

    @classmethod
    def from_config(cls, config: GateConfig, cache: Path) -> ProofSettings:
        """Return the settings ``[audit]`` asks for, caching environments under *cache*'s ``envs/``."""
        audit = config.audit
        return cls(
            cache_dir=cache / "envs",
            install_command=audit.install_command,
            test_env=dict(audit.test_env),
            timeout_seconds=audit.test_timeout_seconds,
        )


@frozen
class TestEnv:
    """A built test environment."""

    python: Path
    key: str
    how: str  # "uv-sync", "pip", "install-command"
    log_path: Path
    reused: bool
    # How each worktree installs the project over it: "editable", "wheel" or None (source on PYTHONPATH).
    project: str | None = None

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
    # Text of the files where failures without the fix were raised (path relative to the tree).
    sources: Mapping[str, str] = field(factory=dict)


def _pyproject(checkout: Path) -> dict[str, object]:
    path = checkout / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProcessError(f"{path}: not valid TOML: {exc}") from None


def _env_key(checkout: Path, settings: ProofSettings) -> tuple[str, str]:
    h = hashlib.sha256(_ENV_LAYOUT)
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
        h.update(" ".join(uv_test_selector(_pyproject(checkout))).encode())
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
    project's ``test`` extra or dependency group (each worktree then installs
    the project itself, :func:`install_project`).  No lock: ``uv venv`` then
    ``uv pip install -e .[test]``, and the project is uninstalled again so the
    shared environment holds only its dependencies.  ``install_command`` (from ``audit.install_command``)
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
            kept = (env_dir / _PROJECT).read_text(encoding="utf-8").strip() if (env_dir / _PROJECT).is_file() else ""
            return TestEnv(python=python, key=key, how=how, log_path=log_path, reused=True, project=kept or None)
        shutil.rmtree(env_dir, ignore_errors=True)
        base_env = _installer_env({"VIRTUAL_ENV": str(env_dir)})
        timeout = settings.timeout_seconds
        if how == "uv-sync":
            selector = uv_test_selector(_pyproject(checkout))
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
                target = ".[test]" if uv_test_selector(_pyproject(checkout))[:2] == ("--extra", "test") else "."
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
        name = _project_name(checkout)
        mode: str | None
        if how == "uv-sync":
            mode = project_install_mode(checkout)
        else:
            # Installed by the build (pip path, or the project's own install command): each tree installs it the
            # same way, and the shared environment keeps the dependencies only.
            mode = _installed_mode(env_dir, name) if name else None
            if mode is not None and name is not None:
                argv = (settings.uv, "pip", "uninstall", "--python", str(python), name)
                log = log_path.with_suffix(".uninstall.log")
                _run_build(argv, cwd=checkout, env=base_env, log=log, timeout=timeout)
        (env_dir / _PROJECT).write_text(f"{mode or ''}\n", encoding="utf-8")
        (env_dir / _READY).write_text(key + "\n", encoding="utf-8")
    return TestEnv(python=python, key=key, how=how, log_path=log_path, reused=False, project=mode)


def _installed_mode(env_dir: Path, name: str) -> str | None:
    """Return how *name* is installed in *env_dir*: ``editable``, ``wheel`` (from ``direct_url.json``) or ``None``."""
    for sp in env_dir.glob("lib/python*/site-packages"):
        for info in sp.glob("*.dist-info"):
            if normalise_name(info.name.removesuffix(".dist-info").split("-", 1)[0]) != normalise_name(name):
                continue
            try:
                direct = json.loads((info / "direct_url.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return "wheel"
            editable = isinstance(direct, dict) and isinstance(direct.get("dir_info"), dict)
            return "editable" if editable and direct["dir_info"].get("editable") else "wheel"
    return None


def _project_name(checkout: Path) -> str | None:
    project = _pyproject(checkout).get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) and name else None


def project_install_mode(checkout: Path) -> str | None:
    """Return how the project's CI installs it: ``"editable"``, ``"wheel"``, or ``None`` (not installed).

    With ``uv.lock``, the lock's entry for the project says it: ``source =
    {editable = "."}`` is editable, ``{directory = "."}`` a plain install,
    ``{virtual = "."}`` (or no entry) not installed.  Without a lock a project
    with a ``[project]`` table or ``setup.py`` is installed editable.

    Raises:
        ProcessError: ``uv.lock`` or ``pyproject.toml`` is not valid TOML.
    """
    name = _project_name(checkout)
    lock = checkout / "uv.lock"
    if not lock.is_file():
        return "editable" if name or (checkout / "setup.py").is_file() else None
    if name is None:
        return None
    try:
        data = tomllib.loads(lock.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProcessError(f"{lock}: not valid TOML: {exc}") from None
    return lock_install_mode(data, name)


@frozen
class TreeEnv:
    """The interpreter one worktree's tests run with, and how the project is found there."""

    python: Path
    pythonpath: tuple[str, ...]  # the tree on PYTHONPATH when the project is not installed
    installed: str | None  # "editable", "wheel" or None


def _site_packages(env_dir: Path) -> Path:
    found = sorted(env_dir.glob("lib/python*/site-packages"))
    if len(found) != 1:
        raise ProcessError(f"{env_dir}: expected one site-packages folder, found {len(found)}")
    return found[0]


def install_project(env: TestEnv, tree: Path, dest: Path, settings: ProofSettings, *, log_path: Path) -> TreeEnv:
    """Install *tree*'s project for its tests: an overlay env at *dest* over the cached *env*.

    The overlay sees the cached dependencies through a ``.pth`` file (the
    cached environment is only read) and gets the project from *tree*, without
    dependencies, the way the environment's build installed it (``env.project``:
    as ``uv.lock`` says, or as the pip path or the project's install command
    did).  A project the build does not install runs from *tree* on
    ``PYTHONPATH`` with the cached interpreter.

    Raises:
        ProcessError: the overlay or the project's install failed.
    """
    mode = env.project
    if mode is None:
        return TreeEnv(python=env.python, pythonpath=_pythonpath(tree), installed=None)
    base_env = _installer_env({"VIRTUAL_ENV": str(dest)})
    timeout = settings.timeout_seconds
    shutil.rmtree(dest, ignore_errors=True)  # a work folder used again gets a fresh overlay
    _run_build(
        (settings.uv, "venv", "--quiet", "--python", str(env.python), str(dest)),
        cwd=tree,
        env=base_env,
        log=log_path.with_suffix(".venv.log"),
        timeout=timeout,
    )
    shared = _site_packages(env.python.parent.parent)
    (_site_packages(dest) / "_phase4gate_shared_env.pth").write_text(
        f"import site; site.addsitedir({str(shared)!r})\n", encoding="utf-8"
    )
    python = dest / "bin" / "python"
    editable = ("-e",) if mode == "editable" else ()
    argv = (settings.uv, "pip", "install", "--quiet", "--python", str(python), "--no-deps", *editable, str(tree))
    _run_build(argv, cwd=tree, env=base_env, log=log_path, timeout=timeout)
    return TreeEnv(python=python, pythonpath=(), installed=mode)


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
    return without_deselecting(opts) if opts else None


def _restore(
    tree: Path,
    changes: Sequence[FileChange],
    restore_paths: Sequence[str],
    options: AuditOptions,
    symbols: Sequence[str] | None = None,
) -> None:
    """Take the fix's behavioural code out of *tree*: changed functions back to the parent, logging kept.

    *symbols* (``path:qualname``) narrows the revert to those symbols' changes; ``None`` reverts whole files.

    Raises:
        ProcessError: the focus's changes in a file cannot be reverted apart from its other changes.
    """
    by_path = {c.path: c for c in changes}
    for rel in restore_paths:
        change = by_path[rel]
        mine = None if symbols is None else [q for p, _, q in (s.partition(":") for s in symbols) if p == rel]
        try:
            text = without_fix_source(change, options, mine)
        except InseparableChangeError as exc:
            raise ProcessError(
                f"cannot build the tree without the fix: {exc}",
                hint="audit this blocker with focus files only (no focus symbols), or split the commit",
            ) from None
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


def _pythonpath(tree: Path) -> tuple[str, ...]:
    parts = [str(tree / "src")] if (tree / "src").is_dir() else []
    parts.append(str(tree))
    return tuple(parts)


def _pytest(  # noqa: PLR0913 - one pytest run's knobs
    env: TreeEnv,
    tree: Path,
    ids: Sequence[str],
    *,
    junit: Path,
    log: Path,
    home: Path,
    settings: ProofSettings,
    probe: Path,
    shared: TestEnv,
) -> tuple[str, ...]:
    argv = [str(env.python), "-m", "pytest", *ids, "-p", "no:cacheprovider", f"--junitxml={junit}", "-q", "-rfE"]
    argv += ["-p", _PROBE_MODULE]
    addopts = neutralised_addopts(tree)
    if addopts is not None:
        argv[3:3] = ["-o", f"addopts={addopts}"]
    home.mkdir(parents=True, exist_ok=True)
    plugin_dir = home.parent / "probe-plugin"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    (plugin_dir / f"{_PROBE_MODULE}.py").write_text(_PROBE_SOURCE, encoding="utf-8")
    bins = dict.fromkeys((str(env.python.parent), str(shared.python.parent)))
    child = _child_env(
        {
            "HOME": str(home),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "PATH": os.pathsep.join([*bins, os.environ.get("PATH", "")]),
            **settings.test_env,
        }
    )
    extra = [child["PYTHONPATH"]] if child.get("PYTHONPATH") else []
    child["PYTHONPATH"] = os.pathsep.join([str(plugin_dir), *env.pythonpath, *extra])
    child["PHASE4GATE_PROOF_PROBE"] = str(probe)
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


def _failure_locations(probe: Path, tree: Path, ids: Sequence[str]) -> dict[str, tuple[tuple[str, int], ...]]:
    """Map each node id to where its failures were raised: the deepest frame inside *tree*, relative to it."""
    out: dict[str, list[tuple[str, int]]] = {i: [] for i in ids}
    if not probe.is_file():
        return {}
    root = tree.resolve()
    for raw in probe.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(raw)
            node = str(record["nodeid"]).split("[", 1)[0]
            frames = [(Path(str(f)), int(n)) for f, n in record["frames"]]
        except (ValueError, KeyError, TypeError):
            continue  # a torn line: that failure has no location and is judged as behaviour
        inside = [(f, n) for f, n in frames if f.is_absolute() and f.resolve().is_relative_to(root)]
        if node in out and inside:
            f, n = inside[-1]
            out[node].append((f.resolve().relative_to(root).as_posix(), n))
    return {i: tuple(v) for i, v in out.items()}


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
    restore_symbols: Sequence[str] | None = None,
) -> ProofRun:
    """Run *test_ids* with the fix and without it; return each test's two outcomes and the logs.

    *restore_symbols* (``path:qualname``) narrows what the tree without the fix
    reverts in *restore_paths* to those symbols' behavioural changes.

    Raises:
        ProcessError: the environment could not be built, pytest could not run,
            or the focus's changes cannot be reverted apart from the file's others.
        GitError: a worktree could not be made.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    with_tree = work_dir / "with-fix"
    without_tree = work_dir / "without-fix"
    logs = work_dir / "logs"
    logs.mkdir(exist_ok=True)
    sources: dict[str, str] = {}
    try:
        git.add_worktree(repo, fix_sha, with_tree)
        git.add_worktree(repo, fix_sha, without_tree)
        _restore(without_tree, changes, restore_paths, options, restore_symbols)
        env = build_env(with_tree, settings, log_path=logs / "env-build.log")
        results: dict[str, dict[str, IdOutcome]] = {}
        command: tuple[str, ...] = ()
        locations: dict[str, tuple[tuple[str, int], ...]] = {}
        trees = (("with-fix", with_tree), ("without-fix", without_tree))
        # Both trees install the project at once (each a uv venv and a build, mostly waiting on uv).
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            # Each in a copy of this context: the gate's child marker and child records reach the installs.
            installs = [
                pool.submit(
                    contextvars.copy_context().run,
                    install_project,
                    env,
                    tree,
                    work_dir / f"env-{label}",
                    settings,
                    log_path=logs / f"install-project-{label}.log",
                )
                for label, tree in trees
            ]
            tree_envs = [f.result() for f in installs]
        for (label, tree), tree_env in zip(trees, tree_envs, strict=True):
            junit = logs / f"{label}.junit.xml"
            probe = logs / f"{label}.failures.jsonl"  # kept with the logs: where each failure was raised
            command = _pytest(
                tree_env,
                tree,
                test_ids,
                junit=junit,
                log=logs / f"{label}.log",
                home=work_dir / f"home-{label}",
                settings=settings,
                probe=probe,
                shared=env,
            )
            report = junit.read_text(encoding="utf-8", errors="replace") if junit.is_file() else ""
            results[label] = outcomes_from_junit(report, test_ids, source=str(junit))
            if label == "without-fix":
                locations = _failure_locations(probe, tree, test_ids)
                for rel in {path for found in locations.values() for path, _ in found}:
                    target = tree / rel
                    if target.is_file():
                        sources[rel] = target.read_text(encoding="utf-8", errors="replace")
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
            failure_locations=locations.get(i, ()),
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
        sources=sources,
    )
