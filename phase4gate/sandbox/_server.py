"""The shared base of every sandbox emulator: a real HTTP server on 127.0.0.1.

Each emulator subclasses :class:`EmulatorServer` and implements
``handle(request) -> Response``.  The base gives:

* a ``ThreadingHTTPServer`` bound to ``127.0.0.1`` on a free port, started in a
  thread, ready-event waited on with a bound, stopped cleanly (context manager);
* a request log (method, path, headers, body) so tests count calls and prove who
  wrote what (``requests``);
* fault injection per route prefix, consumed in order (:class:`Fault`): a status
  with headers (5xx, 403/429 rate limits), a delay, a malformed body, a truncated
  body, or a connection reset.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Final, Self

from attrs import define, field, frozen

__all__ = ["READY_TIMEOUT_SECONDS", "EmulatorServer", "Fault", "RecordedRequest", "Request", "Response"]

READY_TIMEOUT_SECONDS: Final = 10.0


@frozen
class Request:
    """One request as a handler sees it."""

    method: str
    path: str  # without the query string
    query: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:  # noqa: ANN401 - request bodies are JSON of any shape
        """Decode the body as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        """Return header *name* (case-insensitive)."""
        lower = name.lower()
        for k, v in self.headers.items():
            if k.lower() == lower:
                return v
        return None


@frozen
class Response:
    """What a handler answers."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(factory=dict)

    @classmethod
    def json(cls, data: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        """Answer *data* as JSON."""
        hdrs = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(data).encode("utf-8"), hdrs)


@frozen
class RecordedRequest:
    """A request as logged by the emulator."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    status: int
    time: float


@frozen
class Fault:
    """An injected fault, consumed by the next matching request.

    ``kind``: ``status`` (answer ``status`` with ``headers`` and ``body``),
    ``delay`` (sleep ``seconds`` then answer normally), ``malformed`` (answer 200
    with a body that is not valid JSON), ``truncated`` (announce a longer body
    than is sent, then close), ``reset`` (close the connection with a TCP RST),
    ``observe`` (call ``observe(request)`` then answer normally: a test looks at the
    world at the moment the request arrives).
    """

    kind: str
    status: int = 500
    headers: Mapping[str, str] = field(factory=dict)
    body: bytes = b'{"message": "Server Error"}'
    seconds: float = 0.0
    observe: Callable[[Request], None] | None = field(default=None, eq=False, repr=False)


@define
class _FaultQueue:
    prefix: str
    method: str | None
    faults: list[Fault]


class EmulatorServer:
    """Base class: subclasses implement :meth:`handle`."""

    name: ClassVar[str] = "emulator"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._faults: list[_FaultQueue] = []
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._server is None:
            msg = f"{self.name} is not running"
            raise RuntimeError(msg)
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in a thread; wait (bounded) until ready."""
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without TCP_NODELAY every answer waits ~40 ms on Nagle + delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002, ARG002 - stdlib signature
                return

            def _serve(self) -> None:
                emulator._dispatch(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve  # noqa: N815

        ready = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True

        def _run() -> None:
            ready.set()
            assert self._server is not None  # noqa: S101 - set just above
            self._server.serve_forever(poll_interval=0.05)

        self._thread = threading.Thread(target=_run, name=f"{self.name}-server", daemon=True)
        self._thread.start()
        if not ready.wait(READY_TIMEOUT_SECONDS):
            msg = f"{self.name} did not start within {READY_TIMEOUT_SECONDS}s"
            raise RuntimeError(msg)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(READY_TIMEOUT_SECONDS)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- faults and log

    def inject(self, prefix: str, *faults: Fault, method: str | None = None) -> None:
        """Queue *faults* for the next requests whose path starts with *prefix* (and *method*)."""
        with self._lock:
            self._faults.append(_FaultQueue(prefix, method.upper() if method else None, list(faults)))

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def _next_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for q in self._faults:
                if path.startswith(q.prefix) and (q.method is None or q.method == method) and q.faults:
                    return q.faults.pop(0)
        return None

    def count(self, method: str | None = None, prefix: str = "") -> int:
        """Count logged requests by method and path prefix."""
        with self._lock:
            return sum(
                1 for r in self.requests if (method is None or r.method == method.upper()) and r.path.startswith(prefix)
            )

    # ---------------------------------------------------------------- dispatch

    def handle(self, request: Request) -> Response:  # noqa: ARG002 - subclasses use it
        """Answer *request*; subclasses override."""
        return Response.json({"message": "Not Found"}, status=404)

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        raw_path = h.path
        path, _, query = raw_path.partition("?")
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = dict(h.headers.items())
        request = Request(h.command, path, query, headers, body)
        fault = self._next_fault(h.command, path)
        if fault is not None and fault.kind == "reset":
            self._log(request, 0)
            sock = h.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            sock.close()
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "observe":
            if fault.observe is not None:
                fault.observe(request)
            fault = None
        if fault is not None and fault.kind == "status":
            response = Response(fault.status, fault.body, {"Content-Type": "application/json", **fault.headers})
        else:
            try:
                response = self.handle(request)
            except Exception as exc:  # noqa: BLE001 - an emulator bug answers 500, visibly
                response = Response.json({"message": f"emulator error: {type(exc).__name__}: {exc}"}, status=500)
            if fault is not None and fault.kind == "malformed":
                response = Response(200, b'{"this is": not json', {"Content-Type": "application/json"})
        self._log(request, response.status)
        payload = b"" if h.command == "HEAD" else response.body
        h.send_response(response.status)
        for k, v in response.headers.items():
            h.send_header(k, v)
        if fault is not None and fault.kind == "truncated":
            h.send_header("Content-Length", str(len(payload) + 100))
            h.end_headers()
            h.wfile.write(payload[: max(1, len(payload) // 2)])
            h.wfile.flush()
            h.close_connection = True
            return
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _log(self, request: Request, status: int) -> None:
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    request.query,
                    dict(request.headers),
                    request.body,
                    status,
                    time.monotonic(),
                )
            )
