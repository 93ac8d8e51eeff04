"""The read-only client against a real local server with injected faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest

from phase4gate.adapters.http import SAAS_ALLOWED_METHODS, ReadOnlyClient, backoff_delay
from phase4gate.adapters.http_transport import StdlibTransport, Transport, Urllib3Transport
from phase4gate.errors import PackageIndexError, SaaSError
from phase4gate.sandbox._server import Fault, Request, Response
from phase4gate.sandbox.saas import SaaSEmulator


class _Redirector(SaaSEmulator):
    """A SaaS that redirects /moved/ to a target chosen by the test."""

    target = ""

    def handle(self, request: Request) -> Response:
        if request.path == "/moved/":
            return Response(302, b"", {"Location": self.target})
        if request.path == "/nowhere/":
            return Response(301, b"", {})
        if request.path == "/loop/":
            return Response(307, b"", {"Location": "/loop/"})
        if request.path == "/lower/":  # header names are case-insensitive
            return Response(302, b"", {"location": "/health/"})
        return super().handle(request)


@pytest.fixture
def server() -> Iterator[_Redirector]:
    with _Redirector() as emulator:
        yield emulator


Builder = Callable[[Mapping[str, str]], Transport]
# Every test runs on both transports: the policy is the client's, the answers must not differ.
_TRANSPORTS: dict[str, Builder] = {"urllib3": Urllib3Transport, "stdlib": StdlibTransport}
_CURRENT: list[Builder] = []


@pytest.fixture(autouse=True, params=sorted(_TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> Iterator[Builder]:
    """The transport :func:`client` builds its client with."""
    _CURRENT[:] = [_TRANSPORTS[request.param]]
    yield _CURRENT[0]
    _CURRENT.clear()


def client(url: str, **kw: object) -> tuple[ReadOnlyClient, list[float]]:
    slept: list[float] = []
    return ReadOnlyClient(url, sleep=slept.append, transport=_CURRENT[0], **kw), slept  # type: ignore[arg-type]


def test_only_get_leaves_the_client(server: _Redirector) -> None:
    """The policy is checked before any request: a POST never reaches the server."""
    c, _ = client(server.base_url)
    assert frozenset({"GET", "HEAD"}) == SAAS_ALLOWED_METHODS
    assert not hasattr(c, "post")
    with pytest.raises(SaaSError, match="refused to send POST"):
        c._send("POST", server.base_url + "/health/", {})
    assert server.requests == []
    assert c.get("/health/").status == 200
    assert [r.method for r in server.requests] == ["GET"]


def test_retry_after_is_honoured_then_the_last_503_returned(server: _Redirector) -> None:
    """503s with Retry-After are retried with those delays; when retries run out the 503 comes back."""
    busy = Fault("status", status=503, headers={"Retry-After": "7"})
    server.inject("/health/", busy, busy, busy, busy)
    c, slept = client(server.base_url, retries=3, deadline=100.0)
    answer = c.get("/health/")
    assert answer.status == 503
    assert answer.attempts == 4
    assert slept == [7.0, 7.0, 7.0]


def test_backoff_then_success(server: _Redirector) -> None:
    """502, 504 and a reset connection are retried with exponential backoff."""
    server.inject("/health/", Fault("status", status=502), Fault("reset"), Fault("status", status=504))
    c, slept = client(server.base_url, retries=3, backoff_factor=0.5)
    answer = c.get("/health/")
    assert (answer.status, answer.attempts) == (200, 4)
    assert slept == [0.5, 1.0, 2.0]


def test_deadline_stops_retrying(server: _Redirector) -> None:
    """A delay that would pass the total deadline is not taken."""
    server.inject("/health/", Fault("status", status=503, headers={"Retry-After": "30"}))
    c, slept = client(server.base_url, retries=5, deadline=10.0)
    assert c.get("/health/").status == 503
    assert slept == []


def test_redirects(server: _Redirector) -> None:
    """Same host: followed.  Another host, no Location, or a loop: refused with the URL named."""
    c, _ = client(server.base_url)
    server.target = server.base_url + "/health/"
    assert c.get("/moved/").url == server.base_url + "/health/"
    server.target = "http://localhost:1/health/?token=secret"
    with pytest.raises(SaaSError, match="redirected to another host") as excinfo:
        c.get("/moved/")
    assert "secret" not in str(excinfo.value)
    with pytest.raises(SaaSError, match="without a Location"):
        c.get("/nowhere/")
    with pytest.raises(SaaSError, match="more than 5 redirects"):
        c.get("/loop/")


def test_tls_error_is_named(server: _Redirector) -> None:
    """https to a plain-HTTP port: a TLS error, not retried, with the configured error class."""
    c, slept = client(server.base_url.replace("http://", "https://"), error_cls=PackageIndexError)
    with pytest.raises(PackageIndexError, match="TLS error"):
        c.get("/health/")
    assert slept == []


def test_truncated_body_is_retried_then_reported(server: _Redirector) -> None:
    """A body cut short is a broken connection: retried, then SaaSError."""
    server.inject("/health/", Fault("truncated"), Fault("truncated"))
    c, slept = client(server.base_url, retries=1)
    with pytest.raises(SaaSError, match="connection broken"):
        c.get("/health/")
    assert slept == [0.5]


def test_a_read_timeout_is_retried_then_named(server: _Redirector) -> None:
    """No answer within the read timeout: retried with backoff, then the error says so."""
    server.inject("/health/", Fault("delay", seconds=1.0), Fault("delay", seconds=1.0))
    c, slept = client(server.base_url, retries=1, read_timeout=0.2)
    with pytest.raises(SaaSError, match="read timed out"):
        c.get("/health/")
    assert slept == [0.5]


def test_a_refused_connection_is_retried_then_named() -> None:
    """Nothing listens: retried within the policy, then 'connection refused or unreachable'."""
    with _Redirector() as gone:
        url = gone.base_url
    c, slept = client(url, retries=2)
    with pytest.raises(SaaSError, match="connection refused or unreachable"):
        c.get("/health/")
    assert slept == [0.5, 1.0]


def test_header_names_are_case_insensitive(server: _Redirector) -> None:
    """A lowercase Location is followed, and read back whatever its case."""
    c, _ = client(server.base_url)
    answer = c.get("/lower/")
    assert (answer.url, answer.status) == (server.base_url + "/health/", 200)
    assert answer.header("content-type") == answer.header("CONTENT-TYPE") is not None


def test_a_body_that_is_not_the_gzip_it_claims_is_refused_not_retried(server: _Redirector) -> None:
    """Content-Encoding gzip over junk: a DecodeError, read whole or bounded, with nothing retried."""
    junk = Fault("status", status=200, headers={"Content-Encoding": "gzip"}, body=b"junk, not gzip")
    server.inject("/health/", junk, junk)
    c, slept = client(server.base_url)
    with pytest.raises(SaaSError, match="DecodeError"):
        c.get("/health/")
    with pytest.raises(SaaSError, match=r"body unreadable \(DecodeError"):
        c.get("/health/", max_bytes=1000)
    assert slept == []


def test_every_gzip_member_is_decoded_and_trailing_garbage_dropped(server: _Redirector) -> None:
    """A body of two gzip members (then junk): both members, as urllib3 decodes them; read whole or bounded."""
    import gzip

    body = gzip.compress(b'{"first": 1, ') + gzip.compress(b'"second": 2}')
    two = Fault("status", status=200, headers={"Content-Encoding": "gzip"}, body=body)
    junk = Fault("status", status=200, headers={"Content-Encoding": "gzip"}, body=body + b"not gzip at all")
    server.inject("/health/", two, two, junk)
    c, _ = client(server.base_url)
    assert c.get("/health/").body == b'{"first": 1, "second": 2}'
    assert c.get("/health/", max_bytes=1000).body == b'{"first": 1, "second": 2}'
    assert c.get("/health/", max_bytes=1000).body == b'{"first": 1, "second": 2}'


def test_a_redirect_to_a_path_needing_quotes_is_followed(server: _Redirector) -> None:
    """A Location with a non-ASCII letter or a space: percent-encoded and followed (urllib3 does), never a crash."""
    server.target = "/h\u00e9alth dir/"
    c, _ = client(server.base_url)
    answer = c.get("/moved/")
    assert answer.status == 404  # the emulator has no such page; what matters is that it was asked
    assert server.requests[-1].path == "/h%C3%A9alth%20dir/"


def test_a_port_out_of_range_is_an_error_naming_the_url() -> None:
    """http://127.0.0.1:99999/: the configured error class (exit 3 for resolve-rc), not a traceback."""
    c, slept = client("http://127.0.0.1:99999", error_cls=PackageIndexError)
    with pytest.raises(PackageIndexError, match="127.0.0.1:99999"):
        c.get("/simple/")
    assert slept == []


def test_backoff_delay_arithmetic() -> None:
    """Retry-After seconds or date win (capped at 120 s); else factor * 2**(n-1)."""
    assert [backoff_delay(n, 0.5, None) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert backoff_delay(1, 0.5, "3") == 3.0
    assert backoff_delay(1, 0.5, "999") == 120.0
    assert backoff_delay(1, 0.5, "Wed, 25 Nov 2026 01:00:10 GMT", now=1795568400.0) == 10.0
    assert backoff_delay(2, 0.5, "soon") == 1.0
