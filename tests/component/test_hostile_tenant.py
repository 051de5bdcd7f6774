"""A tenant holding a valid key who does not play fair (issue 17): reused and foreign request
ids, batches and missing max_tokens against a small budget, hang-ups, huge prompts, bursts
against rate limits. Real PostgreSQL, Valkey, NATS JetStream and chDB; the gateway over HTTP
(two replicas sharing Redis where limits must hold across replicas)."""

from __future__ import annotations

import asyncio
import json
import random
import string
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ias_serve.analytics import apply_schema, get_client, insert_usage_events
from ias_serve.analytics.reader import UsageReader
from ias_serve.cache import make_redis
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.repositories.rate_limits import RateLimitRepository
from ias_serve.domain.rate_limits import RateLimits
from ias_serve.protocol.usage import UsageEvent
from tests.component.gateway_harness import (
    Gateway,
    Tenant,
    add_model,
    budget_used,
    make_tenant,
    running_gateway,
    usage_events,
)
from tests.support.clickhouse import own_database

MSGS = [{"role": "user", "content": "The capital of France is Paris."}]
PROMPT = 3 + 4 + 7  # MSGS as the gateway and the echo engine count it


@pytest.fixture(scope="module")
def pair(database_url: str, redis_url: str, nats_url: str) -> Iterator[tuple[Gateway, Gateway]]:
    """Two gateway replicas (two services, two HTTP servers) on one Redis and one PostgreSQL."""
    with (
        running_gateway(database_url, redis_url, nats_url) as a,
        running_gateway(database_url, redis_url, nats_url) as b,
    ):
        asyncio.run(_models(database_url, a))
        yield a, b


@pytest.fixture(scope="module")
def gw(pair: tuple[Gateway, Gateway]) -> Gateway:
    return pair[0]


async def _models(database_url: str, g: Gateway) -> None:
    from ias_serve.db.bootstrap import ensure_default_models

    engine = make_engine(database_url)
    await ensure_default_models(make_sessionmaker(engine))
    await engine.dispose()
    await add_model(database_url, "remote-model", "remote_url", g.upstream_url)
    await add_model(database_url, "slow-model", "remote_url", g.slow_url)


