"""How the read-only client's bytes travel: urllib3, or the standard library for a one-request command.

:class:`phase4gate.adapters.http.ReadOnlyClient` owns the whole policy (GET only,
retries, the deadline, same-origin redirects, credentials, the size bound).  A
transport only sends one request and hands back one :class:`Exchange`, or raises
:class:`TransportFailure` saying, in the client's terms, what went wrong
(``kind``: ``tls``, ``connect``, ``connect-timeout``, ``read-timeout``,
``broken``, ``body``, ``other``); the client decides what is retried.

* :class:`Urllib3Transport` (the default): a pooled ``urllib3.PoolManager``, what
  the gate and every long-lived client use.
* :class:`StdlibTransport`: ``http.client``, one connection per request, gzip and
  deflate decoded in bounded pieces.  ``phase4gate resolve-rc`` makes one GET per
  process, where importing urllib3 costs more than the request itself (about 40 ms
  of a 100 ms run, issue 23).  It answers as the urllib3 transport does in every case
  ``tests/integration/release/test_http_client.py`` runs on both (faults, gzip members,
  redirects, odd URLs); a stacked Content-Encoding is refused rather than decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import http.client

    import urllib3

__all__ = ["Exchange", "StdlibTransport", "Transport", "TransportFailure", "Urllib3Transport"]

_CHUNK: Final = 64 * 1024
# What urllib3 leaves unquoted in a path and a query (its ``util.url`` sets): the rest is percent-encoded.
_PATH_SAFE: Final = "/%:@!$&'()*+,;=~"
_QUERY_SAFE: Final = "/?%:@!$&'()*+,;=~"


class TransportFailure(Exception):  # noqa: N818 - a failure the client classifies, not an error of its own
    """One request failed before an answer could be used; *kind* says how, *detail* what was seen."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class Exchange(Protocol):
    """One answer, its body read already (``body``) or still on the connection (``read_capped``)."""

    status: int
    headers: Mapping[str, str]

    def body(self) -> bytes:
        """Return the decoded body read with the answer (``preload=True``)."""
        ...

    def read_capped(self, max_bytes: int) -> bytes | None:
        """Read at most *max_bytes* decoded bytes; ``None`` when there are more (the connection is dropped).

        Raises:
            TransportFailure: (``body``) the body could not be read or decoded.
        """
        ...

    def drop(self) -> None:
        """Drop the answer unread (its connection is closed)."""
        ...


class Transport(Protocol):
    """Send one request; the client's policy decides everything else."""

    def send(  # noqa: PLR0913 - one request's facts, each a keyword
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
        preload: bool,
    ) -> Exchange:
        """Send *method* *url*; with *preload*, read the whole body before returning.

        Raises:
            TransportFailure: no usable answer.
        """
        ...

    def close(self) -> None:
        """Close every connection kept."""
        ...


# --------------------------------------------------------------------------- urllib3


