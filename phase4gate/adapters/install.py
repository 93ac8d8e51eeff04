"""Install the RC into a fresh isolated environment and verify it, as users would.

:func:`install_and_verify` makes a new venv with uv (or installs with pipx, the
plan's tool), installs the downloaded wheel (whose sha256 the caller checked)
with dependencies resolved from the index, optionally as of a point in time
(uv ``--exclude-newer``), lists the resolved dependencies, and verifies with
``SPEC_KITTY_ENABLE_SAAS_SYNC=1``: the package imports, the installed
distribution's version is the resolved one, and the console script's
``--version`` prints it.  Everything it ran is in the log file.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from attrs import frozen
from packaging.version import InvalidVersion, Version

from phase4gate.adapters.proc import ProcResult, run_process
from phase4gate.checks.release import InstallCheck
from phase4gate.errors import ProcessError, redact
from phase4gate.models import parse_cli_version

__all__ = ["InstallSpec", "InstalledEnv", "exclude_newer_for", "index_secrets", "install_and_verify"]

# Settings from the caller's environment that would change what gets resolved.
_DROP_ENV: Final = (
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_FIND_LINKS",
    "UV_EXCLUDE_NEWER",
    "UV_CONSTRAINT",
    "UV_OFFLINE",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_CONSTRAINT",
    "VIRTUAL_ENV",
    "PYTHONPATH",
)


@frozen
class InstallSpec:
    """What to install and how to verify it."""

    package: str
    version: str
    import_name: str
    console_script: str
    index_url: str
    installer: str = "uv"
    timeout: float = 900.0


@frozen
class InstalledEnv:
    """One environment: where it is, what got installed, whether it verified."""

    check: InstallCheck
    venv: Path
    bin_dir: Path
    log_path: Path
    dist_version: str | None
    cli_version_output: str


def exclude_newer_for(upload_time: str) -> str:
    """Return uv's ``--exclude-newer`` value for "as of *upload_time*" (one second after it).

    Raises:
        ValueError: *upload_time* is not an ISO 8601 timestamp.
    """
    when = dt.datetime.fromisoformat(upload_time)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when.astimezone(dt.UTC) + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _env(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in _DROP_ENV}
    env.update(extra)
    return env


def index_secrets(index_url: str) -> tuple[str, ...]:
    """Return the password of *index_url*'s userinfo (as written and decoded), to be masked in every log."""
    try:
        password = urlsplit(index_url).password
    except ValueError:
        return ()
    return tuple(dict.fromkeys(p for p in (password, unquote(password or "")) if p))


def _run(argv: list[str], spec: InstallSpec, log: Path, env: Mapping[str, str]) -> ProcResult:
    secrets = index_secrets(spec.index_url)
    # The command line holds the index URL, credentials and all; the log shows it redacted.
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"\n$ {redact(' '.join(argv), *secrets)}\n")
    return run_process(argv, env=env, timeout=spec.timeout, log_path=log, secrets=secrets)


def _uv(env: Mapping[str, str]) -> str:
    uv = shutil.which("uv", path=env.get("PATH"))
    if uv is None:
        msg = "uv is not on PATH; it builds the isolated install environment"
        raise ProcessError(msg, hint="install uv, or set release.installer = 'pipx'")
    return uv


def _install_uv(  # noqa: PLR0913, PLR0917 - private; every argument is needed
    spec: InstallSpec, wheel: Path, venv: Path, log: Path, env: Mapping[str, str], exclude_newer: str | None
) -> tuple[ProcResult, Path]:
    uv = _uv(env)
    made = _run([uv, "venv", str(venv), "--python", sys.executable, "--no-config"], spec, log, env)
    if not made.ok:
        msg = f"uv could not create the venv {venv} (exit {made.returncode}); see {log}"
        raise ProcessError(msg, argv=made.argv, returncode=made.returncode)
    python = venv / "bin" / "python"
    argv = [uv, "pip", "install", "--no-config", "--python", str(python), "--index-url", spec.index_url]
    if exclude_newer:
        argv += ["--exclude-newer", exclude_newer]
    return _run([*argv, str(wheel)], spec, log, env), venv / "bin"


