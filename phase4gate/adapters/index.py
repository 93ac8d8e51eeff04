"""The package index adapter: one GET of a project's simple page (PEP 691 JSON, PEP 503 HTML).

The index URL comes from the configuration, else ``PIP_INDEX_URL`` /
``UV_INDEX_URL``, else whatever pip itself reports as its default when asked at
run time (no registry host name is written in this repository).  Each file keeps
its ``upload-time``, hashes, requires-python and yanked reason.  Also the wheel
download with its sha256 check, and :func:`bench_resolve` for ``nox -s bench``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urljoin, urlsplit

from attrs import frozen

from phase4gate.adapters.http import ReadOnlyClient
from phase4gate.checks.release import DistFile
from phase4gate.errors import PackageIndexError

if TYPE_CHECKING:
    import subprocess

__all__ = [
    "ACCEPT",
    "ProjectPage",
    "bench_resolve",
    "default_index_url",
    "download",
    "fetch_project",
    "index_client",
    "parse_html_page",
    "parse_json_page",
    "resolve_index_url",
]

ACCEPT: Final = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_JSON_TYPE: Final = "application/vnd.pypi.simple.v1+json"
_ASK_PIP_TIMEOUT: Final = 60.0


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# Asks pip's own configuration (files and PIP_* variables) for index-url, else pip's built-in default.
_ASK_PIP: Final = """
try:
    from pip._internal.configuration import Configuration
    c = Configuration(isolated=False)
    c.load()
    found = {}
    for key, value in c.items():
        # pip < 26 yields key -> value; pip 26 yields file -> {key: value}.
        found.update(value if isinstance(value, dict) else {key: value})
    url = found.get(":env:.index-url") or found.get("install.index-url") or found.get("global.index-url")
except Exception:
    url = None
if not url:
    from pip._internal.models.index import PyPI
    url = PyPI.simple_url
print(url.split()[0])
"""


def default_index_url(*, python: str = sys.executable, run: Callable[..., Any] | None = None) -> str:
    """Ask pip (in a child process) for the index it would use: its configuration, else its default.

    Raises:
        PackageIndexError: pip cannot be run or reports no index.
    """
    import subprocess  # noqa: PLC0415 - only when no index URL is configured

    runner: Callable[..., subprocess.CompletedProcess[str]] = run or subprocess.run
    try:
        asked = runner([python, "-c", _ASK_PIP], capture_output=True, text=True, timeout=_ASK_PIP_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PackageIndexError(f"cannot ask pip for its default index: {exc}") from None
    url = asked.stdout.strip()
    if asked.returncode != 0 or not url.startswith(("http://", "https://")):
        msg = f"pip did not report a default index (exit {asked.returncode}): {asked.stderr.strip()[-200:]}"
        raise PackageIndexError(msg, hint="set release.index_url in the configuration, or PIP_INDEX_URL")
    return url


def resolve_index_url(configured: str | None, environ: Mapping[str, str] | None = None) -> str:
    """Return the index URL: configured, else ``PIP_INDEX_URL``/``UV_INDEX_URL``, else pip's default.

    Raises:
        PackageIndexError: no URL configured and pip reports none.
    """
    env = os.environ if environ is None else environ
    url = configured or env.get("PIP_INDEX_URL") or env.get("UV_INDEX_URL") or env.get("UV_DEFAULT_INDEX")
    return (url or default_index_url()).rstrip("/") + "/"


@frozen
class ProjectPage:
    """A project's simple page as fetched: where, which format, the raw body, the files."""

    url: str
    format: str  # "json" (PEP 691) or "html" (PEP 503)
    status: int
    body: bytes
    files: tuple[DistFile, ...]
    latency_seconds: float


def parse_json_page(body: bytes, page_url: str) -> tuple[DistFile, ...]:
    """Parse a PEP 691 project page.

    Raises:
        PackageIndexError: not JSON, a major API version other than 1, or a file entry without a name or URL.
    """
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackageIndexError(f"{page_url}: PEP 691 page is not JSON ({exc})", url=page_url) from None
    if not isinstance(data, dict):
        raise PackageIndexError(f"{page_url}: PEP 691 page is not an object", url=page_url)
    version = str((data.get("meta") or {}).get("api-version", "1.0"))
    if not version.startswith("1."):
        raise PackageIndexError(f"{page_url}: unsupported simple API version {version}", url=page_url)
    out: list[DistFile] = []
    for n, f in enumerate(data.get("files") or []):
        if not isinstance(f, dict) or not f.get("filename") or not f.get("url"):
            raise PackageIndexError(f"{page_url}: $.files[{n}] lacks filename or url", url=page_url)
        yanked = f.get("yanked", False)
        hashes = f.get("hashes") or {}
        url = str(f["url"])
        out.append(
            DistFile(
                filename=str(f["filename"]),
                url=url if url.startswith(("https://", "http://")) else urljoin(page_url, url),
                hashes={str(k): str(v) for k, v in hashes.items()},
                requires_python=f.get("requires-python") or None,
                yanked=bool(yanked),
                yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
                upload_time=f.get("upload-time"),
                size=f.get("size") if isinstance(f.get("size"), int) else None,
            )
        )
    return tuple(out)


