"""Pure parts of the login rate limiter (ias_serve.cache.login_limit)."""

from __future__ import annotations

import hashlib

import pytest

from ias_serve.cache.login_limit import (
    LoginLimiter,
    LoginRateLimited,
    account_key,
    address_key,
    client_address,
    judge,
)


def test_account_key_hashes_the_folded_address() -> None:
    key = account_key("  Ada@Example.COM ")
    assert key == account_key("ada@example.com")
    assert "ada" not in key
    assert key.endswith(hashlib.sha256(b"ada@example.com").hexdigest())


def test_address_key() -> None:
    assert address_key("10.0.0.1") == "ias:login:addr:10.0.0.1"
    assert address_key("2001:DB8::1") == "ias:login:addr:2001:db8::1"
    assert address_key("  ") == "ias:login:addr:unknown"


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("10.0.0.9", None, "10.0.0.9"),
        ("10.0.0.9", "", "10.0.0.9"),
        ("10.0.0.9", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.9", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the nearest proxy's entry
        ("10.0.0.9", "198.51.100.1, ", "10.0.0.9"),
        (None, None, "unknown"),
    ],
)
def test_client_address(peer: str | None, header: str | None, expected: str) -> None:
    assert client_address(peer, header) == expected


def test_judge_allows_up_to_the_limits() -> None:
    v = judge((10, 1000, 50, 1000), max_per_account=10, max_per_address=50)
    assert v.scope is None and v.account_count == 10 and v.address_count == 50


def test_judge_refuses_per_account_and_per_address() -> None:
    v = judge((11, 2500, 3, 9000), max_per_account=10, max_per_address=50)
    assert (v.scope, v.retry_after_s) == ("account", 3)  # ceil(2.5 s)
    v = judge((1, 2500, 51, 9000), max_per_account=10, max_per_address=50)
    assert (v.scope, v.retry_after_s) == ("address", 9)


def test_judge_both_exceeded_waits_for_the_later_window() -> None:
    v = judge((11, 120_000, 51, 30_000), max_per_account=10, max_per_address=50)
    assert (v.scope, v.retry_after_s) == ("account", 120)
    v = judge((11, 0, 51, -1), max_per_account=10, max_per_address=50)
    assert v.retry_after_s == 1  # never 0


def test_rate_limited_error_body() -> None:
    exc = LoginRateLimited("account", 42)
    assert exc.status == 429 and exc.retry_after_s == 42
    body = exc.rest_body()["error"]
    assert body["code"] == "rate_limited"
    assert body["details"] == {"scope": "account", "retry_after_s": 42}


async def test_without_redis_nothing_is_limited() -> None:
    limiter = LoginLimiter(None, window_s=60, max_per_account=1, max_per_address=1)
    for _ in range(3):
        assert (await limiter.hit(email="a@b.c", address="x")).scope is None
    await limiter.clear_account("a@b.c")
