"""The package index adapter: one GET of a project's simple page (PEP 691 JSON, PEP 503 HTML).

The index URL comes from the configuration, else ``PIP_INDEX_URL`` /
``UV_INDEX_URL``, else whatever pip itself reports as its default (no registry
host name is written in this repository).  Asking pip costs a child process, so
its answer is cached (:func:`default_index_url`) under a key made of everything
that can change it: the interpreter, the pip it would import (its dist-info),
pip's configuration files (paths and mtimes) and every ``PIP_*`` / ``UV_*``
variable; a changed key asks again.

A page is read with a size bound (streamed, never more than
:data:`MAX_PAGE_BYTES` decoded bytes) and must be a PEP 691 / PEP 503 page *for
the project*; anything else is :class:`~phase4gate.errors.PackageIndexError`
("could not decide"), never "no newer RC".  Each file keeps its ``upload-time``,
hashes, requires-python and yanked reason.  Also the wheel download with its
sha256 check, and :func:`bench_resolve` for ``nox -s bench``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

from phase4gate.checks.release import DistFile, canonicalize_name, version_of
from phase4gate.errors import PackageIndexError, redact

if TYPE_CHECKING:
    import subprocess

    from phase4gate.adapters.http import ReadOnlyClient
    from phase4gate.adapters.http_transport import Transport

__all__ = [
    "ACCEPT",
    "CACHE_FILE",
    "MAX_PAGE_BYTES",
    "ProjectPage",
    "cache_dir",
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
# A project page larger than this is refused (the real spec-kitty-cli page is tens of kB).
MAX_PAGE_BYTES: Final = 20 * 1024 * 1024
# At most this many problems are named in one error (then "... N more").
_MAX_PROBLEMS: Final = 5
CACHE_FILE: Final = "default-index.json"
_CACHE_VERSION: Final = 1
_CACHE_ENTRIES: Final = 32
# Besides PIP_* and UV_*: what moves pip's configuration files or the pip a child imports.
_KEY_ENV: Final = frozenset(
    {
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_CONFIG_DIRS",
        "APPDATA",
        "PROGRAMDATA",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONUSERBASE",
        "PYTHONNOUSERSITE",
        "PYTHONSAFEPATH",
        "VIRTUAL_ENV",
    }
)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _shown(url: str) -> str:
    """Return *url* as it may appear in a message (credentials and token-like values masked)."""
    return redact(url)


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


# --------------------------------------------------------------------------- pip's default index, cached


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return phase4gate's cache directory.

    ``$PHASE4GATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/phase4gate``, else ``~/.cache/phase4gate``.
    """
    env = os.environ if environ is None else environ
    if env.get("PHASE4GATE_CACHE_DIR"):
        return Path(env["PHASE4GATE_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "phase4gate"
    return _home(env) / ".cache" / "phase4gate"


def _home(env: Mapping[str, str]) -> Path:
    return Path(env["HOME"]) if env.get("HOME") else Path.home()


def _stat(path: Path) -> list[object]:
    try:
        st = path.stat()
    except OSError:
        return [str(path), None]
    return [str(path), st.st_mtime_ns, st.st_size, st.st_ino]


def _same_interpreter(python: str) -> bool:
    return Path(python).absolute() == Path(sys.executable).absolute()


def _prefix(python: str) -> Path:
    """Return ``sys.prefix`` of *python* (ours exactly; another's by its layout, ``<prefix>/bin/python``)."""
    if _same_interpreter(python):
        return Path(sys.prefix)
    return Path(python).absolute().parent.parent


def _site_dirs(python: str, env: Mapping[str, str]) -> list[Path]:
    """Return where *python* would look for ``pip``, in order (``PYTHONPATH`` first)."""
    dirs = [Path(d) for d in env.get("PYTHONPATH", "").split(os.pathsep) if d]
    if _same_interpreter(python):
        return dirs + [Path(d) for d in sys.path[1:] if d]
    prefix = _prefix(python)
    for lib in ("lib", "lib64", "Lib"):
        base = prefix / lib
        try:
            found = sorted(p for p in base.iterdir() if p.name.startswith("python"))
        except OSError:
            continue
        dirs += [p / "site-packages" for p in found]
        dirs.append(base / "site-packages")
    return dirs


def _pip_identity(python: str, env: Mapping[str, str]) -> list[object]:
    """Return where the child's ``pip`` is and its dist-info names (its version), without importing pip."""
    for directory in _site_dirs(python, env):
        init = directory / "pip" / "__init__.py"
        if not init.is_file():
            continue
        try:
            dist = sorted(e.name for e in os.scandir(directory) if e.name.startswith("pip-") and "-info" in e.name)
        except OSError:
            dist = []
        return [str(directory), dist, _stat(init)]
    return []


def _pip_config_files(python: str, env: Mapping[str, str]) -> list[Path]:
    """Return every configuration file pip reads (global, site, user, ``PIP_CONFIG_FILE``), pip 23 to 26."""
    home = _home(env)
    xdg_dirs = env.get("XDG_CONFIG_DIRS", "").strip() or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
    files.append(Path("/etc/pip.conf"))
    prefix = _prefix(python)
    files += [prefix / "pip.conf", prefix / "pip.ini", home / ".pip" / "pip.conf"]
    config_home = env.get("XDG_CONFIG_HOME", "").strip()
    files.append((Path(config_home) if config_home else home / ".config") / "pip" / "pip.conf")
    if sys.platform == "darwin":  # pragma: no cover - platform paths
        files += [
            home / "Library" / "Application Support" / "pip" / "pip.conf",
            Path("/Library/Application Support/pip/pip.conf"),
        ]
    if os.name == "nt":  # pragma: no cover - platform paths
        files += [Path(env.get(v, "")) / "pip" / "pip.ini" for v in ("APPDATA", "PROGRAMDATA")]
        files.append(home / "pip" / "pip.ini")
    if env.get("PIP_CONFIG_FILE"):
        files.append(Path(env["PIP_CONFIG_FILE"]))
    return files


def _cache_key(python: str, env: Mapping[str, str]) -> str:
    """Return the sha256 of everything that can change pip's answer (so no value is stored in clear)."""
    import hashlib  # noqa: PLC0415 - urllib3 imports it anyway

    variables = sorted((k, v) for k, v in env.items() if k.startswith(("PIP_", "UV_")) or k in _KEY_ENV)
    blob = {
        "python": [str(Path(python).absolute()), _stat(Path(python).resolve())],
        "platform": sys.platform,
        "pip": _pip_identity(python, env),
        "config": [_stat(f) for f in _pip_config_files(python, env)],
        "env": variables,
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode("utf-8")).hexdigest()


def _read_cache(path: Path) -> dict[str, dict[str, str]]:
    """Return the cache's entries; a missing, unreadable or malformed file is an empty cache."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
        return {}
    entries = data.get("entries")
    if not isinstance(entries, dict):
        return {}
    return {
        k: v
        for k, v in entries.items()
        if isinstance(v, dict) and isinstance(v.get("url"), str) and v["url"].startswith(("http://", "https://"))
    }


def _write_cache(path: Path, entries: Mapping[str, Mapping[str, str]]) -> None:
    """Write the cache atomically (temp file, then rename); a cache that cannot be written is skipped."""
    kept = dict(list(entries.items())[-_CACHE_ENTRIES:])
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"version": _CACHE_VERSION, "entries": kept}, out, indent=1, sort_keys=True)
        # A cache, not evidence: no fsync; a torn file after a crash reads as empty and is rewritten.
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def _cacheable(url: str) -> bool:
    """A URL carrying credentials (userinfo) or a query string is never written to disk."""
    parts = urlsplit(url)
    return not (parts.username or parts.password or parts.query or "@" in parts.netloc)


def _ask_pip(python: str, run: Callable[..., Any] | None, env: Mapping[str, str] | None) -> str:
    import subprocess  # noqa: PLC0415 - only when pip must be asked

    runner: Callable[..., subprocess.CompletedProcess[str]] = run or subprocess.run
    extra: dict[str, Any] = {} if env is None else {"env": dict(env)}
    try:
        asked = runner(
            [python, "-c", _ASK_PIP], capture_output=True, text=True, timeout=_ASK_PIP_TIMEOUT, check=False, **extra
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PackageIndexError(f"cannot ask pip for its default index: {exc}") from None
    url = asked.stdout.strip()
    if asked.returncode != 0 or not url.startswith(("http://", "https://")):
        msg = f"pip did not report a default index (exit {asked.returncode}): {asked.stderr.strip()[-200:]}"
        raise PackageIndexError(msg, hint="set release.index_url in the configuration, or PIP_INDEX_URL")
    return url


def default_index_url(
    *,
    python: str = sys.executable,
    run: Callable[..., Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Return the index pip would use (its configuration, else its default), asking pip only when needed.

    pip is asked in a child process (*python* ``-c``) the first time and whenever
    the key changes (interpreter, pip's dist-info, pip's configuration files'
    paths and mtimes, ``PIP_*`` / ``UV_*`` variables); the answer is kept in
    :data:`CACHE_FILE` under :func:`cache_dir`, keyed by the key's sha256.  An
    answer with credentials or a query string in the URL is not cached (it
    would put a secret on disk), so pip is asked each time.  Failures are never
    cached.  *environ* (default ``os.environ``) is the child's environment too.

    Raises:
        PackageIndexError: pip cannot be run or reports no index.
    """
    env = os.environ if environ is None else environ
    path = cache_dir(env) / CACHE_FILE
    key = _cache_key(python, env)
    entries = _read_cache(path)
    hit = entries.get(key)
    if hit is not None:
        return hit["url"]
    url = _ask_pip(python, run, environ)
    if _cacheable(url):
        entries.pop(key, None)
        entries[key] = {"url": url}
        _write_cache(path, entries)
    return url


def resolve_index_url(configured: str | None, environ: Mapping[str, str] | None = None) -> str:
    """Return the index URL: configured, else ``PIP_INDEX_URL``/``UV_INDEX_URL``, else pip's default.

    Raises:
        PackageIndexError: no URL configured and pip reports none.
    """
    env = os.environ if environ is None else environ
    url = configured or env.get("PIP_INDEX_URL") or env.get("UV_INDEX_URL") or env.get("UV_DEFAULT_INDEX")
    return (url or default_index_url(environ=environ)).rstrip("/") + "/"


class ProjectPage(NamedTuple):
    """A project's simple page as fetched: where, which format, the raw body, the files.

    A frozen NamedTuple rather than an attrs class, to keep attrs out of ``resolve-rc`` (issue 23).
    """

    url: str
    format: str  # "json" (PEP 691) or "html" (PEP 503)
    status: int
    body: bytes
    files: tuple[DistFile, ...]
    latency_seconds: float


# --------------------------------------------------------------------------- parsing


def _problems_text(problems: list[str]) -> str:
    shown = problems[:_MAX_PROBLEMS]
    more = len(problems) - len(shown)
    return "; ".join(shown) + (f"; ... {more} more" if more else "")


def _json_file(n: int, f: object, page_url: str, problems: list[str]) -> DistFile | None:
    """Return file entry *n* of a PEP 691 page, or note what is wrong with it."""
    where = f"$.files[{n}]"
    if not isinstance(f, dict):
        problems.append(f"{where} is not an object")
        return None
    filename, url, hashes = f.get("filename"), f.get("url"), f.get("hashes", {})
    if not isinstance(filename, str) or not filename or not isinstance(url, str) or not url:
        problems.append(f"{where} lacks filename or url")
        return None
    bad = [
        name
        for name, ok in (
            ("hashes", isinstance(hashes, dict) and all(isinstance(v, str) for v in hashes.values())),
            ("requires-python", f.get("requires-python") is None or isinstance(f.get("requires-python"), str)),
            ("yanked", isinstance(f.get("yanked", False), bool | str)),
            ("upload-time", f.get("upload-time") is None or isinstance(f.get("upload-time"), str)),
            ("size", f.get("size") is None or (isinstance(f.get("size"), int) and not isinstance(f["size"], bool))),
        )
        if not ok
    ]
    if bad:
        problems.append(f"{where}: wrong type of {', '.join(bad)}")
        return None
    yanked = f.get("yanked", False)
    return DistFile(
        filename=filename,
        url=url if url.startswith(("https://", "http://")) else urljoin(page_url, url),
        hashes={str(k): str(v) for k, v in hashes.items()},
        requires_python=f.get("requires-python") or None,
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
        upload_time=f.get("upload-time"),
        size=f.get("size"),
    )


def parse_json_page(body: bytes, page_url: str, project: str | None = None) -> tuple[DistFile, ...]:
    """Parse a PEP 691 project page; with *project*, it must be that project's page.

    Every problem is named at once, with its ``$.path`` (at most five, then "... N more").

    Raises:
        PackageIndexError: not JSON, not an object, no ``meta.api-version`` or a major
            version other than 1, ``name`` missing or another project's, ``files``
            missing or not a list, or a file entry without a name or URL or with a
            field of the wrong type.
    """
    shown = _shown(page_url)
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackageIndexError(f"{shown}: PEP 691 page is not JSON ({exc})", url=page_url) from None
    if not isinstance(data, dict):
        raise PackageIndexError(f"{shown}: PEP 691 page is not an object", url=page_url)
    problems: list[str] = []
    meta = data.get("meta")
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(version, str):
        problems.append("$.meta.api-version is missing")
    elif not version.startswith("1."):
        raise PackageIndexError(f"{shown}: unsupported simple API version {version}", url=page_url)
    name = data.get("name")
    if project is not None and not isinstance(name, str):
        problems.append("$.name is missing")
    elif project is not None and isinstance(name, str) and canonicalize_name(name) != canonicalize_name(project):
        problems.append(f"$.name is {name[:100]!r}, not {project!r}")
    files = data.get("files")
    out: list[DistFile] = []
    if not isinstance(files, list):
        problems.append("$.files is missing" if files is None else "$.files is not a list")
    else:
        for n, f in enumerate(files):
            parsed = _json_file(n, f, page_url, problems)
            if parsed is not None:
                out.append(parsed)
    if problems:
        what = f"not a PEP 691 page for {project}" if project else "not a PEP 691 page"
        raise PackageIndexError(f"{shown}: {what}: {_problems_text(problems)}", url=page_url)
    return tuple(out)


class _PageReader:
    """What a PEP 503 page holds: its anchors, its title, its PEP 629 repository version."""

    def __init__(self) -> None:
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.title = ""
        self.repository_version: str | None = None


def _read_html(text: str) -> _PageReader:
    import html.parser  # noqa: PLC0415 - only for the PEP 503 fallback

    page = _PageReader()

    class _Reader(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self._current: dict[str, str | None] | None = None
            self._text: list[str] = []
            self._in_title = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                self._current = dict(attrs)
                self._text = []
            elif tag == "title":
                self._in_title = True
            elif tag == "meta":
                found = dict(attrs)
                if found.get("name") == "pypi:repository-version":
                    page.repository_version = found.get("content") or ""

        def handle_data(self, data: str) -> None:
            if self._current is not None:
                self._text.append(data)
            if self._in_title:
                page.title += data

        def handle_endtag(self, tag: str) -> None:
            if tag == "a" and self._current is not None:
                page.anchors.append((self._current, "".join(self._text).strip()))
                self._current = None
            elif tag == "title":
                self._in_title = False

    parser = _Reader()
    parser.feed(text)
    parser.close()
    return page


def _html_file(attrs: dict[str, str | None], text: str, page_url: str) -> DistFile | None:
    href = attrs.get("href")
    if not href:
        return None
    url, _, fragment = href.partition("#")
    full = urljoin(page_url, url)
    filename = text or unquote(urlsplit(full).path.rsplit("/", 1)[-1])
    hashes: dict[str, str] = {}
    if "=" in fragment:
        algo, _, digest = fragment.partition("=")
        hashes[algo] = digest
    yanked = "data-yanked" in attrs
    return DistFile(
        filename=filename,
        url=full,
        hashes=hashes,
        requires_python=attrs.get("data-requires-python") or None,
        yanked=yanked,
        yanked_reason=(attrs.get("data-yanked") or None) if yanked else None,
    )


def parse_html_page(body: bytes, page_url: str, project: str | None = None) -> tuple[DistFile, ...]:
    """Parse a PEP 503 project page (no upload times in this format); with *project*, it must be its page.

    Without *project* this never raises.  With it, the page must list at least one
    file of the project, or list no link at all under a title naming it ("Links
    for <project>", an empty project page); a PEP 629 repository version other
    than 1.x is refused.

    Raises:
        PackageIndexError: with *project*, the page is not that project's simple page.
    """
    page = _read_html(body.decode("utf-8", "replace"))
    out = [f for f in (_html_file(attrs, text, page_url) for attrs, text in page.anchors) if f is not None]
    if project is None:
        return tuple(out)
    shown = _shown(page_url)
    version = page.repository_version
    if version is not None and not version.startswith("1."):
        raise PackageIndexError(f"{shown}: unsupported simple API version {version[:20]!r}", url=page_url)
    if any(version_of(f.filename, project) is not None for f in out):
        return tuple(out)
    title = " ".join(page.title.split())
    names_project = canonicalize_name(title.removeprefix("Links for ").strip()) == canonicalize_name(project)
    if not page.anchors and title.startswith("Links for ") and names_project:
        return ()
    why = f"{len(page.anchors)} link(s), none to a file of {project}" if page.anchors else "no file links"
    titled = f", title {title[:80]!r}" if title else ""
    raise PackageIndexError(f"{shown}: not a PEP 503 page for {project} ({why}{titled})", url=page_url)


# --------------------------------------------------------------------------- fetching


def index_client(
    *,
    sleep: Callable[[float], None] = time.sleep,
    retries: int = 3,
    clock: Callable[[], float] = time.monotonic,
    epoch: Callable[[], float] = time.time,
    transport: Callable[[Mapping[str, str]], Transport] | None = None,
) -> ReadOnlyClient:
    """Return the GET-only client the index adapter uses (retries on 5xx, gzip).

    *transport* as :class:`phase4gate.adapters.http.ReadOnlyClient` takes it (urllib3 by
    default; ``resolve-rc`` passes :class:`~phase4gate.adapters.http_transport.StdlibTransport`).
    """
    from phase4gate.adapters.http import ReadOnlyClient  # noqa: PLC0415 - only when fetching

    return ReadOnlyClient(
        transport=transport,
        connect_timeout=10.0,
        read_timeout=60.0,
        deadline=180.0,
        retries=retries,
        sleep=sleep,
        clock=clock,
        epoch=epoch,
        error_cls=PackageIndexError,
        headers={"Accept-Encoding": "gzip"},
    )


def fetch_project(
    index_url: str, project: str, *, client: ReadOnlyClient | None = None, max_bytes: int = MAX_PAGE_BYTES
) -> ProjectPage:
    """GET *project*'s simple page once (JSON preferred, HTML fallback) and parse it.

    The body is streamed and refused past *max_bytes* (decoded); the page must be
    a valid PEP 691 / PEP 503 page for *project* (see :func:`parse_json_page`,
    :func:`parse_html_page`).

    Raises:
        PackageIndexError: unreachable, not found, over the size bound, or an answer
            that is not *project*'s simple page ("could not decide", exit 3).
    """
    own = client is None
    http = client or index_client()
    url = index_url.rstrip("/") + f"/{_normalize(project)}/"
    try:
        answer = http.get(url, headers={"Accept": ACCEPT}, max_bytes=max_bytes)
    finally:
        if own:
            http.close()
    if answer.status == 404:
        raise PackageIndexError(f"{project} is not on the index {_shown(url)}", url=url)
    if answer.status != 200:
        raise PackageIndexError(f"{_shown(url)} answered {answer.status}", url=url)
    content_type = (answer.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type in {_JSON_TYPE, "application/json"}:
        files, fmt = parse_json_page(answer.body, answer.url, project), "json"
    elif content_type in {"text/html", "application/vnd.pypi.simple.v1+html"}:
        files, fmt = parse_html_page(answer.body, answer.url, project), "html"
    else:
        msg = f"{_shown(url)} answered Content-Type {content_type[:80]!r}, not a simple page"
        raise PackageIndexError(msg, url=url)
    return ProjectPage(answer.url, fmt, answer.status, answer.body, files, answer.latency_seconds)


def download(
    file: DistFile, dest_dir: Path, *, client: ReadOnlyClient | None = None, index_url: str | None = None
) -> tuple[Path, str]:
    """Download *file* into *dest_dir*; return its path and the sha256 of the bytes received.

    The caller compares the digest with ``file.sha256`` (a mismatch is a verdict, not an error).
    A file on *index_url*'s own origin is fetched with *index_url*'s credentials, as pip and uv do.

    Raises:
        PackageIndexError: the file could not be fetched.
    """
    from phase4gate.adapters.http import with_credentials_of  # noqa: PLC0415

    own = client is None
    http = client or index_client()
    try:
        answer = http.get(with_credentials_of(file.url, index_url) if index_url else file.url)
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