def _anchors(text: str) -> list[tuple[dict[str, str | None], str]]:
    import html.parser  # noqa: PLC0415 - only for the PEP 503 fallback

    class _Anchors(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.anchors: list[tuple[dict[str, str | None], str]] = []
            self._current: dict[str, str | None] | None = None
            self._text: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                self._current = dict(attrs)
                self._text = []

        def handle_data(self, data: str) -> None:
            if self._current is not None:
                self._text.append(data)

        def handle_endtag(self, tag: str) -> None:
            if tag == "a" and self._current is not None:
                self.anchors.append((self._current, "".join(self._text).strip()))
                self._current = None

    parser = _Anchors()
    parser.feed(text)
    parser.close()
    return parser.anchors


def parse_html_page(body: bytes, page_url: str) -> tuple[DistFile, ...]:
    """Parse a PEP 503 project page (no upload times in this format)."""
    out: list[DistFile] = []
    for attrs, text in _anchors(body.decode("utf-8", "replace")):
        href = attrs.get("href")
        if not href:
            continue
        url, _, fragment = href.partition("#")
        full = urljoin(page_url, url)
        filename = text or unquote(urlsplit(full).path.rsplit("/", 1)[-1])
        hashes: dict[str, str] = {}
        if "=" in fragment:
            algo, _, digest = fragment.partition("=")
            hashes[algo] = digest
        yanked = "data-yanked" in attrs
        out.append(
            DistFile(
                filename=filename,
                url=full,
                hashes=hashes,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=yanked,
                yanked_reason=(attrs.get("data-yanked") or None) if yanked else None,
            )
        )
    return tuple(out)


def index_client(*, sleep: Callable[[float], None] = time.sleep, retries: int = 3) -> ReadOnlyClient:
    """Return the GET-only client the index adapter uses (retries on 5xx, gzip)."""
    return ReadOnlyClient(
        connect_timeout=10.0,
        read_timeout=60.0,
        deadline=180.0,
        retries=retries,
        sleep=sleep,
        error_cls=PackageIndexError,
        headers={"Accept-Encoding": "gzip"},
    )


def fetch_project(index_url: str, project: str, *, client: ReadOnlyClient | None = None) -> ProjectPage:
    """GET *project*'s simple page once (JSON preferred, HTML fallback) and parse it.

    Raises:
        PackageIndexError: unreachable, not found, or an answer that is not a simple page.
    """
    own = client is None
    http = client or index_client()
    url = index_url.rstrip("/") + f"/{_normalize(project)}/"
    try:
        answer = http.get(url, headers={"Accept": ACCEPT})
    finally:
        if own:
            http.close()
    if answer.status == 404:
        raise PackageIndexError(f"{project} is not on the index {url}", url=url)
    if answer.status != 200:
        raise PackageIndexError(f"{url} answered {answer.status}", url=url)
    content_type = (answer.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type in {_JSON_TYPE, "application/json"}:
        files, fmt = parse_json_page(answer.body, answer.url), "json"
    elif content_type in {"text/html", "application/vnd.pypi.simple.v1+html"}:
        files, fmt = parse_html_page(answer.body, answer.url), "html"
    else:
        raise PackageIndexError(f"{url} answered Content-Type {content_type!r}, not a simple page", url=url)
    return ProjectPage(answer.url, fmt, answer.status, answer.body, files, answer.latency_seconds)


def download(file: DistFile, dest_dir: Path, *, client: ReadOnlyClient | None = None) -> tuple[Path, str]:
    """Download *file* into *dest_dir*; return its path and the sha256 of the bytes received.

    The caller compares the digest with ``file.sha256`` (a mismatch is a verdict, not an error).

    Raises:
        PackageIndexError: the file could not be fetched.
    """
    own = client is None
    http = client or index_client()
    try:
        answer = http.get(file.url)
    finally:
        if own:
            http.close()
    if answer.status != 200:
        raise PackageIndexError(f"{file.url} answered {answer.status}", url=file.url)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / file.filename
    target.write_bytes(answer.body)
    import hashlib  # noqa: PLC0415

    return target, hashlib.sha256(answer.body).hexdigest()


# --------------------------------------------------------------------------- benchmark

_FLOOR_SCRIPT: Final = """
import json, sys, urllib3
from packaging.version import Version
url = sys.argv[1].rstrip("/") + "/spec-kitty-cli/"
r = urllib3.PoolManager().request("GET", url, headers={"Accept": "application/vnd.pypi.simple.v1+json",
                                                        "Accept-Encoding": "gzip"})
files = json.loads(r.data)["files"]
print(len(files), max(Version(f["filename"].split("-")[1]) for f in files if f["filename"].endswith(".whl")))
"""


def _time(argv: list[str], rounds: int) -> float:
    import subprocess  # noqa: PLC0415

    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PackageIndexError(f"cannot time {argv[0]}: {exc}") from None
        elapsed = time.perf_counter() - t0
        if done.returncode not in {0, 1}:
            msg = f"{' '.join(argv[:4])} exited {done.returncode}: {done.stderr.strip()[-300:]}"
            raise PackageIndexError(msg)
        best = min(best, elapsed)
    return best


def bench_resolve(index_url: str, *, rounds: int = 3, python: str = sys.executable) -> dict[str, float]:
    """Time ``phase4gate resolve-rc`` as a process vs a bare urllib3 fetch+parse process vs pip.

    Returns the best-of-*rounds* seconds of each and the ratios
    (``resolve_rc_over_floor`` target <= 1.3, ``pip_over_resolve_rc`` target >= 3.5).

    Raises:
        PackageIndexError: a timed command failed.
    """
    floor = _time([python, "-c", _FLOOR_SCRIPT, index_url], rounds)
    ours = _time(
        [
            python,
            "-m",
            "phase4gate",
            "resolve-rc",
            "spec-kitty-cli",
            "--baseline",
            "3.2.0rc15",
            "--index-url",
            index_url,
        ],
        rounds,
    )
    pip = _time([python, "-m", "pip", "index", "versions", "spec-kitty-cli", "--pre", "--index-url", index_url], rounds)
    return {
        "floor_seconds": floor,
        "resolve_rc_seconds": ours,
        "pip_seconds": pip,
        "resolve_rc_over_floor": ours / floor,
        "pip_over_resolve_rc": pip / ours,
    }