def _install_pipx(
    spec: InstallSpec, wheel: Path, venv: Path, log: Path, env: Mapping[str, str]
) -> tuple[ProcResult, Path]:
    pipx = shutil.which("pipx", path=env.get("PATH"))
    if pipx is None:
        msg = "pipx is not on PATH (release.installer = 'pipx')"
        raise ProcessError(msg, hint="install pipx, or set release.installer = 'uv'")
    home, bin_dir = venv / "pipx-home", venv / "bin"
    # No pip configuration file: the machine's extra indexes and find-links are not how users get it.
    pipx_env = {**env, "PIPX_HOME": str(home), "PIPX_BIN_DIR": str(bin_dir), "PIP_CONFIG_FILE": os.devnull}
    argv = [pipx, "install", "--force", str(wheel), f"--pip-args=--pre --index-url {spec.index_url}"]
    result = _run(argv, spec, log, pipx_env)
    return result, bin_dir


def _freeze(python: Path, spec: InstallSpec, log: Path, env: Mapping[str, str]) -> dict[str, str]:
    done = _run([_uv(env), "pip", "freeze", "--python", str(python)], spec, log, env)
    deps: dict[str, str] = {}
    for line in done.output_tail.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            deps[name] = version
    return deps


def install_and_verify(  # noqa: PLR0913 - keyword-only knobs
    spec: InstallSpec,
    wheel: Path,
    venv: Path,
    *,
    label: str,
    log_path: Path,
    exclude_newer: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> InstalledEnv:
    """Install *wheel* into a fresh environment at *venv* and verify it.

    A failed install or verification is a result (``check.verified`` False with
    the error), not an exception.

    Raises:
        ProcessError: the installer is missing, or the venv itself could not be created.
    """
    if venv.exists():
        msg = f"{venv} exists; each install gets a fresh environment"
        raise ProcessError(msg, hint="remove it, or start a new gate run")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = _env(os.environ if environ is None else environ)
    if spec.installer == "pipx" and not exclude_newer:
        installed, bin_dir = _install_pipx(spec, wheel, venv, log_path, env)
        python = next(iter(sorted((venv / "pipx-home" / "venvs").glob("*/bin/python"))), venv / "bin" / "python")
    else:
        installed, bin_dir = _install_uv(spec, wheel, venv, log_path, env, exclude_newer)
        python = venv / "bin" / "python"
    if not installed.ok:
        last = installed.output_tail.strip().splitlines()[-1:] or ["(no output)"]
        check = InstallCheck(label, verified=False, error=f"install failed (exit {installed.returncode}): {last[0]}")
        return InstalledEnv(check, venv, bin_dir, log_path, None, "")
    deps = _freeze(python, spec, log_path, env)
    run_env = _env(env, SPEC_KITTY_ENABLE_SAAS_SYNC="1")
    probe = f"import importlib.metadata as m, {spec.import_name}; print('dist-version', m.version({spec.package!r}))"
    imported = _run([str(python), "-c", probe], spec, log_path, run_env)
    dist_version = None
    for line in imported.output_tail.splitlines():
        if line.startswith("dist-version "):
            dist_version = line.split(" ", 1)[1].strip()
    cli = _run([str(bin_dir / spec.console_script), "--version"], spec, log_path, run_env)
    error = _verify_error(spec, imported, dist_version, cli)
    check = InstallCheck(label, verified=error == "", error=error, dependencies=deps)
    return InstalledEnv(check, venv, bin_dir, log_path, dist_version, cli.output_tail)


def _last_line(result: ProcResult) -> str:
    lines = [ln for ln in result.output_tail.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else f"exit {result.returncode}, no output"


def _same(a: str | None, b: str) -> bool:
    if a is None:
        return False
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _verify_error(spec: InstallSpec, imported: ProcResult, dist_version: str | None, cli: ProcResult) -> str:
    if not imported.ok:
        return f"`import {spec.import_name}` failed: {_last_line(imported)}"
    if not _same(dist_version, spec.version):
        return f"installed {spec.package} is {dist_version}, expected {spec.version}"
    if not cli.ok:
        return f"`{spec.console_script} --version` exited {cli.returncode}: {_last_line(cli)}"
    printed = parse_cli_version(cli.output_tail)
    if not _same(printed, spec.version):
        return f"`{spec.console_script} --version` printed {printed!r}, expected {spec.version}"
    return ""
