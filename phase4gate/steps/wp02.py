"""WP02: the newest RC after the baseline, containing the fixes, installed in isolation and verified.

Shell only.  Order: resolve the RC from the index (:mod:`phase4gate.adapters.index`,
:func:`phase4gate.checks.release.resolve_rc`); check that every CLI-repo fix
commit recorded by WP01 is an ancestor of the RC's tag (local checkout with
``git merge-base --is-ancestor`` when ``release.cli_checkout`` is set, else the
GitHub compare API); download the wheel and check its sha256 against the
index's; install it as users get it and, if that does not verify or the
operator asked for it, as of the RC's upload time; classify.  In a dry run
nothing is installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from packaging.version import Version

from phase4gate.errors import redact, redact_data
from phase4gate.models import EvidenceRef, FactValue, StepOutcome, StopKind

if TYPE_CHECKING:
    from phase4gate.adapters.install import InstalledEnv, InstallSpec
    from phase4gate.checks.release import Resolution
    from phase4gate.gate import StepContext

__all__ = ["HASH_CONDITION", "run"]

HASH_CONDITION: Final = "the downloaded wheel's sha256 differs from the index's (failed)"
_USERS: Final = "as-users-get-it"
_AS_OF_RELEASE: Final = "as-of-release"


def _rc_short(version: str) -> str:
    pre = Version(version).pre
    return f"{pre[0]}{pre[1]}" if pre else version


def _cli_fix_commits(ctx: StepContext) -> tuple[str, ...]:
    from phase4gate.facts import CLI_FIX_COMMITS  # noqa: PLC0415

    ctx.fact("WP01", CLI_FIX_COMMITS.key)  # WP01 passed and recorded it
    return CLI_FIX_COMMITS.read(ctx.results["WP01"].facts)


def _containment(ctx: StepContext, tag: str, commits: tuple[str, ...]) -> tuple[str, dict[str, bool], str]:
    """Return the tag's commit, each fix commit -> contained, and how it was checked."""
    rel = ctx.config.release
    if rel.cli_checkout:
        from phase4gate.adapters import git  # noqa: PLC0415

        checkout = Path(rel.cli_checkout)
        rc_commit = git.resolve(checkout, f"refs/tags/{tag}")
        return rc_commit, {c: git.is_ancestor(checkout, c, rc_commit) for c in commits}, f"local checkout {checkout}"
    client = ctx.clients.github(ctx.token)
    repo = ctx.config.github.cli_repo
    rc_commit = client.tag_sha(repo, tag)
    contained = {c: client.compare_status(repo, c, rc_commit) in {"ahead", "identical"} for c in commits}
    return rc_commit, contained, f"GitHub compare in {repo}"


def _resolve(ctx: StepContext, refs: list[EvidenceRef]) -> tuple[Resolution, str]:
    from phase4gate.adapters.index import fetch_project, resolve_index_url  # noqa: PLC0415
    from phase4gate.checks.release import resolve_rc  # noqa: PLC0415

    rel = ctx.config.release
    index_url = resolve_index_url(rel.index_url, ctx.environ or None)
    # The index URL may carry credentials (PIP_INDEX_URL=https://user:pass@...): they are used, never shown.
    ctx.note(f"reading {rel.package} from {redact(index_url)}")
    with contextlib.closing(ctx.clients.index()) as client:
        page = fetch_project(index_url, rel.package, client=client)
    refs.append(ctx.store.write_bytes(ctx.evidence_path(f"index-page.{page.format}"), page.body))
    python = ".".join(str(p) for p in sys.version_info[:3])
    resolution = resolve_rc(page.files, rel.baseline, rel.series, package=rel.package, python_version=python)
    data = resolution.to_json()
    data.update(index_url=index_url, page_url=page.url, page_format=page.format, python=python)
    refs.append(ctx.store.write_json(ctx.evidence_path("resolution.json"), redact_data(data)))
    return resolution, index_url


