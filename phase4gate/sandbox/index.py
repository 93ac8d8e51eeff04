"""A package index emulator: PEP 691 JSON and PEP 503 HTML simple pages, real wheels.

``IndexEmulator(release_set="rc15-rc16")`` serves the stand-in ``spec-kitty-cli``
and ``kitty-typer`` wheels (built on the fly by :mod:`phase4gate.sandbox.wheels`)
with ``upload-time``, sha256 hashes, yanked flags and requires-python, so real
pip and uv install from it (uv's ``--exclude-newer`` reads the upload times).

Release sets (``RELEASE_SETS``):

``only-rc15``                  rc14, rc15: nothing newer than the baseline
``rc15-rc16``                  rc15 and rc16 (the green path)
``rc16-yanked``                rc16 is yanked: skipped and reported, nothing usable
``finals-and-newer-series``    rc16 plus 3.2.0 final, 3.2.1rc1, 4.0.0rc1, a 3.2.0b9, a dev
                               release, and rc17 whose requires-python excludes every Python
``hash-mismatch``              rc16's listed sha256 is not the served file's
``dependency-drift``           rc16 works with kitty-typer 1.0.0 (before it) but not with 2.0.0
                               (uploaded after it): broken as users get it, fine as of release
``broken-rc``                  rc16 crashes whatever its dependencies

Knobs: ``json_api`` (False: HTML only, for the fallback), ``gzip`` (compress when
asked), ``set_release_set(name)`` while running, and ``garbage`` (one of
``GARBAGE``, or ``None``): every project page answers 200 with something that is
not a valid simple page for the project:

``html-error``      an HTML error page (``text/html``), no links
``html-links``      an HTML portal page whose links are not files of the project
``wrong-shape``     JSON of the wrong shape (the root page's ``projects`` list, no ``name``/``files``)
``other-project``   a valid PEP 691 page, but for another project
``huge``            a valid PEP 691 page padded to 50 MB (gzip-compressed when asked, so
                    only a bound on the decoded size catches it)
"""

from __future__ import annotations

import base64
import gzip as _gzip
import hashlib
import html
import json
import re
import threading
from collections.abc import Sequence
from typing import Final

from attrs import frozen

from phase4gate.sandbox._server import EmulatorServer, Request, Response
from phase4gate.sandbox.wheels import CLI_PACKAGE, DEP_PACKAGE, kitty_typer_wheel, spec_kitty_wheel, wheel_name

__all__ = ["GARBAGE", "HUGE_PAGE_BYTES", "JSON_CONTENT_TYPE", "RELEASE_SETS", "IndexEmulator", "Release"]

JSON_CONTENT_TYPE: Final = "application/vnd.pypi.simple.v1+json"
GARBAGE: Final = frozenset({"html-error", "html-links", "wrong-shape", "other-project", "huge"})
HUGE_PAGE_BYTES: Final = 50 * 1024 * 1024


@frozen
class Release:
    """One release (one wheel) the emulator serves."""

    project: str
    version: str
    upload_time: str
    yanked: str | None = None  # the reason; "" means yanked without a reason
    requires_python: str | None = None
    broken: bool = False
    bad_hash: bool = False


def _cli(  # noqa: PLR0913 - the fields of a release
    version: str,
    day: str,
    *,
    yanked: str | None = None,
    requires_python: str | None = None,
    broken: bool = False,
    bad_hash: bool = False,
) -> Release:
    return Release(
        CLI_PACKAGE, version, f"2026-{day}T12:00:00.000000Z", yanked, requires_python, broken=broken, bad_hash=bad_hash
    )


_DEP_1: Final = Release(DEP_PACKAGE, "1.0.0", "2026-03-01T09:00:00.000000Z")
_BASE: Final = (_cli("3.2.0rc14", "04-20"), _cli("3.2.0rc15", "05-01"), _DEP_1)

