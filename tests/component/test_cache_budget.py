"""BudgetStore against a real Valkey and a real PostgreSQL (no mocks).

Tests that stop and restart Redis use a Valkey of their own (``own_valkey``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.cache.budget import BudgetStore, PostgresLimitSource, Reservation, limit_key, used_key
from ias_serve.cache.redis import make_redis
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.repositories import BudgetRepository, OrgRepository
from ias_serve.domain.budget import period_key
from ias_serve.errors import BudgetExceeded, ServiceUnavailable
from tests.support.services import OwnValkey

SM = async_sessionmaker[AsyncSession]


@pytest.fixture
def store(redis: Redis, sm: SM) -> BudgetStore:
    return BudgetStore(redis, PostgresLimitSource(sm))


async def make_org(sm: SM, limit: int | None = None, *, with_budget: bool = True) -> uuid.UUID:
    async with sm() as s, s.begin():
        org = await OrgRepository(s).create(f"org-{uuid.uuid4().hex[:10]}")
        if with_budget:
            await BudgetRepository(s).set_limit(org.id, limit)
    return org.id


async def set_db_limit(sm: SM, org_id: uuid.UUID, limit: int | None) -> None:
    async with sm() as s, s.begin():
        await BudgetRepository(s).set_limit(org_id, limit)


# --- the concurrency proof ----------------------------------------------------------------------


async def test_ten_times_n_concurrent_requests_never_overspend(
    store: BudgetStore, redis: Redis, sm: SM
) -> None:
    limit, already_used, each = 1000, 300, 70  # what is left fits exactly N = 10 reservations
    n = (limit - already_used) // each
    assert n == 10
    org = await make_org(sm, limit)
    await store.set_used(org, period_key(datetime.now(UTC)), already_used)

    peak = 0
    done = asyncio.Event()

    async def watch() -> None:  # the counter is sampled while the requests race
        nonlocal peak
        while not done.is_set():
            peak = max(peak, await store.used(org))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(*(store.reserve(org, each) for _ in range(10 * n)), return_exceptions=True)
    done.set()
    await watcher

    granted = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(granted) == n and len(refused) == 9 * n
    assert await store.used(org) == limit and peak <= limit
    assert store.metrics.value("budget_limit_loads", result="ok") == 1  # one load for 100 misses
    assert store.metrics.value("budget_reservations", outcome="rejected") == 9 * n

    err = refused[0]
    assert err.status == 429
    assert err.openai_body()["error"]["type"] == "insufficient_quota"
    assert "limit 1000 tokens" in err.message and "used 1000" in err.message and "up to 70" in err.message

    await asyncio.gather(*(store.settle(r, 50) for r in granted))
    assert await store.used(org) == already_used + n * 50
    assert await redis.ttl(used_key(org, period_key(datetime.now(UTC)))) > 30 * 86_400


async def test_settle_is_idempotent_and_follows_the_real_count(store: BudgetStore, sm: SM) -> None:
    org = await make_org(sm, 10_000)
    r = await store.reserve(org, 100)
    assert (r.used_after, r.limit, r.tracked) == (100, 10_000, True)
    await store.settle(r, 40)
    await store.settle(r, 40)
    await store.settle(r, 99)
    assert await store.used(org) == 40 and r.settled and r.actual_tokens == 40

    over = await store.reserve(org, 10)
    await store.settle(over, 25)  # more than reserved: the real count wins
    assert await store.used(org) == 65

    cancelled = await store.reserve(org, 30)
    await store.settle(cancelled, 0)  # failed before the engine produced anything
    assert await store.used(org) == 65

    with pytest.raises(ValueError):
        await store.reserve(org, -1)


async def test_settle_completes_when_the_caller_is_cancelled(store: BudgetStore, sm: SM) -> None:
    org = await make_org(sm, 10_000)
    r = await store.reserve(org, 500)
    caller = asyncio.create_task(store.settle(r, 120))  # e.g. the client disconnected
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    for _ in range(100):
        if await store.used(org) == 120:
            break
        await asyncio.sleep(0.01)
    assert await store.used(org) == 120


async def test_month_rollover_starts_a_fresh_counter(store: BudgetStore, sm: SM) -> None:
    org = await make_org(sm, 100)
    jan = datetime(2031, 1, 31, 23, 59, 59, tzinfo=UTC)
    feb = datetime(2031, 2, 1, 0, 0, 0, tzinfo=UTC)
    r = await store.reserve(org, 100, now=jan)
    assert r.period == "2031-01"
    with pytest.raises(BudgetExceeded):
        await store.reserve(org, 1, now=jan)
    r2 = await store.reserve(org, 100, now=feb)
    assert r2.period == "2031-02"
    await store.settle(r, 60)  # settled after midnight: still billed to January
    assert await store.used(org, now=jan) == 60
    assert await store.used(org, now=feb) == 100


async def test_unlimited_org_is_counted_but_never_refused(store: BudgetStore, redis: Redis, sm: SM) -> None:
    for org in (await make_org(sm, None), await make_org(sm, with_budget=False)):
        r = await store.reserve(org, 10**12)
        assert r.limit is None
        await store.reserve(org, 10**12)
        assert await store.used(org) == 2 * 10**12
        assert await redis.get(limit_key(org)) == "-1"


async def test_limit_change_is_picked_up_after_invalidation(store: BudgetStore, sm: SM) -> None:
    org = await make_org(sm, 100)
    await store.reserve(org, 80)
    await set_db_limit(sm, org, 1000)
    with pytest.raises(BudgetExceeded, match="limit 100 tokens"):
        await store.reserve(org, 80)  # the cached limit still holds
    await store.invalidate_limit(org)
    await store.reserve(org, 80)
    await store.set_limit(org, 150)  # pushed by the management API
    with pytest.raises(BudgetExceeded, match="limit 150 tokens, used 160"):
        await store.reserve(org, 1)
    await store.set_limit(org, None)
    await store.reserve(org, 10**9)
    with pytest.raises(ValueError):
        await store.set_limit(org, -5)


async def test_limit_ttl_picks_up_a_change_without_invalidation(redis: Redis, sm: SM) -> None:
    store = BudgetStore(redis, PostgresLimitSource(sm), limit_ttl_s=0.3)
    org = await make_org(sm, 10)
    with pytest.raises(BudgetExceeded):
        await store.reserve(org, 20)
    await set_db_limit(sm, org, 100)
    await asyncio.sleep(0.4)
    await store.reserve(org, 20)


async def test_set_used_reconciles_a_month(store: BudgetStore, sm: SM) -> None:
    org = await make_org(sm, 1000)
    await store.set_used(org, "2031-03", 990)
    with pytest.raises(BudgetExceeded, match="used 990, this request needs up to 50"):
        await store.reserve(org, 50, now=datetime(2031, 3, 15, tzinfo=UTC))
    for bad in ("2031-13", "2031-3", "march"):
        with pytest.raises(ValueError):
            await store.set_used(org, bad, 1)
    with pytest.raises(ValueError):
        await store.set_used(org, "2031-03", -1)


# --- Redis or PostgreSQL unreachable ---------------------------------------------------------


async def test_fails_closed_while_redis_is_down_and_recovers(own_valkey: OwnValkey, sm: SM) -> None:
    org = await make_org(sm, 1000)
    client = make_redis(own_valkey.url)
    store = BudgetStore(client, PostgresLimitSource(sm))
    try:
        await store.reserve(org, 100)
        pending = await store.reserve(org, 100)
        own_valkey.stop()

        with pytest.raises(ServiceUnavailable) as err:
            await store.reserve(org, 100)
        assert err.value.status == 503
        assert err.value.message.startswith("budget service unavailable: Redis is unreachable")
        assert "127.0.0.1" not in err.value.message and "Traceback" not in err.value.message
        await store.settle(pending, 10)  # never raises
        assert store.metrics.value("budget_settle_failures") == 1
        with pytest.raises(ServiceUnavailable):
            await store.used(org)

        own_valkey.start()  # same port, same data directory: the same store recovers
        await store.reserve(org, 100)
        assert await store.used(org) == 300  # the counter survived (AOF), the failed settle did not apply
        assert store.metrics.value("budget_reservations", outcome="unavailable") == 1
    finally:
        await client.aclose()


async def test_fail_open_allows_untracked_requests(own_valkey: OwnValkey, sm: SM) -> None:
    org = await make_org(sm, 1000)
    client = make_redis(own_valkey.url)
    store = BudgetStore(client, PostgresLimitSource(sm), fail_open=True)
    try:
        own_valkey.stop()
        r = await store.reserve(org, 100)
        assert not r.tracked and r.period == period_key(datetime.now(UTC))
        await store.settle(r, 80)  # nothing to adjust
        assert r.settled and store.metrics.value("budget_settle_failures") == 0
        assert store.metrics.value("budget_reservations", outcome="fail_open") == 1
        own_valkey.start()
        assert (await store.reserve(org, 100)).tracked
    finally:
        await client.aclose()


async def test_unreadable_limit_fails_closed(redis: Redis, refused_port: int) -> None:
    dead_db = make_engine(f"postgresql://nobody@127.0.0.1:{refused_port}/none")
    try:
        org = uuid.uuid4()
        closed = BudgetStore(redis, PostgresLimitSource(make_sessionmaker(dead_db)))
        with pytest.raises(ServiceUnavailable, match="limit cannot be read"):
            await closed.reserve(org, 1)
        assert closed.metrics.value("budget_limit_loads", result="error") == 1
        opened = BudgetStore(redis, PostgresLimitSource(make_sessionmaker(dead_db)), fail_open=True)
        assert not (await opened.reserve(org, 1)).tracked
        assert await closed.used(org) == 0
    finally:
        await dead_db.dispose()
