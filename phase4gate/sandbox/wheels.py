"""Real wheels built on the fly (zipfile + METADATA + RECORD), no build backend needed.

:func:`build_wheel` writes any pure-Python wheel; :func:`spec_kitty_wheel` and
:func:`kitty_typer_wheel` build the stand-ins the index emulator serves:

* ``spec-kitty-cli`` (package ``specify_cli`` with ``__version__``; console script
  ``spec-kitty`` printing a banner then ``spec-kitty-cli version X``; SaaS commands
  refused unless ``SPEC_KITTY_ENABLE_SAAS_SYNC=1``), depending on ``kitty-typer``;
* ``kitty-typer``: 1.x has ``make_app``; 2.x drops it, so a CLI that calls it
  crashes with ``AttributeError`` on ``--version`` (the real typer/click drift).
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Mapping, Sequence
from typing import Final

__all__ = ["CLI_PACKAGE", "DEP_PACKAGE", "build_wheel", "kitty_typer_wheel", "spec_kitty_wheel", "wheel_name"]

CLI_PACKAGE: Final = "spec-kitty-cli"
DEP_PACKAGE: Final = "kitty-typer"
_DATE: Final = (2026, 1, 1, 0, 0, 0)  # fixed zip timestamps: the same input gives the same bytes


def wheel_name(project: str, version: str) -> str:
    """Return the ``py3-none-any`` wheel filename of *project* *version*."""
    return f"{project.replace('-', '_')}-{version}-py3-none-any.whl"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"sha256={digest}"


def build_wheel(  # noqa: PLR0913 - the fields of a wheel
    project: str,
    version: str,
    files: Mapping[str, str],
    *,
    requires: Sequence[str] = (),
    console_scripts: Mapping[str, str] | None = None,
    requires_python: str | None = None,
) -> tuple[str, bytes]:
    """Return ``(filename, bytes)`` of a pure-Python wheel holding *files* (path -> source)."""
    dist_info = f"{project.replace('-', '_')}-{version}.dist-info"
    meta = [
        "Metadata-Version: 2.1",
        f"Name: {project}",
        f"Version: {version}",
        "Summary: phase4gate sandbox stand-in",
    ]
    if requires_python:
        meta.append(f"Requires-Python: {requires_python}")
    meta.extend(f"Requires-Dist: {r}" for r in requires)
    entries: dict[str, bytes] = {path: src.encode("utf-8") for path, src in files.items()}
    entries[f"{dist_info}/METADATA"] = ("\n".join(meta) + "\n").encode("utf-8")
    entries[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: phase4gate-sandbox\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    if console_scripts:
        lines = ["[console_scripts]", *(f"{k} = {v}" for k, v in console_scripts.items())]
        entries[f"{dist_info}/entry_points.txt"] = ("\n".join(lines) + "\n").encode("utf-8")
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in entries.items()]
    record.append(f"{dist_info}/RECORD,,")
    entries[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, data in entries.items():
            info = zipfile.ZipInfo(path, date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return wheel_name(project, version), buf.getvalue()


_CLI_INIT: Final = '''"""Stand-in for spec-kitty-cli (phase4gate sandbox)."""

__version__ = "{version}"
'''

_CLI_MAIN: Final = '''"""The stand-in `spec-kitty` command."""

import json
import os
import sys

from specify_cli import __version__

BANNER = """\\
 ____  ____  ____  ____     _  _ __ ____ ____ _  _
 spec-kitty (sandbox stand-in)
"""


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    {broken}
    import kitty_typer

    app = kitty_typer.make_app("spec-kitty")
    if not args or args[0] in ("--version", "version"):
        print(BANNER)
        print(f"spec-kitty-cli version {{__version__}}")
        return 0
    if args[0] in ("sync", "auth", "mission", "saas"):
        if os.environ.get("SPEC_KITTY_ENABLE_SAAS_SYNC") != "1":
            print("error: SaaS commands are disabled; set SPEC_KITTY_ENABLE_SAAS_SYNC=1", file=sys.stderr)
            return 2
        print(json.dumps({{"command": args, "saas_url": os.environ.get("SPEC_KITTY_SAAS_URL"), "app": app}}))
        return 0
    print(f"error: unknown command {{args[0]!r}}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
'''


def spec_kitty_wheel(version: str, *, broken: bool = False, requires_python: str | None = None) -> tuple[str, bytes]:
    """Build the stand-in ``spec-kitty-cli`` *version* (``broken``: crashes on every command)."""
    crash = "raise ImportError('specify_cli.cli: cannot import name OfflineQueue')" if broken else "pass"
    files = {
        "specify_cli/__init__.py": _CLI_INIT.format(version=version),
        "specify_cli/cli.py": _CLI_MAIN.format(broken=crash),
    }
    return build_wheel(
        CLI_PACKAGE,
        version,
        files,
        requires=(f"{DEP_PACKAGE}>=1.0",),
        console_scripts={"spec-kitty": "specify_cli.cli:main"},
        requires_python=requires_python,
    )


_DEP_V1: Final = '''"""Stand-in dependency, 1.x: has make_app."""

__version__ = "{version}"


def make_app(name):
    return name
'''

_DEP_V2: Final = '''"""Stand-in dependency, 2.x: make_app was removed (breaks old callers)."""

__version__ = "{version}"


def __getattr__(name):
    raise AttributeError(f"module 'kitty_typer' has no attribute {{name!r}} (removed in 2.0)")
'''


def kitty_typer_wheel(version: str) -> tuple[str, bytes]:
    """Build the stand-in dependency *version*; 2.x and later break ``spec-kitty``."""
    template = _DEP_V1 if int(version.split(".", 1)[0]) < 2 else _DEP_V2
    return build_wheel(DEP_PACKAGE, version, {"kitty_typer/__init__.py": template.format(version=version)})
