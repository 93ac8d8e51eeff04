"""The read-only HTTP client: it can only send GET.

:class:`ReadOnlyClient` has one request method, :meth:`ReadOnlyClient.get`; the
method policy ``SAAS_ALLOWED_METHODS`` is checked before any request leaves, so
the SaaS preflight cannot write even by mistake.  Connect errors, read timeouts
and 502/503/504 are retried with exponential backoff (``Retry-After`` honoured),
within a total deadline, as a :class:`phase4gate.retry.RetryPolicy` decides
(``read_only_policy``); the delays go through an injected ``sleep`` so tests
assert them.  Redirects are followed only to the same scheme, host and port.
The index adapter reuses this client for its one GET.  The bytes travel through a
transport (:mod:`phase4gate.adapters.http_transport`): urllib3 by default, the
standard library's ``http.client`` for ``resolve-rc``'s single request.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, NamedTuple
from urllib.parse import urljoin, urlsplit

from phase4gate.adapters.http_transport import TransportFailure
from phase4gate.errors import AdapterError, SaaSError
from phase4gate.retry import RetryPolicy

if TYPE_CHECKING:
    from phase4gate.adapters.http_transport import Exchange, Transport
    from phase4gate.config import SaaSConfig

__all__ = [
    "RETRY_STATUSES",
    "SAAS_ALLOWED_METHODS",
    "HttpAnswer",
    "ReadOnlyClient",
    "backoff_delay",
    "read_only_policy",
    "user_agent",
    "with_credentials_of",
]

SAAS_ALLOWED_METHODS: Final = frozenset({"GET", "HEAD"})
RETRY_STATUSES: Final = frozenset({502, 503, 504})
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS: Final = 5
_MAX_RETRY_AFTER: Final = 120.0


@functools.cache
def user_agent() -> str:
    """Return ``phase4gate/<version>``, looked up once.

    The version is the name of the first ``phase4gate-<version>.dist-info`` folder on
    ``sys.path`` (the wheel layout), as ``importlib.metadata`` would find it, without
    parsing the whole METADATA file (~2 ms of each ``resolve-rc``, issue 23).
    """
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as listing:
                found = [e.name for e in listing if e.name.startswith("phase4gate-") and e.name.endswith(".dist-info")]
        except OSError:
            continue
        if len(found) == 1:
            return f"phase4gate/{found[0].removeprefix('phase4gate-').removesuffix('.dist-info')}"
        if found:
            break  # several versions side by side: let importlib.metadata choose
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return f"phase4gate/{version('phase4gate')}"
    except PackageNotFoundError:  # pragma: no cover - phase4gate runs installed
        return "phase4gate/0"


class HttpAnswer(NamedTuple):
    """One answer: status, headers, body (decoded from gzip), how long and how many tries.

    A frozen NamedTuple rather than an attrs class: this module is on ``resolve-rc``'s
    path, where importing attrs would cost ~15% of the whole run (issue 23).
    """

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    latency_seconds: float
    attempts: int

    def __repr__(self) -> str:
        """Show everything but the body (it may be large or carry what a log should not)."""
        return f"HttpAnswer(url={self.url!r}, status={self.status}, attempts={self.attempts})"

    def header(self, name: str) -> str | None:
        """Return header *name* (case-insensitive)."""
        return _header(self.headers, name)


def read_only_policy(*, retries: int = 3, backoff_factor: float = 0.5, deadline: float = 60.0) -> RetryPolicy:
    """Return the read-only client's policy: GET/HEAD only, 502/503/504, ``Retry-After`` capped at two minutes."""
    return RetryPolicy(
        max_retries=retries,
        backoff_factor=backoff_factor,
        backoff_max=math.inf,
        deadline=deadline,
        retry_after_cap=_MAX_RETRY_AFTER,
        retry_statuses=RETRY_STATUSES,
        methods=SAAS_ALLOWED_METHODS,
    )


def backoff_delay(attempt: int, factor: float, retry_after: str | None, *, now: float | None = None) -> float:
    """Return the delay before retry number *attempt* (1-based), as :func:`read_only_policy` computes it.

    ``Retry-After`` (seconds or an HTTP date) wins over ``factor * 2**(attempt-1)``;
    it is capped at two minutes.
    """
    policy = read_only_policy(backoff_factor=factor)
    after = policy.retry_after(retry_after or None, time.time() if now is None else now)
    return policy.backoff(attempt) if after is None else after


