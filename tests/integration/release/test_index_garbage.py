"""Honest index reads (issue 20, case 4): a garbage answer is "could not decide" (exit 3), never "waiting".

Each garbage answer is served with status 200 by the real index emulator, on a
release set where a valid page would mean "no newer RC" (exit 1).  Through the
``resolve-rc`` console command (a subprocess) and through WP02 (the engine), each
must be exit 3 naming what was wrong and the page's URL.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from phase4gate.adapters.index import MAX_PAGE_BYTES, fetch_project, index_client, parse_html_page, parse_json_page
from phase4gate.config import GateConfig
from phase4gate.errors import ExitCode, PackageIndexError
from phase4gate.gate import Gate, StepContext
from phase4gate.models import StepOutcome, StepStatus
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.index import IndexEmulator

HANG_GUARD_SECONDS = 120

# mode -> (gzip on the wire, what the error must say)
GARBAGE_CASES = {
    "html-error": (True, "not a PEP 503 page for spec-kitty-cli (no file links, title 'Service unavailable')"),
    "html-links": (True, "not a PEP 503 page for spec-kitty-cli (2 link(s), none to a file of spec-kitty-cli"),
    "wrong-shape": (True, "not a PEP 691 page for spec-kitty-cli: $.name is missing; $.files is missing"),
    "other-project": (True, "$.name is 'another-project', not 'spec-kitty-cli'"),
    "huge-gzip": (True, f"answered more than {MAX_PAGE_BYTES} bytes; refused"),
    "huge-plain": (False, f"answered more than {MAX_PAGE_BYTES} bytes; refused"),
}


@pytest.fixture(params=sorted(GARBAGE_CASES))
def garbage(request: pytest.FixtureRequest) -> Iterator[tuple[IndexEmulator, str]]:
    """An index emulator (nothing newer than rc15) answering one kind of garbage; the expected reason."""
    mode: str = request.param
    compress, reason = GARBAGE_CASES[mode]
    with IndexEmulator("only-rc15", gzip=compress) as emulator:
        emulator.set_garbage(mode.removesuffix("-gzip").removesuffix("-plain"))
        yield emulator, reason


def test_resolve_rc_subprocess_is_exit_3_with_the_reason(garbage: tuple[IndexEmulator, str]) -> None:
    """``phase4gate resolve-rc`` on a garbage answer: exit 3, the reason and the page URL on stderr, no stdout."""
    index, reason = garbage
    argv = [sys.executable, "-m", "phase4gate", "resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15"]
    done = subprocess.run(
        [*argv, "--index-url", index.simple_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=HANG_GUARD_SECONDS,
    )
    assert done.returncode == ExitCode.INFRA, done.stderr
    assert done.stdout == ""
    assert reason in done.stderr
    assert f"{index.simple_url}spec-kitty-cli/" in done.stderr
    assert "latest RC is still" not in done.stderr


def _wp01(_ctx: StepContext) -> StepOutcome:
    """A WP01 stand-in that passes (WP02 fails before it needs WP01's facts)."""
    return StepOutcome.passed("blockers closed (stand-in)", facts={"cli_fix_commits": "0" * 40})


def test_wp02_is_could_not_decide_with_the_reason(
    garbage: tuple[IndexEmulator, str], release_config: Callable[..., GateConfig], tmp_path: Path
) -> None:
    """WP02 on a garbage answer: an error (exit 3) whose reason names what was wrong; never a waiting stop."""
    index, reason = garbage
    gate = Gate(release_config(index.simple_url), evidence_root=tmp_path, steps={"WP01": _wp01})
    report = gate.run(until="WP02")
    result = report.step("WP02")
    assert result is not None
    assert result.status is StepStatus.ERROR, result.reason
    assert result.stop_kind is None
    assert reason in result.reason
    assert result.facts["error"] == "PackageIndexError"
    assert report.exit_code == ExitCode.INFRA


def test_a_valid_page_with_nothing_newer_is_still_waiting(index: IndexEmulator) -> None:
    """The control: the same release set served honestly is exit 1 (waiting) through the subprocess."""
    index.set_release_set("only-rc15")
    argv = [sys.executable, "-m", "phase4gate", "resolve-rc", "spec-kitty-cli", "--baseline", "3.2.0rc15"]
    done = subprocess.run(
        [*argv, "--index-url", index.simple_url], capture_output=True, text=True, check=False, timeout=120
    )
    assert (done.returncode, done.stdout) == (ExitCode.STOPPED, "")
    assert "latest RC is still 3.2.0rc15" in done.stderr


def test_an_empty_project_page_is_valid() -> None:
    """A PEP 503 page titled for the project with no links, and a PEP 691 page with no files, are valid pages."""
    html = b"<!DOCTYPE html><html><head><title>Links for spec-kitty-cli</title></head><body></body></html>"
    assert parse_html_page(html, "http://127.0.0.1:1/simple/spec-kitty-cli/", "spec-kitty-cli") == ()
    body = b'{"meta": {"api-version": "1.1"}, "name": "spec-kitty-cli", "files": []}'
    assert parse_json_page(body, "http://127.0.0.1:1/simple/spec-kitty-cli/", "Spec_Kitty.CLI") == ()


def test_page_shape_problems_are_all_named() -> None:
    """Every wrong field is named with its $.path (at most five, then how many more)."""
    files = ",".join('{"filename": "f.whl", "url": "u", "hashes": [1]}' for _ in range(7))
    body = ('{"meta": {"api-version": "1.0"}, "name": "spec-kitty-cli", "files": [' + files + "]}").encode()
    with pytest.raises(PackageIndexError) as excinfo:
        parse_json_page(body, "http://127.0.0.1:1/simple/spec-kitty-cli/", "spec-kitty-cli")
    text = str(excinfo.value)
    assert "$.files[0]: wrong type of hashes" in text
    assert "$.files[4]: wrong type of hashes" in text
    assert "$.files[5]" not in text
    assert text.endswith("... 2 more")
    html = b'<html><head><meta name="pypi:repository-version" content="2.0"></head></html>'
    with pytest.raises(PackageIndexError, match="unsupported simple API version '2.0'"):
        parse_html_page(html, "http://127.0.0.1:1/simple/spec-kitty-cli/", "spec-kitty-cli")


def test_a_page_under_the_bound_is_read(index: IndexEmulator) -> None:
    """The size bound is a parameter: a normal page fits the default; a tiny bound refuses it."""
    page = fetch_project(index.simple_url, "spec-kitty-cli")
    assert len(page.body) < MAX_PAGE_BYTES
    with pytest.raises(PackageIndexError, match="answered more than 100 bytes"):
        fetch_project(index.simple_url, "spec-kitty-cli", max_bytes=100)


def test_a_retried_answer_is_dropped_before_the_bounded_read(index: IndexEmulator) -> None:
    """A 503 (body not read, connection dropped), then the page: read within the bound; the delay was asked of sleep."""
    index.inject("/simple/", Fault("status", status=503), Fault("status", status=503))
    slept: list[float] = []
    page = fetch_project(index.simple_url, "spec-kitty-cli", client=index_client(sleep=slept.append))
    assert slept == [0.5, 1.0]
    assert page.format == "json"
    assert page.files
    index.set_garbage("huge")
    index.inject("/simple/", Fault("status", status=503))
    with pytest.raises(PackageIndexError, match="answered more than"):
        fetch_project(index.simple_url, "spec-kitty-cli", client=index_client(sleep=slept.append))
    assert slept == [0.5, 1.0, 0.5]


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_both_transports_read_the_same_page_and_refuse_the_same_bomb(compress: bool) -> None:
    """urllib3 (the gate) and http.client (resolve-rc) give the same files; both refuse a 50 MB page in bounded reads."""
    from phase4gate.adapters.http_transport import StdlibTransport, Urllib3Transport

    with IndexEmulator("rc15-rc16", gzip=compress) as index:
        pages = [
            fetch_project(index.simple_url, "spec-kitty-cli", client=index_client(transport=t))
            for t in (Urllib3Transport, StdlibTransport)
        ]
        assert pages[0].files == pages[1].files
        assert pages[0].body == pages[1].body
        assert [r.headers.get("Accept-Encoding") for r in index.requests] == ["gzip", "gzip"]
        index.set_garbage("huge")
        for t in (Urllib3Transport, StdlibTransport):
            with pytest.raises(PackageIndexError, match=f"answered more than {MAX_PAGE_BYTES} bytes; refused"):
                fetch_project(index.simple_url, "spec-kitty-cli", client=index_client(transport=t))
