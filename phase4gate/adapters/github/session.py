"""github3's session with the project's retry policy, a deadline, ETag caching and a request count.

github3.py 4.0.1 retries nothing and never reads rate-limit headers; :class:`RetryingSession`
retries 5xx (idempotent methods only) and rate limits as :class:`phase4gate.retry.RetryPolicy`
decides, within its deadline; every delay goes through the injected ``sleep``.  A 304 ends a
github3 listing silently empty, so the session keeps each GET's ETag and body and turns a 304
back into the cached 200 (GitHub does not count a 304 against the rate limit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import requests
from github3.session import GitHubSession

from phase4gate.errors import GitHubError
from phase4gate.retry import RetryPolicy

__all__ = ["RetryingSession", "url_path"]

LOG = logging.getLogger("phase4gate.github")


class RetryingSession(GitHubSession):  # type: ignore[misc]  # github3 is untyped
    """github3's session with retries, a deadline, ETag caching and a request count."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        timeout: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        epoch: Callable[[], float],
    ) -> None:
        super().__init__(default_connect_timeout=timeout, default_read_timeout=timeout)
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self.epoch = epoch
        self.context = "GitHub"
        self.attempts = 0
        self.delays: list[float] = []
        self._etags: dict[str, tuple[str, requests.Response]] = {}

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # noqa: ANN401 - requests' signature
        """Send *method* *url*, retrying within the policy; answer 304s from the ETag cache.

        Raises:
            GitHubError: the deadline or the retries ran out, or the connection kept failing.
        """
        method = method.upper()
        key = None
        if method == "GET":
            params = kwargs.get("params") or {}
            key = url + ("?" + urlencode(sorted(params.items())) if params else "")
            cached = self._etags.get(key)
            if cached is not None:
                kwargs["headers"] = {**(kwargs.get("headers") or {}), "If-None-Match": cached[0]}
        start = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response: requests.Response = super().request(method, url, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                self.attempts += 1
                what = f"{type(exc).__name__}"
                retry_in = self.policy.connection_delay(method, attempt=attempt)
                if retry_in is None:
                    raise self._give_up(method, url, attempt, f"the connection failed ({what})", None) from None
                self._wait(retry_in, start, method, url, attempt=attempt, last=what, status=None)
                continue
            self.attempts += 1 + len(response.history)
            if response.status_code == 304 and key is not None and key in self._etags:
                return self._etags[key][1]
            body = response.text if response.status_code >= 400 else ""
            delay = self.policy.delay_for(
                method, response.status_code, response.headers, body, attempt=attempt, now_epoch=self.epoch()
            )
            if delay is None:
                if key is not None and response.status_code == 200 and response.headers.get("ETag"):
                    self._etags[key] = (response.headers["ETag"], response)
                return response
            self._wait(
                delay,
                start,
                method,
                url,
                attempt=attempt,
                last=f"HTTP {response.status_code}",
                status=response.status_code,
            )

    def _wait(  # noqa: PLR0913 - private; one retry's facts
        self, delay: float, start: float, method: str, url: str, *, attempt: int, last: str, status: int | None
    ) -> None:
        elapsed = self.clock() - start
        if not self.policy.within_deadline(elapsed, delay):
            reason = f"{last}; waiting {delay:g}s more would pass the {self.policy.deadline:g}s deadline"
            raise self._give_up(method, url, attempt, reason, status)
        LOG.info("%s: %s %s answered %s; retrying in %gs", self.context, method, url_path(url), last, delay)
        self.pause(delay)

    def pause(self, delay: float) -> None:
        """Wait *delay* seconds through the injected ``sleep``, and record it in ``delays``."""
        self.delays.append(delay)
        self.sleep(delay)

    def _give_up(self, method: str, url: str, attempt: int, reason: str, status: int | None) -> GitHubError:
        return GitHubError(
            f"{self.context}: {method} {url_path(url)} gave up after {attempt} attempt(s): {reason}",
            url=url,
            status=status,
            hint="GitHub is unavailable or rate-limiting this token; re-run later (the gate resumes)",
        )


def url_path(url: str) -> str:
    """Return *url* without its query (what messages and logs show)."""
    return url.split("?", 1)[0]
