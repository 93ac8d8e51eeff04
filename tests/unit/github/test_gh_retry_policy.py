"""The retry policy is pure arithmetic over an answer's facts."""

from __future__ import annotations

import pytest

from phase4gate.adapters.github import RATE_LIMIT_FLOOR_SECONDS, RetryPolicy, is_rate_limited


def test_backoff_doubles_and_is_capped() -> None:
    """5xx back-off: 1, 2, 4, 8, ... capped at backoff_max."""
    policy = RetryPolicy(backoff_max=10.0)

    assert [policy.backoff(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_retry_after_wins_over_reset() -> None:
    """Retry-After (seconds) is honoured first."""
    headers = {"Retry-After": "7", "x-ratelimit-reset": "2000"}

    assert RetryPolicy().rate_limit_delay(headers, now_epoch=1000.0) == 7.0


def test_reset_is_used_without_retry_after() -> None:
    """Without Retry-After, wait until x-ratelimit-reset."""
    assert RetryPolicy().rate_limit_delay({"X-RateLimit-Reset": "1042"}, now_epoch=1000.0) == 42.0


def test_reset_in_the_past_still_waits_a_second() -> None:
    """A reset already passed asks for a short wait, never a negative one."""
    assert RetryPolicy().rate_limit_delay({"x-ratelimit-reset": "900"}, now_epoch=1000.0) == 1.0


def test_no_headers_waits_at_least_a_minute() -> None:
    """A secondary rate limit without headers waits the floor (60 s)."""
    assert RetryPolicy().rate_limit_delay({}, now_epoch=0.0) == RATE_LIMIT_FLOOR_SECONDS == 60.0


def test_unparsable_headers_fall_back() -> None:
    """Garbage in Retry-After and reset falls through to the floor."""
    assert RetryPolicy().rate_limit_delay({"Retry-After": "soon", "x-ratelimit-reset": "later"}, now_epoch=0.0) == 60.0


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (429, {}, "", True),
        (403, {"x-ratelimit-remaining": "0"}, "", True),
        (403, {"Retry-After": "3"}, "", True),
        (403, {}, '{"message": "You have exceeded a secondary rate limit"}', True),
        (403, {}, '{"message": "Resource not accessible by integration"}', False),
        (500, {"x-ratelimit-remaining": "0"}, "", False),
        (200, {}, "", False),
    ],
)
def test_is_rate_limited(status: int, headers: dict[str, str], body: str, expected: bool) -> None:
    """429, and 403 with remaining 0, Retry-After or a rate-limit message, are rate limits."""
    assert is_rate_limited(status, headers, body) is expected


def test_a_5xx_is_retried_only_for_idempotent_methods() -> None:
    """A POST that got a 5xx may have landed: no blind retry; a GET or PATCH is retried."""
    policy = RetryPolicy()

    assert policy.delay_for("GET", 503, {}, "", attempt=1, now_epoch=0.0) == 1.0
    assert policy.delay_for("PATCH", 502, {}, "", attempt=2, now_epoch=0.0) == 2.0
    assert policy.delay_for("POST", 503, {}, "", attempt=1, now_epoch=0.0) is None


def test_a_rate_limit_is_retried_whatever_the_method() -> None:
    """A rate-limited POST was refused before any work: it is safe to send again."""
    assert RetryPolicy().delay_for("POST", 429, {"Retry-After": "5"}, "", attempt=1, now_epoch=0.0) == 5.0


def test_retries_are_bounded() -> None:
    """After max_retries, the answer is final."""
    policy = RetryPolicy(max_retries=2)

    assert policy.delay_for("GET", 503, {}, "", attempt=3, now_epoch=0.0) is None
    assert policy.delay_for("GET", 404, {}, "", attempt=1, now_epoch=0.0) is None
