"""The index adapter and the index emulator: PEP 691, PEP 503, gzip, faults, real pip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phase4gate.adapters.index import (
    default_index_url,
    download,
    fetch_project,
    index_client,
    parse_json_page,
    resolve_index_url,
)
from phase4gate.checks.release import resolve_rc
from phase4gate.errors import PackageIndexError
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.index import IndexEmulator, Release
from phase4gate.sandbox.wheels import build_wheel


def test_json_page_keeps_upload_time_hashes_and_yanked(index: IndexEmulator) -> None:
    """One GET, PEP 691 JSON, gzip-encoded on the wire; every file field kept."""
    index.set_release_set("rc16-yanked")
    page = fetch_project(index.simple_url, "Spec_Kitty.CLI")
    assert page.format == "json"
    assert index.count("GET", "/simple/") == 1
    assert index.requests[0].headers["Accept-Encoding"] == "gzip"
    rc16 = next(f for f in page.files if "rc16" in f.filename)
    assert (rc16.yanked, rc16.yanked_reason) == (True, "broken upload, use rc17")
    assert rc16.upload_time == "2026-05-10T12:00:00.000000Z"
    assert rc16.url == f"{index.origin}/files/spec_kitty_cli-3.2.0rc16-py3-none-any.whl"
    assert rc16.sha256 is not None
    assert len(rc16.sha256) == 64


def test_html_fallback(tmp_path: Path) -> None:
    """An index without PEP 691 answers PEP 503 HTML: parsed, same resolution, no upload times."""
    with IndexEmulator("finals-and-newer-series", json_api=False, gzip=False) as html_index:
        page = fetch_project(html_index.simple_url, "spec-kitty-cli")
        assert page.format == "html"
        result = resolve_rc(page.files, "3.2.0rc15")
        assert result.version == "3.2.0rc16"
        assert result.upload_time is None
        assert [s.reason for s in result.skipped] == ["requires-python >=3.99 excludes Python 3.11"]
        wheel = result.wheel
        assert wheel is not None
        path, digest = download(wheel, tmp_path)
        assert digest == wheel.sha256
        assert path.read_bytes()[:2] == b"PK"


def test_5xx_is_retried_and_404_named(index: IndexEmulator) -> None:
    """A 503 then a good page: one retry with the backoff asked of sleep; an unknown project: PackageIndexError."""
    index.inject("/simple/", Fault("status", status=503))
    slept: list[float] = []
    page = fetch_project(index.simple_url, "spec-kitty-cli", client=index_client(sleep=slept.append))
    assert page.files
    assert slept == [0.5]
    with pytest.raises(PackageIndexError, match="not-a-project is not on the index"):
        fetch_project(index.simple_url, "not-a-project")


def test_unreadable_answers(index: IndexEmulator) -> None:
    """A 500 after retries, a non-JSON 691 page, a wrong content type: PackageIndexError naming the URL."""
    index.inject("/simple/", Fault("status", status=500))
    with pytest.raises(PackageIndexError, match="answered 500"):
        fetch_project(index.simple_url, "spec-kitty-cli")
    index.inject("/simple/", Fault("status", status=200, headers={"Content-Type": "text/plain"}, body=b"hi"))
    with pytest.raises(PackageIndexError, match="answered Content-Type 'text/plain', not a simple page"):
        fetch_project(index.simple_url, "spec-kitty-cli")
    with pytest.raises(PackageIndexError, match="is not JSON"):
        parse_json_page(b"{nope", "u")
    with pytest.raises(PackageIndexError, match="unsupported simple API version 2.0"):
        parse_json_page(b'{"meta": {"api-version": "2.0"}, "files": []}', "u")
    with pytest.raises(PackageIndexError, match=r"\$.files\[0\] lacks filename"):
        parse_json_page(b'{"files": [{"url": "x"}]}', "u")
    with pytest.raises(PackageIndexError, match="not an object"):
        parse_json_page(b"[]", "u")


def test_download_of_a_missing_file(index: IndexEmulator, tmp_path: Path) -> None:
    """A file the index lists but cannot serve: PackageIndexError."""
    page = fetch_project(index.simple_url, "spec-kitty-cli")
    gone = page.files[0]
    index.set_release_set("only-rc15")
    index.set_release_set([Release("spec-kitty-cli", "9.9.9", "2026-01-01T00:00:00Z")])
    with pytest.raises(PackageIndexError, match="answered 404"):
        download(gone, tmp_path)


def test_index_url_precedence() -> None:
    """Configured, else PIP_INDEX_URL, else UV_INDEX_URL; always one trailing slash."""
    assert resolve_index_url("http://a/simple", {"PIP_INDEX_URL": "http://b/"}) == "http://a/simple/"
    env = {"PIP_INDEX_URL": "http://b/simple", "UV_INDEX_URL": "http://c/"}
    assert resolve_index_url(None, env) == "http://b/simple/"
    assert resolve_index_url(None, {"UV_INDEX_URL": "http://c/simple/"}) == "http://c/simple/"


def test_pip_is_asked_for_its_index(tmp_path: Path) -> None:
    """pip's own configuration is read in a child process (here through PIP_INDEX_URL)."""
    env = {**os.environ, "PIP_INDEX_URL": "http://127.0.0.1:9/simple/", "PHASE4GATE_CACHE_DIR": str(tmp_path / "c")}
    done = subprocess.run(
        [sys.executable, "-c", "from phase4gate.adapters.index import default_index_url; print(default_index_url())"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip() == "http://127.0.0.1:9/simple/"
    no_pip = tmp_path / "no-pip"
    subprocess.run(["uv", "venv", "-q", str(no_pip), "--python", sys.executable], check=True, timeout=120)
    with pytest.raises(PackageIndexError, match="pip did not report a default index"):
        default_index_url(python=str(no_pip / "bin" / "python"))
    with pytest.raises(PackageIndexError, match="cannot ask pip"):
        default_index_url(python=str(tmp_path / "missing-python"))


def test_pip_itself_installs_from_the_emulator(index: IndexEmulator, tmp_path: Path) -> None:
    """Real pip installs the stand-in and its dependency; the console script refuses SaaS commands unless enabled."""
    target = tmp_path / "site"
    argv = [sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir", "--quiet"]
    argv += ["--index-url", index.simple_url, "--target", str(target), "spec-kitty-cli==3.2.0rc16"]
    subprocess.run(argv, check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("SPEC_KITTY_ENABLE_SAAS_SYNC", None)
    cli = [sys.executable, "-m", "specify_cli.cli"]
    version = subprocess.run([*cli, "--version"], capture_output=True, text=True, env=env, check=True, timeout=60)
    assert version.stdout.strip().splitlines()[-1] == "spec-kitty-cli version 3.2.0rc16"
    refused = subprocess.run([*cli, "sync", "now"], capture_output=True, text=True, env=env, check=False, timeout=60)
    assert refused.returncode == 2
    assert "SPEC_KITTY_ENABLE_SAAS_SYNC=1" in refused.stderr
    env["SPEC_KITTY_ENABLE_SAAS_SYNC"] = "1"
    allowed = subprocess.run([*cli, "sync", "now"], capture_output=True, text=True, env=env, check=False, timeout=60)
    assert allowed.returncode == 0, allowed.stderr
    unknown = subprocess.run([*cli, "dance"], capture_output=True, text=True, env=env, check=False, timeout=60)
    assert unknown.returncode == 2


def test_emulator_pages_and_knobs(index: IndexEmulator) -> None:
    """Root pages in both formats, 404s, 405 for writes, and an unknown release set refused."""
    import urllib3

    http = urllib3.PoolManager()
    root = http.request("GET", index.simple_url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert root.json()["projects"] == [{"name": "kitty-typer"}, {"name": "spec-kitty-cli"}]
    assert b'href="/simple/spec-kitty-cli/"' in http.request("GET", index.simple_url).data
    assert http.request("GET", index.origin + "/nope").status == 404
    assert http.request("GET", index.origin + "/files/nope.whl").status == 404
    assert http.request("GET", index.origin + "/simple/nope/").status == 404
    assert http.request("POST", index.simple_url).status == 405
    with pytest.raises(KeyError, match="unknown release set"):
        index.set_release_set("nope")


def test_build_wheel_has_a_valid_record() -> None:
    """The RECORD lists every file with its urlsafe sha256; the same input gives the same bytes."""
    import zipfile
    from io import BytesIO

    name, data = build_wheel("demo-pkg", "1.0", {"demo_pkg/__init__.py": "X = 1\n"}, requires_python=">=3.8")
    assert name == "demo_pkg-1.0-py3-none-any.whl"
    assert build_wheel("demo-pkg", "1.0", {"demo_pkg/__init__.py": "X = 1\n"}, requires_python=">=3.8")[1] == data
    with zipfile.ZipFile(BytesIO(data)) as zf:
        record = zf.read("demo_pkg-1.0.dist-info/RECORD").decode()
        assert "demo_pkg/__init__.py,sha256=" in record
        assert "Requires-Python: >=3.8" in zf.read("demo_pkg-1.0.dist-info/METADATA").decode()


def test_bench_resolve_reports_times_and_ratios(index: IndexEmulator) -> None:
    """The benchmark times resolve-rc (both paths), the urllib3 floor and pip as processes; ratios per round."""
    from phase4gate.bench import bench_resolve

    result = bench_resolve(index.simple_url, repeat=1)
    assert set(result) == {
        "floor_s",
        "default_s",
        "index_url_s",
        "pip_s",
        "default_over_floor",
        "index_url_over_floor",
        "pip_over_default",
        "pip_over_floor",
    }
    assert all(low <= mid <= high for low, mid, high in result.values())
    assert all(low > 0 for low, _, _ in result.values())
    # one round: the ratio is exactly that round's quotient (min == median == max)
    assert len(set(result["default_over_floor"])) == 1
    # the warm-up plus one round reached the index: floor, default, --index-url (pip lists the page too)
    assert index.count("GET", "/simple/spec-kitty-cli/") >= 6
