"""The in-process key cache and the principal codec (pure logic, explicit clock)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime

import pytest

from ias_serve.cache.local import INVALID_MARKER, LocalKeyCache, decode_principal, encode_principal
from ias_serve.domain.principal import ApiKeyPrincipal
from ias_serve.domain.rate_limits import EffectiveRateLimits, RateLimits


def principal(org_id: uuid.UUID | None = None, *, expires_at: datetime | None = None) -> ApiKeyPrincipal:
    return ApiKeyPrincipal(
        key_id=uuid.uuid4(),
        key_hash="a" * 64,
        org_id=org_id or uuid.uuid4(),
        user_id=uuid.uuid4(),
        org_active=True,
        expires_at=expires_at,
    )


def test_entries_expire_by_the_given_clock() -> None:
    c = LocalKeyCache()
    p = principal()
    assert c.put("h", p, ttl=5.0, now=100.0, generation=c.generation)
    entry = c.get("h", 104.9)
    assert entry is not None and entry.principal == p and entry.verified == 100.0
    assert c.get("h", 105.0) is None
    assert len(c) == 0  # an expired entry is dropped when seen


def test_negative_entries() -> None:
    c = LocalKeyCache()
    c.put("h", None, ttl=2.0, now=0.0, generation=c.generation)
    entry = c.get("h", 1.0)
    assert entry is not None and entry.principal is None


def test_bounded_oldest_insertion_goes_first() -> None:
    c = LocalKeyCache(max_entries=3)
    for i in range(5):
        c.put(f"h{i}", principal(), ttl=10, now=0, generation=c.generation)
    assert len(c) == 3
    assert c.get("h0", 1) is None and c.get("h1", 1) is None
    assert all(c.get(f"h{i}", 1) is not None for i in (2, 3, 4))
    c.put("h2", principal(), ttl=10, now=0, generation=c.generation)  # re-insert: now newest
    c.put("h5", principal(), ttl=10, now=0, generation=c.generation)
    assert c.get("h3", 1) is None and c.get("h2", 1) is not None


def test_put_after_an_eviction_is_dropped() -> None:
    c = LocalKeyCache()
    gen = c.generation  # a lookup starts
    c.evict("h")  # a revocation arrives while it waits for Redis/PostgreSQL
    assert not c.put("h", principal(), ttl=10, now=0, generation=gen)
    assert c.get("h", 0) is None
    assert c.put("h", principal(), ttl=10, now=0, generation=c.generation)


def test_evict_org_and_clear() -> None:
    c = LocalKeyCache()
    org = uuid.uuid4()
    for h, p in {"a": principal(org), "b": principal(org), "c": principal(), "d": None}.items():
        c.put(h, p, ttl=10, now=0, generation=c.generation)
    assert c.evict_org(org) == 2
    assert [h for h in "abcd" if c.get(h, 0) is not None] == ["c", "d"]
    c.clear()
    assert len(c) == 0


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LocalKeyCache(0)


@pytest.mark.parametrize("expires_at", [None, datetime(2030, 5, 1, 12, 30, tzinfo=UTC)])
def test_codec_round_trip(expires_at: datetime | None) -> None:
    p = principal(expires_at=expires_at)
    raw = encode_principal(p)
    assert "a" * 64 not in raw  # the hash is the Redis key, not repeated in the value
    assert decode_principal(p.key_hash, raw) == p


def test_codec_invalid_marker_and_garbage() -> None:
    assert encode_principal(None) == INVALID_MARKER
    assert decode_principal("h", INVALID_MARKER) is None
    for junk in ("{}", "[1]", "nope", '{"k": "x"}'):
        with pytest.raises(ValueError):
            decode_principal("h", junk)


@pytest.mark.parametrize(
    "limits",
    [
        EffectiveRateLimits(key=RateLimits(60, 10_000, 2)),
        EffectiveRateLimits(org=RateLimits(max_concurrent_requests=8)),
        EffectiveRateLimits(RateLimits(1, None, 3), RateLimits(None, 10**12, None)),
    ],
)
def test_codec_round_trip_with_rate_limits(limits: EffectiveRateLimits) -> None:
    p = dataclasses.replace(principal(), rate_limits=limits)
    raw = encode_principal(p)
    assert '"l":[' in raw
    assert decode_principal(p.key_hash, raw) == p


def test_codec_unlimited_writes_no_limits_and_old_entries_decode_as_unlimited() -> None:
    p = principal()
    raw = encode_principal(p)
    assert '"l"' not in raw  # compact: nothing for the common case
    # an entry written before rate limits existed (exactly that version's fields)
    old = json.dumps(
        {"k": str(p.key_id), "o": str(p.org_id), "u": str(p.user_id), "a": True, "e": None},
        separators=(",", ":"),
    )
    decoded = decode_principal(p.key_hash, old)
    assert decoded == p and decoded is not None and decoded.rate_limits.is_unlimited


@pytest.mark.parametrize(
    "bad", ['"x"', "[1, 2]", "[1, 2, 3, 4, 5, true]", '[1, 2, 3, 4, 5, "6"]', "[1.5, 2, 3, 4, 5, 6]"]
)
def test_codec_refuses_malformed_limits(bad: str) -> None:
    p = principal()
    raw = encode_principal(p)[:-1] + f',"l":{bad}}}'
    with pytest.raises(ValueError):
        decode_principal(p.key_hash, raw)