async def post(gw: Gateway, key: str, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as h:
        return await h.post(
            gw.base_url + path, json=body, headers={"Authorization": f"Bearer {key}", **headers}
        )


async def events_of(gw: Gateway, nats_url: str, org: uuid.UUID, want: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        mine = [e for e in await usage_events(nats_url, gw.stream, gw.subject, 1) if e["org_id"] == str(org)]
        if len(mine) >= want or time.monotonic() > deadline:
            return mine
        await asyncio.sleep(0.1)


async def set_limits(
    database_url: str, t: Tenant, *, key: RateLimits | None = None, org: RateLimits | None = None
):
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            repo = RateLimitRepository(s)
            if org is not None:
                await repo.set_org(t.org_id, limits=org)
            if key is not None:
                await repo.set_key(t.key_id, key)
    finally:
        await engine.dispose()


# --- 1. metering ids are the server's ---------------------------------------------------------


async def test_reused_and_foreign_request_ids_are_all_recorded(
    gw: Gateway, database_url: str, nats_url: str, clickhouse_dsn: str
) -> None:
    victim, attacker = await make_tenant(database_url), await make_tenant(database_url)
    body = {"model": "echo-model", "messages": MSGS, "max_tokens": 5}
    # the victim's own id, reused five times; the attacker sends it first and twice more
    for who in (attacker, victim, victim, attacker, victim, victim, attacker, victim):
        r = await post(gw, who.key, "/chat/completions", body, **{"X-Request-ID": "shared-id-1"})
        assert r.status_code == 200 and r.headers["x-request-id"] == "shared-id-1"  # echoed
    got = {t.org_id: await events_of(gw, nats_url, t.org_id, n) for t, n in ((victim, 5), (attacker, 3))}
    assert [len(got[victim.org_id]), len(got[attacker.org_id])] == [5, 3]
    events = [UsageEvent.model_validate(e) for evs in got.values() for e in evs]
    assert all(e.client_request_id == "shared-id-1" for e in events)
    assert len({e.request_id for e in events}) == 8  # the server's ids: all distinct
    # through the recorder's exactly-once writer into ClickHouse: every one recorded once
    with own_database(clickhouse_dsn, "hostile") as dsn:
        ch = get_client(dsn)
        apply_schema(ch)
        assert insert_usage_events(ch, events) == 8
        assert insert_usage_events(ch, events) == 0  # a redelivery still counts once
        rows = ch.query(
            "SELECT org_id, count(), sum(input_tokens + output_tokens) "
            "FROM usage_events FINAL GROUP BY org_id"
        ).result_rows
        # what the analytics API serves (its reader on the rollups): the same counts
        today = datetime.now(UTC).date()
        window = (today - timedelta(days=1), today + timedelta(days=2))
        seen = {t.org_id: UsageReader(ch).org_usage(t.org_id, *window).totals for t in (victim, attacker)}
        ch.close()
    assert seen[victim.org_id].requests == 5 and seen[attacker.org_id].requests == 3
    assert seen[victim.org_id].input_tokens == sum(
        e.input_tokens for e in events if e.org_id == victim.org_id
    )
    by_org = {str(r[0]): (r[1], r[2]) for r in rows}
    assert by_org[str(victim.org_id)] == (5, sum(e.total_tokens for e in events if e.org_id == victim.org_id))
    assert by_org[str(attacker.org_id)][0] == 3


# --- 2. reservations bound the work -----------------------------------------------------------


async def test_a_batch_cannot_outrun_a_small_budget(gw: Gateway, database_url: str, nats_url: str) -> None:
    t = await make_tenant(database_url, limit=5_000)
    words = " ".join(["budget"] * 19)  # 19 tokens a prompt
    big = {"model": "echo-model", "prompt": [words] * 200, "max_tokens": 16}
    r = await post(gw, t.key, "/completions", big)
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
    # 100 prompts: 1,900 prompt + 100 × 16 output tokens reserved = 3,500 → served
    batch = {**big, "prompt": [words] * 100}
    r = await post(gw, t.key, "/completions", batch)
    assert r.status_code == 200, r.text
    assert r.json()["usage"] == {"prompt_tokens": 1900, "completion_tokens": 1600, "total_tokens": 3500}
    # the same again does not fit what is left (5,000 − 3,500): refused before the engine runs
    r = await post(gw, t.key, "/completions", batch)
    assert r.status_code == 429 and r.json()["error"]["code"] == "insufficient_quota"
    await asyncio.sleep(0.3)
    assert await budget_used(gw.settings.redis_url or "", t.org_id) == 3500 <= 5000
    events = await events_of(gw, nats_url, t.org_id, 1)
    assert [(e["input_tokens"], e["output_tokens"]) for e in events] == [(1900, 1600)]


async def test_a_chat_without_max_tokens_forwards_the_reserved_bound(gw: Gateway, database_url: str) -> None:
    t = await make_tenant(database_url, limit=2_000)
    default = gw.settings.gateway_default_max_tokens
    r = await post(gw, t.key, "/chat/completions", {"model": "remote-model", "messages": MSGS, "n": 2})
    # 14 + 2 × 1,024 reserved > 2,000: refused, the engine never asked
    assert r.status_code == 429 and r.json()["error"]["code"] == "insufficient_quota"
    asked = len(gw.upstream.bodies)
    r = await post(gw, t.key, "/chat/completions", {"model": "remote-model", "messages": MSGS})
    assert r.status_code == 200
    assert len(gw.upstream.bodies) == asked + 1 and gw.upstream.bodies[-1]["max_tokens"] == default
    # a bound above the ceiling is clamped before it is forwarded; max_completion_tokens too
    body = {"model": "remote-model", "messages": MSGS, "max_completion_tokens": 10**6}
    await set_limits_budget(database_url, t, 10**9)
    r = await post(gw, t.key, "/chat/completions", body)
    assert r.status_code == 200
    assert gw.upstream.bodies[-1]["max_completion_tokens"] == gw.settings.gateway_max_output_tokens


async def set_limits_budget(database_url: str, t: Tenant, limit: int) -> None:
    from ias_serve.db.repositories import BudgetRepository

    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            await BudgetRepository(s).set_limit(t.org_id, limit, updated_by=None)
    finally:
        await engine.dispose()
    r = make_redis(_redis_url_of(t))
    await r.delete(f"ias:budget:{t.org_id}:limit")
    await r.aclose()


_REDIS: dict[str, str] = {}


def _redis_url_of(_: Tenant) -> str:
    return _REDIS["url"]


@pytest.fixture(autouse=True)
def _remember_redis(redis_url: str) -> None:
    _REDIS["url"] = redis_url


async def test_a_cancelled_non_streamed_request_is_charged_its_prompt(
    database_url: str, redis_url: str, nats_url: str
) -> None:
    """The client leaves while the engine works (Ray Serve cancels the replica's request on a
    disconnect): the reservation settles to the prompt, and the event says cancelled."""
    from prometheus_client import CollectorRegistry

    from ias_serve.services.engines.base import LocalEngineClient
    from ias_serve.services.gateway_factory import build_gateway_service
    from tests.component.gateway_harness import gateway_settings

    started = asyncio.Event()

    class Stuck:
        async def chat(self, body: dict[str, Any]):
            started.set()
            await asyncio.sleep(60)
            yield {}

    settings = gateway_settings(database_url, redis_url, nats_url)
    svc = build_gateway_service(settings, {"stuck": LocalEngineClient(Stuck())}, registry=CollectorRegistry())
    await add_model(database_url, f"stuck-{uuid.uuid4().hex[:6]}", "serve", "stuck")
    t = await make_tenant(database_url, limit=100_000)
    await svc.start()
    try:
        principal = await svc.principal(f"Bearer {t.key}")
        model = next(r.name for r in await svc.catalog.for_org(t.org_id) if r.target == "stuck")
        raw = json.dumps({"model": model, "messages": MSGS, "max_tokens": 500}).encode()
        task = asyncio.create_task(svc.handle("chat", principal, raw, "client-rid"))
        await asyncio.wait_for(started.wait(), 10)
        assert await budget_used(redis_url, t.org_id) == PROMPT + 500  # reserved while it runs
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await svc.drain()
        assert await budget_used(redis_url, t.org_id) == PROMPT
    finally:
        await svc.stop()
    gw_like = type("G", (), {"stream": settings.usage_stream, "subject": settings.usage_subject})
    events = await events_of(gw_like, nats_url, t.org_id, 1)  # type: ignore[arg-type]
    assert [(e["status"], e["input_tokens"], e["output_tokens"]) for e in events] == [
        ("cancelled", PROMPT, 0)
    ]


# --- 3. a huge prompt does not stall the replica ----------------------------------------------


async def test_a_3_mib_prompt_does_not_delay_other_requests(gw: Gateway, database_url: str) -> None:
    t = await make_tenant(database_url, limit=10**9)
    other = await make_tenant(database_url)
    huge = "".join(random.choices(string.ascii_letters, k=3 * 1024 * 1024))
    small = {"model": "echo-model", "messages": MSGS, "stream": True, "max_tokens": 8}

    async def timed(h: httpx.AsyncClient) -> float:
        t0 = time.perf_counter()
        async with h.stream(
            "POST",
            gw.base_url + "/chat/completions",
            json=small,
            headers={"Authorization": f"Bearer {other.key}"},
        ) as r:
            assert r.status_code == 200
            async for _ in r.aiter_lines():
                pass
        return time.perf_counter() - t0

    async def wave(h: httpx.AsyncClient) -> list[float]:
        out: list[float] = []
        for _ in range(5):  # 20 requests, 4 at a time
            out += await asyncio.gather(*(timed(h) for _ in range(4)))
        return sorted(out)

    async with httpx.AsyncClient(timeout=60) as h:
        await wave(h)  # warm up
        baseline = await wave(h)
        big = asyncio.create_task(
            post(
                gw,
                t.key,
                "/chat/completions",
                {"model": "echo-model", "messages": [{"role": "user", "content": huge}], "max_tokens": 1},
            )
        )
        await asyncio.sleep(0.15)  # the big body is in, being counted
        during = await wave(h)
        r = await big
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["prompt_tokens"] > 1_000_000
    added_p99 = during[-1] - baseline[-1]
    assert added_p99 < 0.05, f"p99 {baseline[-1] * 1000:.1f} → {during[-1] * 1000:.1f} ms"


async def test_a_spent_key_is_refused_before_its_huge_prompt_is_counted(
    gw: Gateway, database_url: str
) -> None:
    t = await make_tenant(database_url, limit=100)
    huge = "word " * 600_000  # 3 MB
    t0 = time.perf_counter()
    r = await post(
        gw,
        t.key,
        "/chat/completions",
        {"model": "echo-model", "messages": [{"role": "user", "content": huge}]},
    )
    assert r.status_code == 429 and r.json()["error"]["code"] == "insufficient_quota"
    assert "more than" in r.json()["error"]["message"]  # the pre-check's verdict, no exact count
    assert time.perf_counter() - t0 < 1.0


# --- 4. rate limits, exact across replicas ----------------------------------------------------


async def test_rpm_is_exact_across_two_replicas(pair: tuple[Gateway, Gateway], database_url: str) -> None:
    t = await make_tenant(database_url)
    await set_limits(database_url, t, key=RateLimits(requests_per_minute=10))
    body = {"model": "echo-model", "messages": MSGS, "max_tokens": 2}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as h:

        async def one(i: int) -> httpx.Response:
            g = pair[i % 2]
            return await h.post(
                g.base_url + "/chat/completions", json=body, headers={"Authorization": f"Bearer {t.key}"}
            )

        answers = await asyncio.gather(*(one(i) for i in range(100)))
    ok = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code == 429]
    assert len(ok) == 10 and len(refused) == 90
    err = refused[0].json()["error"]
    assert (err["code"], err["type"]) == ("rate_limit_exceeded", "requests")
    assert int(refused[0].headers["retry-after"]) >= 1
    assert refused[0].headers["x-ratelimit-limit-requests"] == "10"
    assert refused[0].headers["x-ratelimit-remaining-requests"] == "0"
    assert sorted(int(r.headers["x-ratelimit-remaining-requests"]) for r in ok) == list(range(10))
    assert all(r.headers["x-ratelimit-limit-requests"] == "10" for r in ok)
    assert all(r.headers["x-ratelimit-reset-requests"].endswith("s") for r in ok)
    refusals = sum(
        g.registry.get_sample_value(
            "ias_gateway_rate_limit_rejections_total", {"model": "echo-model", "type": "requests"}
        )
        or 0
        for g in pair
    )
    assert refusals >= 90  # both replicas count what they refused (other tests add theirs)


async def test_an_org_limit_is_shared_by_all_its_keys(
    pair: tuple[Gateway, Gateway], database_url: str
) -> None:
    """Org RPM 6 and concurrency 2 across three keys of one org on two replicas: 6 served in
    all, not 6 a key; a key of another org is not held by it."""
    from ias_serve.db.repositories import ApiKeyRepository
    from ias_serve.domain.keys import generate_api_key

    t = await make_tenant(database_url)
    keys = [t.key]
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as s, s.begin():
        for i in range(2):
            issued = generate_api_key()
            await ApiKeyRepository(s).create(
                key_hash=issued.key_hash,
                prefix=issued.prefix,
                user_id=t.user_id,
                org_id=t.org_id,
                name=f"k{i}",
            )
            keys.append(issued.key)
    await engine.dispose()
    await set_limits(database_url, t, org=RateLimits(requests_per_minute=6))
    body = {"model": "echo-model", "messages": MSGS, "max_tokens": 2}
    answers = await asyncio.gather(
        *(post(pair[i % 2], keys[i % 3], "/chat/completions", body) for i in range(30))
    )
    assert sorted(r.status_code for r in answers).count(200) == 6
    other = await make_tenant(database_url)
    assert (await post(pair[0], other.key, "/chat/completions", body)).status_code == 200


async def test_tpm_settles_to_actual_usage(gw: Gateway, database_url: str) -> None:
    t = await make_tenant(database_url)
    await set_limits(database_url, t, org=RateLimits(tokens_per_minute=1_000))
    # reserves 14 + 500, uses 14 + 7 (echo answers the 7-token message)
    body = {"model": "echo-model", "messages": MSGS, "max_tokens": 500}
    r1 = await post(gw, t.key, "/chat/completions", body)
    assert r1.status_code == 200 and r1.headers["x-ratelimit-limit-tokens"] == "1000"
    assert 1000 - 514 - 2 <= int(r1.headers["x-ratelimit-remaining-tokens"]) <= 1000 - 514
    await gw_drain(gw)
    # settled: 514 − 21 given back, so a second 514-token reservation fits (it would not without)
    r2 = await post(gw, t.key, "/chat/completions", body)
    assert r2.status_code == 200, r2.text
    assert 1000 - 21 - 514 - 5 <= int(r2.headers["x-ratelimit-remaining-tokens"]) <= 1000 - 21 - 514 + 5
    # one request larger than the whole TPM: 429 that says so, no Retry-After to wait for
    r3 = await post(gw, t.key, "/chat/completions", {**body, "max_tokens": 5000})
    assert r3.status_code == 429 and r3.json()["error"]["type"] == "tokens"
    assert "larger than the limit" in r3.json()["error"]["message"] and "retry-after" not in r3.headers


async def gw_drain(gw: Gateway) -> None:
    await asyncio.sleep(0.3)  # settlements run after the response


async def test_concurrency_limit_holds_under_a_burst(gw: Gateway, database_url: str) -> None:
    t = await make_tenant(database_url)
    await set_limits(database_url, t, key=RateLimits(max_concurrent_requests=3))
    # streams of 20 tokens 50 ms apart: each holds its slot for a second
    body = {"model": "slow-model", "messages": MSGS, "max_tokens": 20, "stream": True}
    answers = await asyncio.gather(*(post(gw, t.key, "/chat/completions", body) for _ in range(20)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) == 3 and codes.count(429) == 17, codes
    assert {r.json()["error"]["type"] for r in answers if r.status_code == 429} == {"requests"}
    # the slots come back when the requests end
    await gw_drain(gw)
    assert (await post(gw, t.key, "/chat/completions", body)).status_code == 200
