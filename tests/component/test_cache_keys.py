"""KeyAuthenticator against a real Valkey and a real PostgreSQL (no mocks).

Tests that stop and restart Redis use a Valkey of their own (``own_valkey``), never the
session's shared one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.cache.key_store import entry_key
from ias_serve.cache.keys import KeyAuthenticator
from ias_serve.cache.redis import make_redis
from ias_serve.db.models import ApiKey
from ias_serve.db.repositories import ApiKeyRepository, MembershipRepository, OrgRepository, UserRepository
from ias_serve.domain.keys import IssuedKey, generate_api_key
from ias_serve.domain.roles import OrgRole, Status
from ias_serve.errors import InvalidApiKey, PermissionDenied, ServiceUnavailable
from tests.support.services import OwnValkey

SM = async_sessionmaker[AsyncSession]


@dataclass
class Key:
    issued: IssuedKey
    key_id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID

    @property
    def header(self) -> str:
        return f"Bearer {self.issued.key}"


@pytest.fixture
async def auth(redis: Redis, sm: SM) -> AsyncIterator[KeyAuthenticator]:
    async with KeyAuthenticator(redis, sm, last_used_flush_s=3600) as a:
        yield a


async def make_key(sm: SM, *, expires_at: datetime | None = None) -> Key:
    async with sm() as s, s.begin():
        org = await OrgRepository(s).create(f"org-{uuid.uuid4().hex[:10]}")
        user = await UserRepository(s).create(f"dev.{uuid.uuid4().hex[:10]}@example.com", name="Dev")
        await MembershipRepository(s).add(user.id, org.id, OrgRole.ORG_USER)
        issued = generate_api_key()
        row = await ApiKeyRepository(s).create(
            key_hash=issued.key_hash,
            prefix=issued.prefix,
            user_id=user.id,
            org_id=org.id,
            expires_at=expires_at,
        )
    return Key(issued, row.id, org.id, user.id)


async def revoke_in_db(sm: SM, key: Key) -> None:
    async with sm() as s, s.begin():
        assert await ApiKeyRepository(s).revoke(key.key_id) is not None


async def set_org_status(sm: SM, org_id: uuid.UUID, status: Status) -> None:
    async with sm() as s, s.begin():
        await OrgRepository(s).update(org_id, status=status)


async def last_used(sm: SM, key: Key) -> datetime | None:
    async with sm() as s:
        return await s.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key.key_id))


async def refused_within(auths: list[KeyAuthenticator], header: str, limit_s: float) -> float:
    """Seconds until every authenticator refuses ``header`` (fails when over ``limit_s``)."""
    start = time.monotonic()
    pending = set(range(len(auths)))
    while pending:
        for i in list(pending):
            try:
                await auths[i].authenticate(header)
            except InvalidApiKey:
                pending.discard(i)
        elapsed = time.monotonic() - start
        assert elapsed < limit_s, f"{sorted(pending)} still accept the key after {elapsed:.2f}s"
        if pending:
            await asyncio.sleep(0.01)
    return time.monotonic() - start


def assert_no_secret(exc: Exception, key: str, key_hash: str) -> None:
    text = f"{exc} {exc.openai_body()}"  # type: ignore[attr-defined]
    assert key not in text and key_hash not in text
    assert key[4:20] not in text  # not even a piece of the secret


# --- lookups through the layers --------------------------------------------------------------


async def test_postgres_once_then_local_then_redis(auth: KeyAuthenticator, redis: Redis, sm: SM) -> None:
    key = await make_key(sm)
    p = await auth.authenticate(key.header)
    assert (p.key_id, p.org_id, p.user_id, p.org_active) == (key.key_id, key.org_id, key.user_id, True)
    assert p.key_hash == key.issued.key_hash
    assert auth.metrics.value("auth_lookups", layer="postgres") == 1
    assert await redis.get(entry_key(key.issued.key_hash)) is not None

    for _ in range(5):
        assert await auth.authenticate(key.header) == p
    assert auth.metrics.value("auth_lookups", layer="local") == 5
    assert auth.metrics.value("auth_lookups", layer="postgres") == 1

    async with KeyAuthenticator(redis, sm) as other:  # another replica: Redis answers
        assert await other.authenticate(key.header) == p
        assert other.metrics.value("auth_lookups", layer="redis") == 1
        assert other.metrics.value("auth_lookups", layer="postgres") == 0


async def test_redis_alone_answers_once_the_row_is_gone(auth: KeyAuthenticator, redis: Redis, sm: SM) -> None:
    key = await make_key(sm)
    await auth.authenticate(key.header)
    async with sm() as s, s.begin():
        await s.delete(await s.get(ApiKey, key.key_id))
    async with KeyAuthenticator(redis, sm) as other:
        assert (await other.authenticate(key.header)).key_id == key.key_id


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("Basic dXNlcjpwYXNz", "malformed"),
        ("Bearer", "malformed"),
        ("Bearer sk-not-ours", "malformed"),
        ("Bearer ias-short", "malformed"),
    ],
)
async def test_missing_or_malformed_header(auth: KeyAuthenticator, header: str | None, reason: str) -> None:
    with pytest.raises(InvalidApiKey) as err:
        await auth.authenticate(header)
    assert err.value.status == 401 and err.value.openai_body()["error"]["code"] == "invalid_api_key"
    assert auth.metrics.value("auth_failures", reason=reason) == 1
    assert auth.metrics.value("auth_lookups", layer="postgres") == 0


async def test_unknown_key_is_refused_and_cached_negatively(auth: KeyAuthenticator, redis: Redis) -> None:
    bogus = generate_api_key()
    for _ in range(50):
        with pytest.raises(InvalidApiKey) as err:
            await auth.authenticate(f"Bearer {bogus.key}")
        assert_no_secret(err.value, bogus.key, bogus.key_hash)
    assert err.value.status == 401 and err.value.code == "invalid_api_key"
    assert auth.metrics.value("auth_lookups", layer="postgres") == 1
    assert auth.metrics.value("auth_failures", reason="unknown") == 50
    assert 0 < await redis.pttl(entry_key(bogus.key_hash)) <= 2000


async def test_expired_key(auth: KeyAuthenticator, sm: SM) -> None:
    past = await make_key(sm, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(InvalidApiKey) as err:
        await auth.authenticate(past.header)
    assert_no_secret(err.value, past.issued.key, past.issued.key_hash)

    soon = datetime.now(UTC) + timedelta(hours=1)
    key = await make_key(sm, expires_at=soon)
    assert (await auth.authenticate(key.header)).expires_at == soon
    with pytest.raises(InvalidApiKey, match="expired") as err:  # honoured from the cached entry
        await auth.authenticate(key.header, now=soon + timedelta(seconds=1))
    assert_no_secret(err.value, key.issued.key, key.issued.key_hash)
    assert auth.metrics.value("auth_lookups", layer="local") == 1


async def test_disabled_org_is_403_until_enabled(auth: KeyAuthenticator, redis: Redis, sm: SM) -> None:
    key = await make_key(sm)
    await set_org_status(sm, key.org_id, Status.DISABLED)
    with pytest.raises(PermissionDenied) as err:
        await auth.authenticate(key.header)
    assert (err.value.status, err.value.code) == (403, "org_disabled")
    assert_no_secret(err.value, key.issued.key, key.issued.key_hash)

    async with KeyAuthenticator(redis, sm, cache_ttl_s=60) as other:
        with pytest.raises(PermissionDenied):
            await other.authenticate(key.header)  # cached on this replica too
        await set_org_status(sm, key.org_id, Status.ACTIVE)
        await auth.invalidate_org(key.org_id)
        await asyncio.sleep(0.2)
        assert (await other.authenticate(key.header)).org_active
        await set_org_status(sm, key.org_id, Status.DISABLED)
        await other.invalidate_org(key.org_id)
        await asyncio.sleep(0.2)
        with pytest.raises(PermissionDenied):
            await auth.authenticate(key.header)


# --- revocation --------------------------------------------------------------------------------


async def test_revoked_key_refused_within_1s_on_two_replicas(redis: Redis, redis_url: str, sm: SM) -> None:
    key = await make_key(sm)
    redis2 = make_redis(redis_url)
    try:
        async with (
            KeyAuthenticator(redis, sm, cache_ttl_s=60) as a1,
            KeyAuthenticator(redis2, sm, cache_ttl_s=60) as a2,
        ):
            for a in (a1, a2):
                await a.authenticate(key.header)
                await a.authenticate(key.header)
                assert a.metrics.value("auth_lookups", layer="local") == 1
            await revoke_in_db(sm, key)
            await a1.revoke(key.issued.key_hash)
            elapsed = await refused_within([a1, a2], key.header, 1.0)
            assert a2.metrics.value("auth_invalidations_received", kind="key") >= 1
            # a2 was filled from Redis; after the eviction Redis answered again (the tombstone)
            assert a2.metrics.value("auth_lookups", layer="redis") == 2
            print(f"revocation seen by both replicas after {elapsed * 1000:.1f} ms")
    finally:
        await redis2.aclose()


async def test_stale_fill_cannot_resurrect_a_revoked_key(
    auth: KeyAuthenticator, redis: Redis, sm: SM
) -> None:
    key = await make_key(sm)
    stale = await auth.authenticate(key.header)
    await revoke_in_db(sm, key)
    await auth.revoke(key.issued.key_hash)
    # a replica that read PostgreSQL before the revocation writes its answer afterwards
    assert await auth.store.fill(key.issued.key_hash, stale) is False
    async with KeyAuthenticator(redis, sm) as other:
        with pytest.raises(InvalidApiKey):
            await other.authenticate(key.header)
        assert other.metrics.value("auth_lookups", layer="redis") == 1


async def test_stale_fill_is_fenced_after_org_invalidation(auth: KeyAuthenticator, sm: SM) -> None:
    key = await make_key(sm)
    stale = await auth.authenticate(key.header)
    await auth.invalidate_org(key.org_id)
    assert await auth.store.fill(key.issued.key_hash, stale) is False


async def test_revocation_holds_while_redis_is_down_and_cache_recovers(own_valkey: OwnValkey, sm: SM) -> None:
    revoked, other_key = await make_key(sm), await make_key(sm)
    r1, r2 = make_redis(own_valkey.url), make_redis(own_valkey.url)
    try:
        async with (
            KeyAuthenticator(r1, sm, cache_ttl_s=60) as a1,
            KeyAuthenticator(r2, sm, cache_ttl_s=60) as a2,
        ):
            for a in (a1, a2):
                await a.authenticate(revoked.header)
                await a.authenticate(other_key.header)
            await asyncio.sleep(1.1)  # entries are older than the revocation bound
            own_valkey.stop()
            await revoke_in_db(sm, revoked)
            with pytest.raises(ServiceUnavailable):  # the management API learns it failed
                await a1.revoke(revoked.issued.key_hash)
            await refused_within([a1, a2], revoked.header, 1.0)
            assert not a1.listener.healthy() and not a2.listener.healthy()
            # authentication keeps working from PostgreSQL meanwhile
            assert (await a2.authenticate(other_key.header)).key_id == other_key.key_id

            own_valkey.start()  # same port, same data directory
            for a in (a1, a2):
                assert await a.listener.wait_healthy(10.0)
            await asyncio.sleep(1.1)  # let the Redis retry pause end
            await a1.authenticate(other_key.header)
            before = a1.metrics.value("auth_lookups", layer="local")
            await a1.authenticate(other_key.header)
            assert a1.metrics.value("auth_lookups", layer="local") == before + 1
            assert a1.metrics.value("auth_listener_connects") >= 2
    finally:
        await r1.aclose()
        await r2.aclose()


async def test_listener_stays_connected_on_heartbeats(redis_url: str) -> None:
    """The heartbeat PING on the subscribed connection is answered and recognised: no
    reconnect while Redis is up (a redis-py 8 RESP3 reply once made it reconnect every 3 s)."""
    from ias_serve.cache.metrics import AuthMetrics
    from ias_serve.cache.revocations import RevocationListener

    redis = make_redis(redis_url)
    metrics = AuthMetrics()
    listener = RevocationListener(redis, lambda _: None, lambda: None, metrics=metrics, stale_after_s=0.4)
    listener.start()
    try:
        assert await listener.wait_healthy(5.0)
        for _ in range(15):  # 3 s: more than twice the dead-after bound (1.2 s)
            await asyncio.sleep(0.2)
            assert listener.healthy(), "the listener lost its heartbeat"
        assert metrics.value("auth_listener_connects") == 1
    finally:
        await listener.stop()
        await redis.aclose()


# --- last_used_at ------------------------------------------------------------------------------


async def test_last_used_is_written_in_one_batch(auth: KeyAuthenticator, sm: SM) -> None:
    k1, k2 = await make_key(sm), await make_key(sm)
    for _ in range(10):
        await auth.authenticate(k1.header)
        await auth.authenticate(k2.header)
    assert await last_used(sm, k1) is None and await last_used(sm, k2) is None  # no write per request
    assert auth.last_used.pending == 2
    before = datetime.now(UTC)
    assert await auth.flush_last_used() == 2
    assert auth.metrics.value("auth_last_used_flushes", result="ok") == 1
    for k in (k1, k2):
        ts = await last_used(sm, k)
        assert ts is not None and ts >= before - timedelta(seconds=5)
    assert await auth.flush_last_used() == 0  # nothing pending: no query


async def test_last_used_background_flush_and_flush_on_stop(redis: Redis, sm: SM) -> None:
    key = await make_key(sm)
    a = KeyAuthenticator(redis, sm, last_used_flush_s=0.2)
    await a.start()
    await a.authenticate(key.header)
    await asyncio.sleep(0.6)
    first = await last_used(sm, key)
    assert first is not None
    a.last_used.interval_s = 3600.0  # only stop() writes from now on
    await asyncio.sleep(0.3)
    await a.authenticate(key.header)
    await a.stop()
    second = await last_used(sm, key)
    assert second is not None and second >= first