def run(ctx: StepContext) -> StepOutcome:
    """Resolve, check containment, download, install and verify the RC.

    Raises:
        PackageIndexError: the index could not be read (exit 3).
        GitHubError, GitError: containment could not be checked (exit 3).
        ProcessError: the install environment could not be built (exit 3).
    """
    from phase4gate.checks.release import (  # noqa: PLC0415
        CONTAINMENT_CONDITION,
        NO_NEWER_RC_CONDITION,
        missing_fixes,
        no_newer_rc_reason,
    )

    rel = ctx.config.release
    refs: list[EvidenceRef] = []
    commits = _cli_fix_commits(ctx)
    resolution, index_url = _resolve(ctx, refs)
    if resolution.version is None:
        return StepOutcome.stopped(
            StopKind.WAITING,
            NO_NEWER_RC_CONDITION,
            no_newer_rc_reason(resolution),
            facts={"candidates": ",".join(resolution.candidates), "baseline": rel.baseline},
            evidence=tuple(refs),
        )
    version = resolution.version
    tag = rel.tag_format.format(version=version)
    facts: dict[str, FactValue] = {
        "rc_version": version,
        "rc_tag": tag,
        "rc_short": _rc_short(version),
        "rc_upload_time": resolution.upload_time or "",
    }
    ctx.note(f"{version}: checking {len(commits)} fix commit(s) are in {tag}")
    rc_commit, contained, how = _containment(ctx, tag, commits)
    facts["rc_commit"] = rc_commit
    refs.append(
        ctx.store.write_json(
            ctx.evidence_path("containment.json"),
            {"rc_version": version, "tag": tag, "rc_commit": rc_commit, "checked_with": how, "contained": contained},
        )
    )
    wp01 = ctx.results["WP01"].facts if "WP01" in ctx.results else {}
    missing = missing_fixes(version, tag, contained, wp01)
    if missing:
        return StepOutcome.stopped(StopKind.WAITING, CONTAINMENT_CONDITION, missing, facts=facts, evidence=tuple(refs))
    wheel = resolution.wheel
    mode = ctx.options.get("install_mode") or rel.install_mode
    if wheel is None:
        return StepOutcome.stopped(
            StopKind.FAILED,
            "the RC has no wheel on the index (failed)",
            f"{version} has no usable wheel; files: {', '.join(f.filename for f in resolution.files)}",
            facts=facts,
            evidence=tuple(refs),
        )
    facts.update(wheel_filename=wheel.filename, wheel_sha256=wheel.sha256 or "", install_mode=mode)
    if ctx.dry_run:
        ctx.note(f"dry run: would install {wheel.filename} with {rel.installer} ({mode})")
        facts.update(venv_path="", cli_bin_dir="")
        reason = (
            f"dry run: would install {rel.package}=={version} from {redact(index_url)} with {rel.installer} ({mode})"
        )
        return StepOutcome.passed(reason, facts=facts, evidence=tuple(refs))
    return _install(ctx, resolution, index_url, mode, facts, refs)


def _workdir(ctx: StepContext) -> Path:
    return (ctx.evidence_root / ".venvs" / ctx.run_id / (ctx.prefix.replace("/", "-") or ctx.wp.lower())).resolve()


def _keep_env(ctx: StepContext, env: InstalledEnv, refs: list[EvidenceRef]) -> None:
    label = env.check.label
    refs.append(ctx.store.copy_in(env.log_path, ctx.evidence_path(f"install-{label}.log")))
    deps = "".join(f"{k}=={v}\n" for k, v in sorted(env.check.dependencies.items()))
    refs.append(ctx.store.write_text(ctx.evidence_path(f"deps-{label}.txt"), deps))
    refs.append(
        ctx.store.write_json(
            ctx.evidence_path(f"verify-{label}.json"),
            redact_data(
                {
                    "label": label,
                    "verified": env.check.verified,
                    "error": env.check.error,
                    "venv": str(env.venv),
                    "dist_version": env.dist_version,
                    "cli_version_output": env.cli_version_output,
                    "dependencies": dict(env.check.dependencies),
                }
            ),
        )
    )


