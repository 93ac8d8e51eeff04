"""The install adapter's refusals and the as-of-release cut-off."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase4gate.adapters.install import InstallSpec, exclude_newer_for, install_and_verify
from phase4gate.errors import ProcessError
from phase4gate.sandbox.index import IndexEmulator

SPEC = InstallSpec("spec-kitty-cli", "3.2.0rc16", "specify_cli", "spec-kitty", "http://127.0.0.1:9/simple/")


def test_exclude_newer_is_one_second_after_the_upload() -> None:
    """uv excludes files uploaded at or after the cut-off, so the cut-off is just after the RC's upload."""
    assert exclude_newer_for("2026-05-10T12:00:00.000000Z") == "2026-05-10T12:00:01Z"
    assert exclude_newer_for("2026-05-10T14:00:00+02:00") == "2026-05-10T12:00:01Z"
    assert exclude_newer_for("2026-05-10T12:00:00") == "2026-05-10T12:00:01Z"
    with pytest.raises(ValueError, match="Invalid isoformat"):
        exclude_newer_for("yesterday")


def test_an_existing_venv_is_never_reused(tmp_path: Path) -> None:
    """Each install gets a fresh environment."""
    (tmp_path / "venv").mkdir()
    with pytest.raises(ProcessError, match="exists; each install gets a fresh environment"):
        install_and_verify(
            SPEC, tmp_path / "x.whl", tmp_path / "venv", label="as-users-get-it", log_path=tmp_path / "l"
        )


def test_missing_installer_is_could_not_decide(tmp_path: Path) -> None:
    """No uv / pipx on PATH: ProcessError with a hint, never a verdict."""
    env = {"PATH": str(tmp_path)}
    import attrs

    for installer in ("uv", "pipx"):
        with pytest.raises(ProcessError, match=f"{installer} is not on PATH"):
            install_and_verify(
                attrs.evolve(SPEC, installer=installer),
                tmp_path / "x.whl",
                tmp_path / f"venv-{installer}",
                label="as-users-get-it",
                log_path=tmp_path / "log",
                environ=env,
            )


def test_failed_install_and_wrong_version_are_results(index: IndexEmulator, tmp_path: Path) -> None:
    """A wheel that cannot be installed, or a different version than resolved: verified False with why."""
    import attrs

    from phase4gate.adapters.index import download, fetch_project
    from phase4gate.checks.release import resolve_rc

    spec = attrs.evolve(SPEC, index_url=index.simple_url)
    missing = install_and_verify(
        spec, tmp_path / "gone.whl", tmp_path / "v1", label="as-users-get-it", log_path=tmp_path / "1.log"
    )
    assert not missing.check.verified
    assert missing.check.error.startswith("install failed (exit 1): error: The wheel filename `gone.whl` is invalid")
    wheel = resolve_rc(fetch_project(index.simple_url, "spec-kitty-cli").files, "3.2.0rc15").wheel
    assert wheel is not None
    path, _ = download(wheel, tmp_path / "dl")
    other = install_and_verify(
        attrs.evolve(spec, version="3.2.0rc17"),
        path,
        tmp_path / "v2",
        label="as-users-get-it",
        log_path=tmp_path / "2.log",
    )
    assert other.check.error == "installed spec-kitty-cli is 3.2.0rc16, expected 3.2.0rc17"
    assert other.check.dependencies["kitty-typer"] == "1.0.0"
    bad_import = install_and_verify(
        attrs.evolve(spec, import_name="no_such_module"), path, tmp_path / "v3", label="x", log_path=tmp_path / "3.log"
    )
    assert bad_import.check.error.startswith("`import no_such_module` failed: ModuleNotFoundError")
