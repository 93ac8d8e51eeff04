"""The standard-library transport's body decoder: gzip, zlib and raw deflate, identity, in bounded pieces."""

from __future__ import annotations

import gzip
import zlib

import pytest

from phase4gate.adapters.http_transport import StdlibTransport, TransportFailure, _Decoder

BODY = b"spec-kitty-cli " * 5000


def _deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(
    ("encoding", "wire"),
    [
        ("gzip", gzip.compress(BODY)),
        ("x-gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", _deflate_raw(BODY)),
        ("", BODY),
        ("identity", BODY),
    ],
    ids=["gzip", "x-gzip", "zlib-deflate", "raw-deflate", "absent", "identity"],
)
def test_decoded_in_pieces_never_larger_than_asked(encoding: str, wire: bytes) -> None:
    """Fed in small raw chunks and asked for at most 1000 bytes at a time, the decoder gives back the body."""
    decoder = _Decoder(encoding)
    out = b""
    pieces = [wire[i : i + 333] for i in range(0, len(wire), 333)]
    for raw in pieces:
        piece = decoder.feed(raw, 1000)
        assert len(piece) <= 1000
        out += piece
        while decoder.pending:
            piece = decoder.feed(b"", 1000)
            assert len(piece) <= 1000
            out += piece
    out += decoder.finish()
    assert out == BODY


def test_corrupt_gzip_raises_zlib_error() -> None:
    """A body that says gzip and is not: zlib.error (the transport reports it as a DecodeError)."""
    with pytest.raises(zlib.error):
        _Decoder("gzip").feed(b"not gzip at all", 100)


def test_gzip_members_and_trailing_garbage_in_small_pieces() -> None:
    """Two gzip members then junk, fed 7 bytes at a time and read 5 at a time: both members, the junk dropped."""
    wire = gzip.compress(b"first member, ") + gzip.compress(b"second member") + b"trailing junk"
    decoder = _Decoder("gzip")
    out = b""
    for i in range(0, len(wire), 7):
        out += decoder.feed(wire[i : i + 7], 5)
        while decoder.pending:
            out += decoder.feed(b"", 5)
    out += decoder.finish()
    assert out == b"first member, second member"


def test_a_stacked_encoding_is_refused() -> None:
    """``gzip, gzip``: refused by name rather than returned still compressed."""
    with pytest.raises(TransportFailure, match="stacked Content-Encoding 'gzip, gzip'"):
        _Decoder("gzip, gzip")


@pytest.mark.parametrize(
    ("url", "host", "port", "target"),
    [
        ("http://[::1]/simple/", "::1", 80, "/simple/"),
        ("https://[2001:db8::1]/simple/?a=b c", "2001:db8::1", 443, "/simple/?a=b%20c"),
        ("http://127.0.0.1:8080/h\u00e9/", "127.0.0.1", 8080, "/h%C3%A9/"),
        ("http://example.invalid", "example.invalid", 80, "/"),
    ],
)
def test_the_connection_goes_to_the_urls_host_and_port(url: str, host: str, port: int, target: str) -> None:
    """IPv6 hosts without a port get the scheme's port (not a hextet); the target is quoted as urllib3 quotes it."""
    conn, got = StdlibTransport._connection(url, 1.0)
    assert (conn.host, conn.port, got) == (host, port, target)


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "ftp://127.0.0.1/", "http:///nohost"])
def test_a_bad_url_is_a_transport_failure(url: str) -> None:
    """Port out of range, another scheme, no host: TransportFailure ('other'), which the client reports."""
    with pytest.raises(TransportFailure) as excinfo:
        StdlibTransport._connection(url, 1.0)
    assert excinfo.value.kind == "other"