def _install(  # noqa: PLR0913, PLR0917 - private continuation of run()
    ctx: StepContext,
    resolution: Resolution,
    index_url: str,
    mode: str,
    facts: dict[str, FactValue],
    refs: list[EvidenceRef],
) -> StepOutcome:
    from phase4gate.adapters.index import download  # noqa: PLC0415
    from phase4gate.adapters.install import InstallSpec, exclude_newer_for, install_and_verify  # noqa: PLC0415
    from phase4gate.checks.release import INSTALL_CONDITION, classify_install  # noqa: PLC0415

    rel = ctx.config.release
    wheel = resolution.wheel
    assert wheel is not None  # noqa: S101 - checked by run()
    assert resolution.version is not None  # noqa: S101 - checked by run()
    work = _workdir(ctx)
    ctx.note(f"downloading {wheel.filename}")
    with contextlib.closing(ctx.clients.index()) as client:
        path, digest = download(wheel, work / "download", client=client, index_url=index_url)
    refs.append(
        ctx.store.write_json(
            ctx.evidence_path("wheel.json"),
            {
                "filename": wheel.filename,
                "url": redact(wheel.url),
                "index_sha256": wheel.sha256,
                "downloaded_sha256": digest,
                "size": path.stat().st_size,
                "upload_time": wheel.upload_time,
            },
        )
    )
    if wheel.sha256 != digest:
        reason = f"{wheel.filename}: the index lists sha256 {wheel.sha256}, the downloaded file has {digest}"
        return StepOutcome.stopped(StopKind.FAILED, HASH_CONDITION, reason, facts=facts, evidence=tuple(refs))
    facts["wheel_sha256"] = digest
    spec = InstallSpec(
        package=rel.package,
        version=resolution.version,
        import_name=rel.import_name,
        console_script=rel.console_script,
        index_url=index_url,
        installer=rel.installer,
        timeout=rel.install_timeout_seconds,
    )
    environ = dict(ctx.environ) if ctx.environ else dict(os.environ)
    ctx.note(f"installing {rel.package}=={resolution.version} as users get it ({rel.installer})")
    users = install_and_verify(
        spec, path, work / _USERS, label=_USERS, log_path=work / f"{_USERS}.log", environ=environ
    )
    _keep_env(ctx, users, refs)
    release_env: InstalledEnv | None = None
    upload = resolution.upload_time
    if (not users.check.verified or mode == _AS_OF_RELEASE) and upload:
        ctx.note(f"installing again with dependencies as of {upload}")
        release_env = install_and_verify(
            _uv_spec(spec),
            path,
            work / _AS_OF_RELEASE,
            label=_AS_OF_RELEASE,
            log_path=work / f"{_AS_OF_RELEASE}.log",
            exclude_newer=exclude_newer_for(upload),
            environ=environ,
        )
        _keep_env(ctx, release_env, refs)
    verdict = classify_install(users.check, release_env.check if release_env else None, package=rel.package)
    reason = verdict.reason
    if not upload and not users.check.verified:
        reason += " (the index gives no upload time, so no as-of-release install was possible)"
    chosen = release_env if mode == _AS_OF_RELEASE and release_env is not None else users
    if not chosen.check.verified and verdict.outcome == "verified":
        reason = f"{chosen.check.label}: {chosen.check.error}"
    facts.update(
        install_mode=chosen.check.label,
        venv_path=str(chosen.venv),
        cli_bin_dir=str(chosen.bin_dir),
    )
    refs.append(
        ctx.store.write_json(
            ctx.evidence_path("install.json"),
            redact_data(
                {
                    "outcome": verdict.outcome,
                    "reason": reason,
                    "drifted": list(verdict.drifted),
                    "requested_mode": mode,
                    "canary_environment": chosen.check.label,
                    "canary_venv": str(chosen.venv),
                }
            ),
        )
    )
    if chosen.check.verified:
        text = f"{rel.package} {resolution.version} ({facts['rc_tag']} at {str(facts['rc_commit'])[:12]}) verified"
        text += f"; the canary uses the {chosen.check.label} environment"
        if verdict.outcome != "verified":
            text += f" ({reason})"
        return StepOutcome.passed(text, facts=facts, evidence=tuple(refs))
    return StepOutcome.stopped(StopKind.FAILED, INSTALL_CONDITION, reason, facts=facts, evidence=tuple(refs))


def _uv_spec(spec: InstallSpec) -> InstallSpec:
    """The as-of-release install always uses uv: only uv installs as of a date (``--exclude-newer``)."""
    import attrs  # noqa: PLC0415

    return attrs.evolve(spec, installer="uv")