def _split_userinfo(url: str) -> tuple[str, str | None]:
    """Return *url* without ``user:password@`` and the matching ``Authorization: Basic`` value (None without)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    from base64 import b64encode  # noqa: PLC0415 - only for a credentialed URL
    from urllib.parse import unquote  # noqa: PLC0415

    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{parts.port}" if parts.port else ""
    token = b64encode(f"{user}:{password}".encode()).decode("ascii")
    return parts._replace(netloc=netloc).geturl(), f"Basic {token}"


def with_credentials_of(url: str, index_url: str) -> str:
    """Return *url* carrying *index_url*'s ``user:password@`` when both share an origin (else *url* as it is).

    A private index answers file URLs on its own host; pip and uv send the index's credentials there too.
    """
    source = urlsplit(index_url)
    target = urlsplit(url)
    if source.username is None or target.username is not None or _origin(url) != _origin(index_url):
        return url
    userinfo = source.netloc.rpartition("@")[0]
    return target._replace(netloc=f"{userinfo}@{target.netloc}").geturl()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    return parts.scheme, (parts.hostname or "").lower(), port


class ReadOnlyClient:
    """A GET-only HTTP client with retries, timeouts, a deadline and same-host redirects.

    *transport* builds what sends the bytes, given the default headers
    (:class:`phase4gate.adapters.http_transport.Urllib3Transport` when ``None``).
    """

    def __init__(  # noqa: PLR0913 - every knob is a keyword
        self,
        base_url: str = "",
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        deadline: float = 60.0,
        retries: int = 3,
        backoff_factor: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        error_cls: type[AdapterError] = SaaSError,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        epoch: Callable[[], float] = time.time,
        transport: Callable[[Mapping[str, str]], Transport] | None = None,
    ) -> None:
        self.base_url = base_url
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        # *policy* wins; *retries*, *backoff_factor* and *deadline* build one for callers that pass numbers.
        self.policy = (
            policy
            if policy is not None
            else read_only_policy(retries=retries, backoff_factor=backoff_factor, deadline=deadline)
        )
        self.deadline = self.policy.deadline
        self._sleep = sleep
        self._clock = clock
        self._epoch = epoch
        self._error = error_cls
        self._headers = {"User-Agent": user_agent(), **(headers or {})}
        if transport is None:
            from phase4gate.adapters.http_transport import Urllib3Transport  # noqa: PLC0415

            transport = Urllib3Transport
        # *transport* is given the default headers and builds the transport (urllib3's by default).
        self._transport = transport(self._headers)
        self.delays: list[float] = []

    @classmethod
    def from_config(
        cls,
        saas: SaaSConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        backoff_factor: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        epoch: Callable[[], float] = time.time,
    ) -> ReadOnlyClient:
        """Build the SaaS client from ``[saas]``."""
        return cls(
            saas.base_url,
            connect_timeout=saas.connect_timeout_seconds,
            read_timeout=saas.read_timeout_seconds,
            policy=read_only_policy(
                retries=saas.retries, backoff_factor=backoff_factor, deadline=saas.deadline_seconds
            ),
            sleep=sleep,
            clock=clock,
            epoch=epoch,
        )

    def url(self, path: str) -> str:
        """Return *path* resolved against the base URL."""
        return urljoin(self.base_url, path) if self.base_url else path

    def get(self, path: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None) -> HttpAnswer:
        """GET *path*; retried answers 502/503/504 come back as the last answer.

        With *max_bytes*, the body is streamed and refused past that many (decoded) bytes.

        Raises:
            SaaSError: (or the configured error class) no answer within retries and deadline,
                a TLS error, a redirect to another host, or a body over *max_bytes*.
        """
        return self._send("GET", self.url(path), headers or {}, max_bytes)

    def _read_capped(self, exchange: Exchange, url: str, max_bytes: int) -> bytes:
        """Read at most *max_bytes* decoded bytes of *exchange*; more is an error (the connection is dropped)."""
        length = _header(exchange.headers, "Content-Length") or ""
        if length.isdigit() and int(length) > max_bytes:
            exchange.drop()
            raise self._error(f"{url} answered more than {max_bytes} bytes; refused", url=url)
        try:
            data = exchange.read_capped(max_bytes)
        except TransportFailure as exc:
            raise self._error(f"GET {url}: body unreadable ({exc.detail})", url=url) from None
        if data is None:
            raise self._error(f"{url} answered more than {max_bytes} bytes; refused", url=url)
        return data

    def _send(self, method: str, url: str, headers: Mapping[str, str], max_bytes: int | None = None) -> HttpAnswer:
        if method not in SAAS_ALLOWED_METHODS:
            msg = (
                f"refused to send {method} {url}: this client is read-only ({', '.join(sorted(SAAS_ALLOWED_METHODS))})"
            )
            raise self._error(msg, url=url)
        _, auth = _split_userinfo(url)
        if auth is not None:
            # urllib3 ignores a URL's user:password: send it as HTTP Basic auth, to this origin only
            # (redirects never leave it); messages keep the URL, redacted to user:***@ when shown.
            headers = {**headers, "Authorization": auth}
        start = self._clock()
        attempt = 0
        current = url
        redirects = 0
        while True:
            attempt += 1
            t0 = self._clock()
            try:
                resp = self._transport.send(
                    method,
                    _split_userinfo(current)[0],
                    {**self._headers, **headers},
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout,
                    preload=max_bytes is None,
                )
            except TransportFailure as exc:
                if exc.kind == "tls":
                    raise self._error(f"TLS error talking to {current}: {exc.detail}", url=current) from None
                why = _DESCRIBED.get(exc.kind)
                if why is None:
                    raise self._error(f"{method} {current}: {exc.detail}", url=current) from None
                if exc.kind == "broken":
                    why = f"{why} ({exc.detail})"
                delay = self._within_deadline(self.policy.connection_delay(method, attempt=attempt), start)
                if delay is None:
                    msg = f"{method} {current}: {why} (after {attempt} attempt(s) within {self.deadline:g}s)"
                    where = "saas.base_url" if self._error is SaaSError else "the URL"
                    raise self._error(msg, url=current, hint=f"is the service up? see {where}") from None
                self._pause(delay)
                continue
            latency = self._clock() - t0
            if resp.status in _REDIRECTS:
                if max_bytes is not None:
                    resp.drop()  # a streamed body is not read: drop the connection
                location = _header(resp.headers, "Location")
                if not location:
                    raise self._error(f"{current} answered {resp.status} without a Location", url=current)
                target = urljoin(current, location)
                if _origin(target) != _origin(url):
                    msg = f"{current} redirected to another host ({target.split('?', 1)[0]}); refused"
                    raise self._error(msg, url=current)
                redirects += 1
                if redirects > _MAX_REDIRECTS:
                    raise self._error(f"{url}: more than {_MAX_REDIRECTS} redirects", url=url)
                current = target
                continue
            retry_in = self.policy.delay_for(
                method, resp.status, dict(resp.headers), "", attempt=attempt, now_epoch=self._epoch()
            )
            delay = self._within_deadline(retry_in, start)
            if delay is not None:
                if max_bytes is not None:
                    resp.drop()  # a streamed body is not read: drop the connection
                self._pause(delay)
                continue
            return HttpAnswer(
                url=current,
                status=resp.status,
                headers=dict(resp.headers),
                body=resp.body() if max_bytes is None else self._read_capped(resp, current, max_bytes),
                latency_seconds=latency,
                attempts=attempt,
            )

    def _within_deadline(self, delay: float | None, start: float) -> float | None:
        """Return *delay*, or None when there is none or it would pass the deadline."""
        if delay is None or not self.policy.within_deadline(self._clock() - start, delay):
            return None
        return delay

    def _pause(self, delay: float) -> None:
        self.delays.append(delay)
        self._sleep(delay)

    def close(self) -> None:
        """Close the transport's connections."""
        self._transport.close()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Return header *name* of *headers* (case-insensitive, as HTTP names are)."""
    lower = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lower), None)


# How a retried transport failure is described (``tls``, ``body`` and ``other`` are not retried).
_DESCRIBED: Final = {
    "read-timeout": "read timed out",
    "connect": "connection refused or unreachable",
    "connect-timeout": "connect timed out",
    "broken": "connection broken",
}
