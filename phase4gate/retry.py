"""One retry policy for every client: a frozen value that computes each delay, purely.

Like urllib3's ``Retry``, a :class:`RetryPolicy` is handed to a client (the GitHub client,
the read-only SaaS/index client); the client does the I/O and asks the policy, after each
answer, whether and how long to wait.  Nothing here sleeps or reads a clock: the caller
passes the answer's facts and the current epoch.

* 5xx (``retry_statuses``) and dropped connections are retried for ``methods`` only
  (a POST may have landed: the caller reconciles instead), after
  ``backoff_factor * 2**(n-1)`` seconds capped at ``backoff_max``;
* ``Retry-After`` is read as seconds or as an HTTP date, capped at ``retry_after_cap``;
* a rate limit (429, or 403 with ``x-ratelimit-remaining: 0``, ``Retry-After`` or
  "rate limit" in the body) waits for ``Retry-After``, else until ``x-ratelimit-reset``,
  else at least ``rate_limit_floor`` (GitHub's advice for a secondary limit without headers);
* nothing waits past ``deadline`` seconds from the first try.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, NamedTuple, Self

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "IDEMPOTENT_METHODS",
    "RATE_LIMIT_FLOOR_SECONDS",
    "RetryPolicy",
    "is_rate_limited",
]

DEFAULT_RETRY_STATUSES: Final = frozenset({500, 502, 503, 504})
# PATCH is idempotent for the gate: it only ever sends absolute values (a state, a body).
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
RATE_LIMIT_FLOOR_SECONDS: Final = 60.0


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lower = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lower), None)


def is_rate_limited(status: int, headers: Mapping[str, str], body: str) -> bool:
    """Return True when *status*/*headers*/*body* is a primary or secondary rate limit."""
    if status == 429:
        return True
    if status != 403:
        return False
    return (
        _header(headers, "x-ratelimit-remaining") == "0"
        or _header(headers, "retry-after") is not None
        or "rate limit" in body.lower()
    )


class _Fields(NamedTuple):
    max_retries: int = 5
    backoff_factor: float = 1.0
    backoff_max: float = 60.0
    deadline: float = 600.0
    rate_limit_floor: float = RATE_LIMIT_FLOOR_SECONDS
    retry_after_cap: float | None = None
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    methods: frozenset[str] = IDEMPOTENT_METHODS


class RetryPolicy(_Fields):
    """How patient a client is; every delay is computed here.

    A frozen value (a validated NamedTuple rather than an attrs class: it is built on
    ``resolve-rc``'s start-up path, which imports no attrs).  ``_replace`` makes a changed copy.

    Raises:
        ValueError: a count that is not a whole number >= 0, or a duration that is negative or NaN.
    """

    __slots__ = ()

    def __new__(  # noqa: PLR0913 - one keyword per field, as a NamedTuple has
        cls,
        *,
        max_retries: int = 5,
        backoff_factor: float = 1.0,
        backoff_max: float = 60.0,
        deadline: float = 600.0,
        rate_limit_floor: float = RATE_LIMIT_FLOOR_SECONDS,
        retry_after_cap: float | None = None,
        retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES,
        methods: frozenset[str] = IDEMPOTENT_METHODS,
    ) -> Self:
        """Return a validated policy."""
        count: object = max_retries
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"RetryPolicy.max_retries must be a whole number >= 0, not {max_retries!r}")
        durations = {
            "backoff_factor": backoff_factor,
            "backoff_max": backoff_max,
            "deadline": deadline,
            "rate_limit_floor": rate_limit_floor,
        }
        if retry_after_cap is not None:
            durations["retry_after_cap"] = retry_after_cap
        for name, given in durations.items():
            value: object = given
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value < 0:
                raise ValueError(f"RetryPolicy.{name} must be a non-negative number, not {value!r}")
        return super().__new__(
            cls,
            max_retries,
            float(backoff_factor),
            float(backoff_max),
            float(deadline),
            float(rate_limit_floor),
            None if retry_after_cap is None else float(retry_after_cap),
            frozenset(retry_statuses),
            frozenset(m.upper() for m in methods),
        )

    def _replace(self, **changes: Any) -> Self:  # noqa: ANN401 - the fields' types
        """Return a copy with *changes*, validated like a new policy."""
        return type(self)(**{**self._asdict(), **changes})

    def backoff(self, attempt: int) -> float:
        """Return the delay before retry number *attempt* (1-based) after a 5xx or a dropped connection."""
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (attempt - 1)))

    def retry_after(self, value: str | None, now_epoch: float) -> float | None:
        """Return the delay a ``Retry-After`` *value* asks for (seconds or an HTTP date), or None if unreadable."""
        if value is None:
            return None
        text = value.strip()
        try:
            delay = float(text)
        except ValueError:
            import email.utils  # noqa: PLC0415 - rare; kept out of start-up

            try:
                delay = email.utils.parsedate_to_datetime(text).timestamp() - now_epoch
            except (TypeError, ValueError):
                return None
        if not math.isfinite(delay):
            return None
        delay = max(0.0, delay)
        return delay if self.retry_after_cap is None else min(delay, self.retry_after_cap)

    def rate_limit_delay(self, headers: Mapping[str, str], now_epoch: float) -> float:
        """Return how long a rate-limited answer asks us to wait.

        ``Retry-After`` first, else until ``x-ratelimit-reset`` (epoch seconds, at
        least 1 s), else at least ``rate_limit_floor``.
        """
        after = self.retry_after(_header(headers, "retry-after"), now_epoch)
        if after is not None:
            return after
        reset = _header(headers, "x-ratelimit-reset")
        if reset is not None:
            try:
                return max(1.0, float(reset) - now_epoch)
            except ValueError:
                pass
        return self.rate_limit_floor

    def delay_for(  # noqa: PLR0913 - one answer's facts
        self, method: str, status: int, headers: Mapping[str, str], body: str, *, attempt: int, now_epoch: float
    ) -> float | None:
        """Return the delay before retrying answer *status* to *method*, or None to stop retrying.

        A rate-limited request was refused before any work, so it is retried
        whatever the method; a ``retry_statuses`` answer only for ``methods``, after
        ``Retry-After`` when the answer gives one, else the backoff.
        """
        if attempt > self.max_retries:
            return None
        if is_rate_limited(status, headers, body):
            return self.rate_limit_delay(headers, now_epoch)
        if status in self.retry_statuses and method.upper() in self.methods:
            after = self.retry_after(_header(headers, "retry-after"), now_epoch)
            return self.backoff(attempt) if after is None else after
        return None

    def connection_delay(self, method: str, *, attempt: int) -> float | None:
        """Return the delay before retrying a dropped connection, or None to stop retrying."""
        if attempt > self.max_retries or method.upper() not in self.methods:
            return None
        return self.backoff(attempt)

    def within_deadline(self, elapsed: float, delay: float) -> bool:
        """Return True when waiting *delay* more after *elapsed* seconds stays inside the deadline."""
        return elapsed + delay <= self.deadline