RELEASE_SETS: Final[dict[str, tuple[Release, ...]]] = {
    "only-rc15": _BASE,
    "rc15-rc16": (*_BASE, _cli("3.2.0rc16", "05-10")),
    "rc16-yanked": (*_BASE, _cli("3.2.0rc16", "05-10", yanked="broken upload, use rc17")),
    "finals-and-newer-series": (
        *_BASE,
        _cli("3.2.0b9", "04-01"),
        _cli("3.2.0rc16", "05-10"),
        _cli("3.2.0rc17", "05-12", requires_python=">=3.99"),
        _cli("3.2.0rc18.dev1", "05-13"),
        _cli("3.2.0", "05-20"),
        _cli("3.2.1rc1", "05-25"),
        _cli("4.0.0rc1", "06-01"),
    ),
    "hash-mismatch": (*_BASE, _cli("3.2.0rc16", "05-10", bad_hash=True)),
    "dependency-drift": (
        *_BASE,
        _cli("3.2.0rc16", "05-10"),
        Release(DEP_PACKAGE, "2.0.0", "2026-06-15T09:00:00.000000Z"),
    ),
    "broken-rc": (*_BASE, _cli("3.2.0rc16", "05-10", broken=True)),
}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class IndexEmulator(EmulatorServer):
    """PEP 691 + PEP 503 index serving real wheels for a chosen release set."""

    name = "index"

    def __init__(
        self,
        release_set: str | Sequence[Release] = "rc15-rc16",
        *,
        json_api: bool = True,
        gzip: bool = True,
    ) -> None:
        super().__init__()
        self.json_api = json_api
        self.gzip = gzip
        self.garbage: str | None = None
        # (user, password): every request must carry them as HTTP Basic auth (401 otherwise), as a private index.
        self.require_auth: tuple[str, str] | None = None
        self._huge: dict[bool, bytes] = {}
        self._wheels: dict[str, bytes] = {}
        self._wheel_lock = threading.Lock()
        self.releases: tuple[Release, ...] = ()
        self.release_set = ""
        self.set_release_set(release_set)

    @property
    def simple_url(self) -> str:
        """The index URL to give pip/uv: ``<origin>/simple/``."""
        return f"{self.origin}/simple/"

    def set_release_set(self, release_set: str | Sequence[Release]) -> None:
        """Serve *release_set* (a name from ``RELEASE_SETS`` or releases) from now on.

        Raises:
            KeyError: unknown release-set name.
        """
        if isinstance(release_set, str):
            if release_set not in RELEASE_SETS:
                msg = f"unknown release set {release_set!r}; expected one of {', '.join(RELEASE_SETS)}"
                raise KeyError(msg)
            self.releases, self.release_set = RELEASE_SETS[release_set], release_set
        else:
            self.releases, self.release_set = tuple(release_set), "custom"

    def wheel(self, release: Release) -> tuple[str, bytes]:
        """Return the wheel of *release* (built once, then cached)."""
        filename = wheel_name(release.project, release.version)
        key = f"{filename}:{release.broken}"
        with self._wheel_lock:
            if key not in self._wheels:
                if release.project == CLI_PACKAGE:
                    _, data = spec_kitty_wheel(
                        release.version, broken=release.broken, requires_python=release.requires_python
                    )
                else:
                    _, data = kitty_typer_wheel(release.version)
                self._wheels[key] = data
            return filename, self._wheels[key]

    def _sha256(self, release: Release) -> str:
        _, data = self.wheel(release)
        if release.bad_hash:
            return hashlib.sha256(data + b"tampered").hexdigest()
        return hashlib.sha256(data).hexdigest()

    # ---------------------------------------------------------------- pages

    def handle(self, request: Request) -> Response:
        """Serve ``/simple/``, ``/simple/<project>/`` and ``/files/<filename>``."""
        if request.method not in {"GET", "HEAD"}:
            return Response.json({"message": "Method Not Allowed"}, status=405)
        if self.require_auth is not None:
            user, password = self.require_auth
            expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            if request.header("Authorization") != expected:
                return Response(401, b"Unauthorized", {"WWW-Authenticate": 'Basic realm="index"'})
        path = request.path
        if path.startswith("/files/"):
            return self._file(path.removeprefix("/files/"))
        if path == "/simple/":
            return self._encode(request, *self._root(self._wants_json(request)))
        m = re.fullmatch(r"/simple/([^/]+)/?", path)
        if m:
            project = _normalize(m.group(1))
            releases = [r for r in self.releases if r.project == project]
            if not releases:
                return Response(404, b"Not Found", {"Content-Type": "text/plain"})
            if self.garbage is not None:
                return self._garbage(request, project, releases)
            return self._encode(request, *self._project(project, releases, self._wants_json(request)))
        return Response(404, b"Not Found", {"Content-Type": "text/plain"})

    def set_garbage(self, mode: str | None) -> None:
        """Answer every project page with garbage *mode* (one of ``GARBAGE``), or normally with ``None``.

        Raises:
            KeyError: unknown mode.
        """
        if mode is not None and mode not in GARBAGE:
            msg = f"unknown garbage mode {mode!r}; expected one of {', '.join(sorted(GARBAGE))}"
            raise KeyError(msg)
        self.garbage = mode

    def _garbage(self, request: Request, project: str, releases: list[Release]) -> Response:
        mode = self.garbage
        if mode == "html-error":
            body = b"<!DOCTYPE html><html><head><title>Service unavailable</title></head>"
            body += b"<body><h1>Service unavailable</h1><p>Please try again later.</p></body></html>\n"
            return self._encode(request, body, "text/html")
        if mode == "html-links":
            body = b'<html><head><title>Sign in</title></head><body><a href="/login">Sign in</a>'
            body += b'<a href="/help/">Help</a></body></html>\n'
            return self._encode(request, body, "text/html")
        if mode == "wrong-shape":
            data = {"meta": {"api-version": "1.1"}, "projects": [{"name": project}]}
            return self._encode(request, json.dumps(data).encode(), JSON_CONTENT_TYPE)
        page, content_type = self._project(project, releases, as_json=True)
        if mode == "other-project":
            data = json.loads(page)
            data["name"] = "another-project"
            return self._encode(request, json.dumps(data).encode(), content_type)
        compress = self.gzip and "gzip" in (request.header("Accept-Encoding") or "")
        with self._wheel_lock:
            if compress not in self._huge:
                padded = page + b" " * (HUGE_PAGE_BYTES - len(page))  # JSON whitespace: still a valid page
                self._huge[compress] = _gzip.compress(padded, compresslevel=1, mtime=0) if compress else padded
            body = self._huge[compress]
        headers = {"Content-Type": content_type, **({"Content-Encoding": "gzip"} if compress else {})}
        return Response(200, body, headers)

    def _wants_json(self, request: Request) -> bool:
        return self.json_api and JSON_CONTENT_TYPE in (request.header("Accept") or "")

    def _encode(self, request: Request, body: bytes, content_type: str) -> Response:
        headers = {"Content-Type": content_type, "Vary": "Accept, Accept-Encoding"}
        if self.gzip and "gzip" in (request.header("Accept-Encoding") or ""):
            return Response(200, _gzip.compress(body, mtime=0), {**headers, "Content-Encoding": "gzip"})
        return Response(200, body, headers)

    def _root(self, as_json: bool) -> tuple[bytes, str]:
        projects = sorted({r.project for r in self.releases})
        if as_json:
            data = {"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in projects]}
            return json.dumps(data).encode("utf-8"), JSON_CONTENT_TYPE
        links = "".join(f'<a href="/simple/{p}/">{p}</a>\n' for p in projects)
        return f"<!DOCTYPE html><html><body>\n{links}</body></html>\n".encode(), "text/html"

    def _project(self, project: str, releases: list[Release], as_json: bool) -> tuple[bytes, str]:
        if as_json:
            files = []
            for r in releases:
                filename, data = self.wheel(r)
                entry: dict[str, object] = {
                    "filename": filename,
                    "url": f"../../files/{filename}",
                    "hashes": {"sha256": self._sha256(r)},
                    "requires-python": r.requires_python,
                    "size": len(data),
                    "upload-time": r.upload_time,
                    "yanked": (r.yanked or True) if r.yanked is not None else False,
                }
                files.append(entry)
            versions = sorted({r.version for r in releases})
            data_out = {"meta": {"api-version": "1.1"}, "name": project, "versions": versions, "files": files}
            return json.dumps(data_out).encode("utf-8"), JSON_CONTENT_TYPE
        links: list[str] = []
        for r in releases:
            filename, _ = self.wheel(r)
            attrs = ""
            if r.requires_python:
                attrs += f' data-requires-python="{html.escape(r.requires_python)}"'
            if r.yanked is not None:
                attrs += f' data-yanked="{html.escape(r.yanked)}"'
            links.append(f'<a href="../../files/{filename}#sha256={self._sha256(r)}"{attrs}>{filename}</a><br/>')
        body = (
            "<!DOCTYPE html><html><head><title>Links for "
            f"{project}</title></head><body><h1>Links for {project}</h1>\n" + "\n".join(links) + "\n</body></html>\n"
        )
        return body.encode("utf-8"), "text/html"

    def _file(self, filename: str) -> Response:
        for r in self.releases:
            if wheel_name(r.project, r.version) == filename:
                _, data = self.wheel(r)
                return Response(200, data, {"Content-Type": "application/octet-stream"})
        return Response(404, b"Not Found", {"Content-Type": "text/plain"})
