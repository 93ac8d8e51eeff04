"""The standard-library transport's body decoder: gzip, zlib and raw deflate, identity, in bounded pieces."""

from __future__ import annotations

import gzip
import zlib

import pytest

from phase4gate.adapters.http_transport import _Decoder

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