class _Urllib3Exchange:
    def __init__(self, resp: urllib3.BaseHTTPResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.headers: Mapping[str, str] = dict(resp.headers.items())

    def body(self) -> bytes:
        return self._resp.data

    def read_capped(self, max_bytes: int) -> bytes | None:
        from urllib3.exceptions import HTTPError  # noqa: PLC0415

        try:
            data = self._resp.read(max_bytes + 1, decode_content=True)
            over = len(data) > max_bytes or bool(self._resp.read(1, decode_content=True))
        except HTTPError as exc:
            self._resp.close()
            raise TransportFailure("body", type(exc).__name__) from None
        if over:
            self._resp.close()
            return None
        self._resp.release_conn()
        return data

    def drop(self) -> None:
        self._resp.close()


class Urllib3Transport:
    """urllib3's pooled connections (no retries, no redirects: the client decides both)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        import urllib3  # noqa: PLC0415 - only a client that sends imports urllib3

        self._pool = urllib3.PoolManager(retries=False, headers=dict(headers))

    def send(  # noqa: PLR0913 - the Transport signature
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
        preload: bool,
    ) -> Exchange:
        """Send through the pool; urllib3's exceptions become :class:`TransportFailure`."""
        import urllib3  # noqa: PLC0415
        from urllib3.exceptions import (  # noqa: PLC0415
            ConnectTimeoutError,
            HTTPError,
            NewConnectionError,
            ProtocolError,
            ReadTimeoutError,
            SSLError,
        )

        try:
            resp = self._pool.request(
                method,
                url,
                headers=dict(headers),
                timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
                redirect=False,
                retries=False,
                preload_content=preload,
            )
        except SSLError as exc:
            raise TransportFailure("tls", str(exc)) from None
        except ReadTimeoutError:
            raise TransportFailure("read-timeout", "ReadTimeoutError") from None
        # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: test it first.
        except NewConnectionError:
            raise TransportFailure("connect", "NewConnectionError") from None
        except ConnectTimeoutError:
            raise TransportFailure("connect-timeout", "ConnectTimeoutError") from None
        except ProtocolError as exc:
            raise TransportFailure("broken", type(exc).__name__) from None
        except HTTPError as exc:
            raise TransportFailure("other", f"{type(exc).__name__}: {exc}") from None
        return _Urllib3Exchange(resp)

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()


# --------------------------------------------------------------------------- the standard library


class _Decoder:
    """Content-Encoding gzip (every member) / deflate / identity, decoded in pieces no larger than asked.

    As urllib3's decoders: a gzip body's later members are decoded too and trailing garbage
    after the first member is dropped; deflate is tried with its zlib header, then raw.  A
    stacked encoding (``gzip, gzip``) is refused (:class:`TransportFailure`), not guessed at.
    """

    def __init__(self, encoding: str) -> None:
        import zlib  # noqa: PLC0415

        enc = encoding.strip().lower()
        self._zlib = zlib
        self._raw_deflate = False
        self._gzip = enc in {"gzip", "x-gzip"}
        self._later_member = False
        self._done = False
        if "," in enc:
            raise TransportFailure("other", f"unsupported stacked Content-Encoding {encoding[:40]!r}")
        if self._gzip:
            self._d: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self._d = zlib.decompressobj()
            self._raw_deflate = True  # some servers send raw deflate: retried once without the zlib header
        else:  # identity, absent, or one urllib3 would pass through undecoded too
            self._d = None
        self._pending = b""

    def feed(self, raw: bytes, limit: int) -> bytes:
        """Decode *raw* (plus what is pending), returning at most *limit* (>= 1) bytes; the rest stays pending."""
        data = self._pending + raw
        if self._d is None:
            self._pending = data[limit:]
            return data[:limit]
        if self._done:  # trailing garbage after a gzip member: dropped, as urllib3 does
            self._pending = b""
            return b""
        out = b""
        while True:
            try:
                out += self._d.decompress(data, limit - len(out))
            except self._zlib.error:
                if self._later_member:
                    self._done, self._pending = True, b""
                    return out
                if not self._raw_deflate:
                    raise
                self._raw_deflate = False
                self._d = self._zlib.decompressobj(-self._zlib.MAX_WBITS)
                continue
            self._raw_deflate = False
            if self._gzip and self._d.eof and self._d.unused_data:
                # Another gzip member follows: decode it too.
                data = self._d.unused_data
                self._d = self._zlib.decompressobj(16 + self._zlib.MAX_WBITS)
                self._later_member = True
                if len(out) >= limit:
                    self._pending = data
                    return out
                continue
            self._pending = self._d.unconsumed_tail
            return out

    def finish(self) -> bytes:
        """Return what the decompressor still holds once the raw body has ended (nothing is pending then)."""
        return self._d.flush() if self._d is not None and not self._done else b""

    @property
    def pending(self) -> bool:
        """Whether decoded output is still waiting (more than the last limit)."""
        return bool(self._pending)


class _StdlibExchange:
    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self._conn = conn
        self._resp = resp
        self.status = resp.status
        # A repeated header keeps its last value, as ``dict(urllib3 headers.items())`` does.
        self.headers: Mapping[str, str] = dict(resp.getheaders())
        encoding = next((v for k, v in self.headers.items() if k.lower() == "content-encoding"), "")
        self._decoder = _Decoder(encoding)
        self._data = b""

    def _read(self, limit: int, failure: str) -> bytes | None:
        """Return the decoded body if it is at most *limit* bytes, else ``None``."""
        import http.client  # noqa: PLC0415
        import zlib  # noqa: PLC0415

        out = bytearray()
        try:
            while True:
                room = limit + 1 - len(out)
                if self._decoder.pending:
                    out += self._decoder.feed(b"", room)
                    if len(out) > limit:
                        return None
                    continue
                raw = self._resp.read(_CHUNK)
                if not raw:
                    if self._resp.length:  # read(n) ends quietly on a body cut short of its Content-Length
                        raise http.client.IncompleteRead(bytes(out), self._resp.length)
                    out += self._decoder.finish()
                    return None if len(out) > limit else bytes(out)
                out += self._decoder.feed(raw, room)
                if len(out) > limit:
                    return None
        except TimeoutError:
            raise TransportFailure("read-timeout" if failure == "broken" else failure, "timed out") from None
        except zlib.error as exc:
            raise TransportFailure("other" if failure == "broken" else failure, f"DecodeError: {exc}") from None
        except (http.client.HTTPException, OSError) as exc:
            raise TransportFailure(failure, type(exc).__name__) from None
        finally:
            if len(out) > limit:
                self.drop()

    def preload(self, limit: int) -> None:
        data = self._read(limit, "broken")
        self.drop()
        if data is None:  # pragma: no cover - the limit is larger than any index page or health body
            raise TransportFailure("other", f"body over {limit} bytes")
        self._data = data

    def body(self) -> bytes:
        return self._data

    def read_capped(self, max_bytes: int) -> bytes | None:
        try:
            return self._read(max_bytes, "body")
        finally:
            self.drop()

    def drop(self) -> None:
        self._conn.close()


# An unbounded read (a GET without max_bytes) still stops somewhere: 1 GiB decoded.
_PRELOAD_LIMIT: Final = 1 << 30


class StdlibTransport:
    """``http.client``: a new connection per request, closed once the answer is read or dropped."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def send(  # noqa: PLR0913 - the Transport signature
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
        preload: bool,
    ) -> Exchange:
        """Connect, send, read the status line and headers (and, with *preload*, the body)."""
        import http.client  # noqa: PLC0415

        conn, target = self._connection(url, connect_timeout)
        try:
            self._connect(conn, read_timeout)
            try:
                conn.request(method, target, headers={**self._headers, **headers})
                resp = conn.getresponse()
            except TimeoutError:
                raise TransportFailure("read-timeout", "timed out") from None
            except (http.client.InvalidURL, UnicodeError, ValueError) as exc:
                raise TransportFailure("other", f"invalid request ({type(exc).__name__})") from None
            except (http.client.HTTPException, OSError) as exc:
                raise TransportFailure("broken", type(exc).__name__) from None
            exchange = _StdlibExchange(conn, resp)
            if preload:
                exchange.preload(_PRELOAD_LIMIT)
        except BaseException:
            conn.close()
            raise
        return exchange

    @staticmethod
    def _connection(url: str, connect_timeout: float) -> tuple[http.client.HTTPConnection, str]:
        """Return an unconnected connection to *url*'s origin and the request target, quoted as urllib3 quotes it.

        Raises:
            TransportFailure: (``other``) a scheme other than http(s), a port out of range, a bad host.
        """
        import http.client  # noqa: PLC0415

        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)  # explicit: an IPv6 host has colons
            host = parts.hostname or ""
            if not host:
                raise ValueError("no host")  # noqa: TRY301 - one message for every bad URL
            if parts.scheme == "https":
                import ssl  # noqa: PLC0415

                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    host, port, timeout=connect_timeout, context=ssl.create_default_context()
                )
            elif parts.scheme == "http":
                conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
            else:
                raise TransportFailure("other", f"unsupported URL scheme {parts.scheme!r}")
        except (ValueError, UnicodeError, http.client.InvalidURL) as exc:
            raise TransportFailure("other", f"invalid URL ({exc})") from None
        path = quote(parts.path or "/", safe=_PATH_SAFE)
        return conn, path + (f"?{quote(parts.query, safe=_QUERY_SAFE)}" if parts.query else "")

    @staticmethod
    def _connect(conn: http.client.HTTPConnection, read_timeout: float) -> None:
        import ssl  # noqa: PLC0415 - http.client imports it already

        try:
            conn.connect()
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise TransportFailure("tls", str(exc)) from None
        except TimeoutError:
            raise TransportFailure("connect-timeout", "timed out") from None
        except OSError as exc:
            raise TransportFailure("connect", type(exc).__name__) from None
        if conn.sock is not None:
            conn.sock.settimeout(read_timeout)

    def close(self) -> None:
        """Nothing is kept between requests."""
