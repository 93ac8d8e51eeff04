"""The one retry policy: every delay is a pure function of the answer's facts."""

from __future__ import annotations

import email.utils
import math

import pytest

from phase4gate.adapters.http import read_only_policy
from phase4gate.retry import RetryPolicy

NOW = 1_795_568_400.0  # 2026-11-25T01:00:00Z


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        ("1.5", 1.5),
        (http_date(NOW + 10), 10.0),
        (http_date(NOW - 10), 0.0),  # a date in the past: retry now
        ("-3", 0.0),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date(value: str | None, expected: float | None) -> None:
    assert RetryPolicy().retry_after(value, NOW) == expected


def test_retry_after_is_capped_when_the_policy_says_so() -> None:
    assert RetryPolicy(retry_after_cap=120.0).retry_after("999", NOW) == 120.0
    assert RetryPolicy(retry_after_cap=120.0).retry_after(http_date(NOW + 600), NOW) == 120.0
    assert RetryPolicy().retry_after("999", NOW) == 999.0


def test_a_rate_limit_waits_for_an_http_date_retry_after() -> None:
    """GitHub's secondary limit may say Retry-After as a date; it wins over x-ratelimit-reset."""
    headers = {"Retry-After": http_date(NOW + 30), "x-ratelimit-reset": str(int(NOW) + 900)}
    assert RetryPolicy().delay_for("GET", 429, headers, "", attempt=1, now_epoch=NOW) == 30.0


def test_a_5xx_honours_retry_after_else_backs_off() -> None:
    policy = RetryPolicy()
    assert policy.delay_for("GET", 503, {"Retry-After": "4"}, "", attempt=3, now_epoch=NOW) == 4.0
    assert policy.delay_for("GET", 503, {}, "", attempt=3, now_epoch=NOW) == 4.0  # 1 * 2**2
    assert policy.delay_for("GET", 503, {}, "", attempt=1, now_epoch=NOW) == 1.0
    assert policy.delay_for("POST", 503, {}, "", attempt=1, now_epoch=NOW) is None


def test_backoff_is_capped_and_retries_run_out() -> None:
    policy = RetryPolicy(max_retries=8, backoff_factor=1.0, backoff_max=10.0)
    assert [policy.backoff(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert policy.delay_for("GET", 502, {}, "", attempt=9, now_epoch=NOW) is None
    assert policy.connection_delay("GET", attempt=9) is None
    assert policy.connection_delay("GET", attempt=2) == 2.0
    assert policy.connection_delay("POST", attempt=1) is None


def test_the_deadline_bounds_every_wait() -> None:
    policy = RetryPolicy(deadline=10.0)
    assert policy.within_deadline(4.0, 6.0)
    assert not policy.within_deadline(4.5, 6.0)


def test_the_read_only_policy_never_retries_a_write_and_caps_retry_after() -> None:
    policy = read_only_policy(retries=3, backoff_factor=0.5, deadline=60.0)
    assert policy.methods == frozenset({"GET", "HEAD"})
    assert policy.delay_for("GET", 503, {"Retry-After": "999"}, "", attempt=1, now_epoch=NOW) == 120.0
    assert policy.delay_for("GET", 500, {}, "", attempt=1, now_epoch=NOW) is None  # not a retry status there
    assert [policy.backoff(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert policy.backoff_max == math.inf


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"max_retries": True},
        {"max_retries": 1.5},
        {"backoff_factor": -1.0},
        {"backoff_factor": math.nan},
        {"deadline": -5.0},
    ],
)
def test_a_policy_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"RetryPolicy\.\w+ must be"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_a_changed_copy_is_validated_too() -> None:
    policy = RetryPolicy()
    assert policy._replace(max_retries=2) == RetryPolicy(max_retries=2)
    with pytest.raises(ValueError, match=r"RetryPolicy\.max_retries must be"):
        policy._replace(max_retries=-5)
    with pytest.raises(ValueError, match=r"RetryPolicy\.backoff_factor must be"):
        policy._replace(backoff_factor=math.nan)
    assert policy._replace(methods={"get"}).methods == frozenset({"GET"})
