"""The SaaS emulator: ``/health/`` and ``/health/ready/`` with the real body shapes.

States (``STATES``), chosen with ``SaaSEmulator(state=...)`` or ``.set_state(name)``:

``healthy``         200/200, events 5.1.0, drain counts 0 and 22
``not-ready``       ``/health/ready/`` 503, ``status`` "not_ready" (redis down)
``degraded``        ``/health/ready/`` 503, ``drain_queue.status`` "degraded"
``counts-off``      200/200 but ``business_rule_rejected_count`` 23 (historical rows changed)
``events-too-old``  ``spec_kitty_events`` 5.0.2
``slow``            every health answer waits ``slow_seconds`` first (a client timeout fires)
``503``             both endpoints 503 with ``Retry-After: 1``
``malformed``       ``/health/`` 200 with a body that is not JSON
``redeployed``      healthy, and redeployed right after the first ``/health/`` answer

``.redeploy()`` gives a new ``git_sha`` and ``build_timestamp``;
``.schedule_redeploy(after_health_gets=N)`` redeploys once N more ``/health/`` GETs
have been answered.  ``GET /__sandbox/state`` serves ``.extra`` (a free-form dict
other sandbox parts read) as JSON.  The request log (``.requests``) proves which
methods a client sent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from typing import Any, Final

from phase4gate.sandbox._server import EmulatorServer, Request, Response

__all__ = ["STATES", "SaaSEmulator"]

STATES: Final = (
    "healthy",
    "not-ready",
    "degraded",
    "counts-off",
    "events-too-old",
    "slow",
    "503",
    "malformed",
    "redeployed",
)
_FIRST_BUILD: Final = dt.datetime(2026, 5, 19, 8, 14, 0, tzinfo=dt.UTC)


class SaaSEmulator(EmulatorServer):
    """The SaaS's health endpoints in a chosen state."""

    name = "saas"

    def __init__(self, state: str = "healthy", *, slow_seconds: float = 2.0) -> None:
        super().__init__()
        self.slow_seconds = slow_seconds
        self.extra: dict[str, Any] = {}
        self.deploys = 0
        self.git_sha = ""
        self.build_timestamp = ""
        self._redeploy_after: int | None = None
        self.state = "healthy"
        self._new_build()
        self.set_state(state)

    @property
    def base_url(self) -> str:
        """The SaaS base URL (``saas.base_url``)."""
        return self.origin

    def set_state(self, state: str) -> None:
        """Answer as *state* from now on.

        Raises:
            ValueError: unknown state.
        """
        if state not in STATES:
            msg = f"unknown SaaS state {state!r}; expected one of {', '.join(STATES)}"
            raise ValueError(msg)
        with self._lock:
            self.state = state
            if state == "redeployed":
                self._redeploy_after = 1

    def _new_build(self) -> None:
        self.deploys += 1
        self.git_sha = hashlib.sha1(f"saas-deploy-{self.deploys}".encode(), usedforsecurity=False).hexdigest()
        stamp = _FIRST_BUILD + dt.timedelta(minutes=6 * (self.deploys - 1))
        self.build_timestamp = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")

    def redeploy(self) -> str:
        """Deploy a new build now; return its ``git_sha``."""
        with self._lock:
            self._new_build()
            return self.git_sha

    def schedule_redeploy(self, after_health_gets: int) -> None:
        """Redeploy once *after_health_gets* more ``/health/`` GETs have been answered (0: now)."""
        with self._lock:
            if after_health_gets <= 0:
                self._new_build()
                self._redeploy_after = None
            else:
                self._redeploy_after = after_health_gets

    # ---------------------------------------------------------------- bodies

    def health_body(self) -> dict[str, Any]:
        """The ``/health/`` body of the current state."""
        return {
            "status": "ok",
            "service": "spec-kitty-saas",
            "version": "2026.05.19",
            "git_sha": self.git_sha,
            "build_timestamp": self.build_timestamp,
            "spec_kitty_events": "5.0.2" if self.state == "events-too-old" else "5.1.0",
            "environment": "dev",
        }

    def ready_body(self) -> tuple[int, dict[str, Any]]:
        """The ``/health/ready/`` status and body of the current state."""
        ok = {"status": "ok"}
        drain: dict[str, Any] = {
            "status": "ok",
            "oldest_pending_age_seconds": 0,
            "retryable_count": 0,
            "terminal_failed_count": 0,
            "business_rule_rejected_count": 23 if self.state == "counts-off" else 22,
        }
        deps: dict[str, Any] = {
            "postgres": dict(ok),
            "redis": dict(ok),
            "channel_layer": dict(ok),
            "celery_broker": dict(ok),
            "drain_queue": drain,
        }
        if self.state == "not-ready":
            deps["redis"] = {"status": "error", "error": "Connection refused"}
            return 503, {"status": "not_ready", "dependencies": deps}
        if self.state == "degraded":
            drain.update(status="degraded", oldest_pending_age_seconds=1843, retryable_count=57)
            return 503, {"status": "degraded", "dependencies": deps}
        return 200, {"status": "ready", "dependencies": deps}

    # ---------------------------------------------------------------- routes

    def handle(self, request: Request) -> Response:
        """Serve the health endpoints and ``/__sandbox/state``; refuse every write."""
        if request.method not in {"GET", "HEAD"}:
            return Response.json({"detail": f"Method {request.method!r} not allowed."}, status=405)
        if request.path == "/__sandbox/state":
            with self._lock:
                return Response.json(dict(self.extra))
        if request.path not in {"/health/", "/health/ready/"}:
            return Response.json({"detail": "Not found."}, status=404)
        with self._lock:
            state = self.state
        if state == "slow":
            time.sleep(self.slow_seconds)
        if state == "503":
            return Response(503, b"Service Unavailable", {"Content-Type": "text/plain", "Retry-After": "1"})
        if request.path == "/health/":
            return self._health(state, request.method)
        status, body = self.ready_body()
        return Response.json(body, status=status)

    def _health(self, state: str, method: str) -> Response:
        with self._lock:
            if state == "malformed":
                response = Response(200, b'{"status": "ok", "git_sha": "4f2a', {"Content-Type": "application/json"})
            else:
                response = Response.json(self.health_body())
            if method == "GET" and self._redeploy_after is not None:
                self._redeploy_after -= 1
                if self._redeploy_after <= 0:
                    self._redeploy_after = None
                    self._new_build()
        return response
