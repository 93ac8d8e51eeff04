"""HTTP for the Actions executor (urllib3): one retry policy, rate limits honoured, every request counted.

:class:`Transport` sends one request at a time and asks the one
:class:`phase4gate.retry.RetryPolicy` after each answer whether and how long to wait:
5xx and dropped connections are retried for idempotent methods only (a dispatch
POST may have landed: the executor reconciles through the correlation id instead);
``Retry-After``, ``x-ratelimit-reset`` and secondary rate limits (403/429) are
waited out for every method, within the policy's deadline.  Every wait goes through
the injected ``sleep``; every request sent is counted by *kind* (the bench row), a
304 apart.  Redirects are never followed here: the client decides (a signed
artifact URL is fetched without the ``Authorization`` header).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

import urllib3
from urllib3.exceptions import HTTPError

from phase4gate.errors import GitHubError, redact
from phase4gate.retry import RetryPolicy

__all__ = ["Answer", "Transport"]

LOG = logging.getLogger("phase4gate.actions")
_MAX_BODY_SHOWN: Final = 300


class Answer(NamedTuple):
    """One HTTP answer: status, headers (lower-case names), body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return header *name* (case-insensitive)."""
        return self.headers.get(name.lower())

    def json(self) -> object:
        """Return the body decoded as JSON (None when it is empty or not JSON)."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def message(self) -> str:
        """Return GitHub's ``message`` (or the start of the body), for an error text."""
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])
        return self.body[:_MAX_BODY_SHOWN].decode("utf-8", "replace")


class Transport:
    """Send requests with retries, waits and counts; never follows a redirect itself."""

    def __init__(  # noqa: PLR0913 - the transport's whole context, each a keyword
        self,
        policy: RetryPolicy,
        *,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        epoch: Callable[[], float] = time.time,
        secrets: Callable[[], tuple[str, ...]] = tuple,
    ) -> None:
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self.epoch = epoch
        self._secrets = secrets
        self._pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False)
        self.counts: Counter[str] = Counter()
        self.delays: list[float] = []

    def close(self) -> None:
        """Close the connection pool."""
        self._pool.clear()

    def request(
        self,
        method: str,
        url: str,
        *,
        kind: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Answer:
        """Send *method* *url* (counted as *kind*), retrying within the policy; return the final answer.

        Raises:
            GitHubError: the connection kept failing, or the retries or the deadline ran out.
        """
        method = method.upper()
        start = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                raw = self._pool.request(
                    method, url, headers=dict(headers or {}), body=body, redirect=False, preload_content=True
                )
            except HTTPError as exc:
                self.counts[kind] += 1
                delay = self.policy.connection_delay(method, attempt=attempt)
                what = type(exc).__name__
                if delay is None:
                    raise self._give_up(method, url, attempt, f"the connection failed ({what})", None) from None
                self._wait(delay, start, method, url, attempt=attempt, last=what, status=None)
                continue
            answer = Answer(raw.status, {k.lower(): v for k, v in raw.headers.items()}, raw.data or b"")
            # A 304 costs no rate limit: counted apart.
            self.counts[f"{kind}_304" if answer.status == 304 else kind] += 1
            text = answer.body.decode("utf-8", "replace") if answer.status >= 400 else ""
            delay = self.policy.delay_for(
                method, answer.status, answer.headers, text, attempt=attempt, now_epoch=self.epoch()
            )
            if delay is None:
                return answer
            self._wait(delay, start, method, url, attempt=attempt, last=f"HTTP {answer.status}", status=answer.status)

    @property
    def total(self) -> int:
        """Return how many requests were sent, 304s included."""
        return sum(self.counts.values())

    def _wait(  # noqa: PLR0913 - private; one retry's facts
        self, delay: float, start: float, method: str, url: str, *, attempt: int, last: str, status: int | None
    ) -> None:
        if not self.policy.within_deadline(self.clock() - start, delay):
            reason = f"{last}; waiting {delay:g}s more would pass the {self.policy.deadline:g}s deadline"
            raise self._give_up(method, url, attempt, reason, status)
        LOG.info("GitHub Actions: %s %s answered %s; retrying in %gs", method, _path(url), last, delay)
        self.delays.append(delay)
        self.sleep(delay)
        from phase4gate.adapters.proc import stop_requested  # noqa: PLC0415

        # The default sleep ends early on SIGINT/SIGTERM: the stop wins over the retry.
        stop = stop_requested()
        if stop is not None:
            raise stop

    def _give_up(self, method: str, url: str, attempt: int, reason: str, status: int | None) -> GitHubError:
        return GitHubError(
            redact(
                f"GitHub Actions: {method} {_path(url)} gave up after {attempt} attempt(s): {reason}", *self._secrets()
            ),
            url=_path(url),
            status=status,
            hint="GitHub is unavailable or rate-limiting this token; re-run with --resume later",
        )


def _path(url: str) -> str:
    return url.split("?", 1)[0]
