"""UsageRecorder against real NATS JetStream and real ClickHouse (chDB): exact counts, dead
letters, ClickHouse away, crashes on either side of the insert, 100,000 events, budgets.

In-process tests use the session's chDB directory with a database of their own; the tests that
kill the recorder run it in child processes on a directory of their own (chDB: one process per
directory) and read the totals from the next child.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from redis.asyncio import Redis

from ias_serve.analytics import get_client
from ias_serve.analytics.store import UsageStore
from ias_serve.cache.budget import BudgetStore, used_key
from ias_serve.cache.budget_reconcile import BudgetReconciler
from ias_serve.cache.redis import make_redis
from ias_serve.domain.budget import period_key
from ias_serve.errors import BudgetExceeded
from ias_serve.protocol.usage import UsageEvent
from ias_serve.queue.consumer import (
    KIND_HEADER,
    REASON_HEADER,
    SEQUENCE_HEADER,
    ConsumerSettings,
    UsageConsumer,
)
from ias_serve.queue.jetstream import ensure_usage_stream
from ias_serve.services.usage_recorder import RecorderConfig, UsageRecorderService
from tests.support.clickhouse import own_database
from tests.support.services import OwnValkey

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ch_dsn(clickhouse_dsn: str) -> Iterator[str]:
    """A database of this test's own in the session's ClickHouse (the recorder migrates it)."""
    with own_database(clickhouse_dsn, "ias_rec", migrate=False) as dsn:
        yield dsn


@dataclass
class Queue:
    stream: str
    subject: str
    settings: ConsumerSettings
    tag: str


@pytest.fixture
async def queue(js: JetStreamContext, names: Callable[[], tuple[str, str]]) -> AsyncIterator[Queue]:
    stream, subject = names()
    tag = uuid.uuid4().hex[:10]
    s = ConsumerSettings(
        stream=stream,
        subject=subject,
        durable=f"rec-{tag}",
        dlq_stream=f"DLQ_{tag}",
        dlq_subject=f"usage.dlq.{tag}",
    )
    await ensure_usage_stream(js, stream, subject)  # what the gateway does at start
    yield Queue(stream, subject, s, tag)
    try:
        await js.delete_stream(s.dlq_stream)
    except Exception:
        pass


def make_events(
    n: int, orgs: list[uuid.UUID], *, start: int = 0, ts: datetime | None = None
) -> list[UsageEvent]:
    now = ts or datetime.now(UTC)
    return [
        UsageEvent(
            request_id=f"req-{orgs[0].hex[:6]}-{i}",
            ts=now,
            org_id=orgs[i % len(orgs)],
            user_id=orgs[i % len(orgs)],
            key_id=orgs[i % len(orgs)],
            model="test-model" if i % 3 else "echo-model",
            input_tokens=10 + i % 7,
            output_tokens=20 + i % 11,
            latency_ms=40,
            ttft_ms=5,
            price_input=Decimal("0.15"),
            price_output=Decimal("0.6"),
        )
        for i in range(start, start + n)
    ]


async def publish(
    js: JetStreamContext, subject: str, bodies: list[bytes], ids: list[str] | None = None
) -> None:
    """Publish as fast as JetStream acknowledges (pipelined), every one stored."""
    futures = []
    for i, body in enumerate(bodies):
        headers = {"Nats-Msg-Id": ids[i]} if ids else None
        futures.append(await js.publish_async(subject, body, headers=headers))
    acks = await asyncio.gather(*futures)
    assert len(acks) == len(bodies)


async def publish_events(js: JetStreamContext, subject: str, events: list[UsageEvent]) -> None:
    await publish(js, subject, [e.model_dump_json().encode() for e in events], [e.request_id for e in events])


def recorder(
    nats_url: str, dsn: str, q: Queue, redis: Redis | None = None, **config: Any
) -> UsageRecorderService:
    cfg = {"batch_size": 1000, "max_wait_s": 0.3, "lag_interval_s": 0.2, "retry_max_s": 0.5, **config}
    return UsageRecorderService(
        consumer=UsageConsumer(nats_url, q.settings),
        store=UsageStore(dsn),
        reconciler=BudgetReconciler(redis) if redis is not None else None,
        config=RecorderConfig(**cfg),
    )


async def wait_for(check: Callable[[], Any], within: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.1)


def totals(dsn: str) -> dict[str, Any]:
    client = get_client(dsn)
    try:
        r = client.query(
            "SELECT count(), sum(input_tokens), sum(output_tokens), sum(cost) FROM usage_events FINAL"
        ).result_rows[0]
        d = client.query(
            "SELECT sum(requests), sum(input_tokens), sum(output_tokens), sum(cost) FROM usage_daily"
        ).result_rows[0]
    finally:
        client.close()
    return {"count": int(r[0]), "input": int(r[1] or 0), "output": int(r[2] or 0), "cost": r[3], "daily": d}


def expected(events: list[UsageEvent]) -> dict[str, Any]:
    return {
        "count": len(events),
        "input": sum(e.input_tokens for e in events),
        "output": sum(e.output_tokens for e in events),
        "cost": sum((e.cost for e in events), Decimal(0)),
    }


def check_exact(dsn: str, events: list[UsageEvent]) -> None:
    got, want = totals(dsn), expected(events)
    assert {k: got[k] for k in want} == want
    daily = got["daily"]
    assert (int(daily[0]), int(daily[1]), int(daily[2]), daily[3]) == (
        want["count"],
        want["input"],
        want["output"],
        want["cost"],
    ), "the daily rollup differs from the raw events"


async def count_of(dsn: str) -> int:
    return int(totals(dsn)["count"])


# --- the loop ----------------------------------------------------------------------------------
async def test_records_every_event_once_in_batches_then_acknowledges(
    js: JetStreamContext, queue: Queue, nats_url: str, ch_dsn: str
) -> None:
    orgs = [uuid.uuid4() for _ in range(5)]
    events = make_events(2500, orgs)
    await publish_events(js, queue.subject, events)
    rec = recorder(nats_url, ch_dsn, queue)
    await rec.start()
    try:
        await wait_for(lambda: rec.stats.inserted == 2500, what="2500 events inserted")
        await wait_for(lambda: rec.stats.lag == 0, what="lag 0")
        # published again (another gateway retried after its duplicate window): still once
        await publish(js, queue.subject, [e.model_dump_json().encode() for e in events[:300]])
        await wait_for(lambda: rec.stats.duplicates == 300, what="300 duplicates seen")
    finally:
        await rec.stop()
    check_exact(ch_dsn, events)
    info = await js.consumer_info(queue.stream, queue.settings.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0
    m = rec.metrics
    assert m.value("usage_recorder_events_total", {"outcome": "inserted"}) == 2500
    assert m.value("usage_recorder_events_total", {"outcome": "duplicate"}) == 300
    batches = m.value("usage_recorder_batch_size_count")
    assert 3 <= batches < 2800 / 10, "events were not batched"
    assert m.value("usage_recorder_batch_size_sum") == 2800
    assert m.value("usage_recorder_insert_seconds_count") == batches


async def test_invalid_events_go_to_the_dead_letter_stream_and_never_block(
    js: JetStreamContext, queue: Queue, nats_url: str, ch_dsn: str
) -> None:
    org = uuid.uuid4()
    good = make_events(4, [org])
    negative = json.loads(make_events(1, [org], start=100)[0].model_dump_json())
    negative["output_tokens"] = -5
    missing = json.loads(make_events(1, [org], start=101)[0].model_dump_json())
    del missing["org_id"]
    bodies = [
        good[0].model_dump_json().encode(),
        b"{not json",
        good[1].model_dump_json().encode(),
        json.dumps(missing).encode(),
        json.dumps(negative).encode(),
        good[2].model_dump_json().encode(),
        good[3].model_dump_json().encode(),
    ]
    await publish(js, queue.subject, bodies)
    rec = recorder(nats_url, ch_dsn, queue)
    await rec.start()
    try:
        await wait_for(lambda: rec.stats.inserted == 4 and rec.stats.lag == 0, what="valid events recorded")
    finally:
        await rec.stop()
    check_exact(ch_dsn, good)
    m = rec.metrics
    assert m.value("usage_recorder_dead_lettered_total", {"kind": "bad_json"}) == 1
    assert m.value("usage_recorder_dead_lettered_total", {"kind": "missing_field"}) == 1
    assert m.value("usage_recorder_dead_lettered_total", {"kind": "invalid_value"}) == 1
    # the dead letters: body untouched, reason and origin in the headers
    sub = await js.pull_subscribe(queue.settings.dlq_subject, stream=queue.settings.dlq_stream)
    msgs = await sub.fetch(10, timeout=2)
    assert [m.data for m in msgs] == [bodies[1], bodies[3], bodies[4]]
    kinds = [m.headers[KIND_HEADER] for m in msgs]
    assert kinds == ["bad_json", "missing_field", "invalid_value"]
    assert "org_id" in msgs[1].headers[REASON_HEADER]
    assert "output_tokens" in msgs[2].headers[REASON_HEADER]
    assert [int(m.headers[SEQUENCE_HEADER]) for m in msgs] == [2, 4, 5]


async def test_clickhouse_unavailable_events_wait_in_jetstream_then_catch_up(
    js: JetStreamContext, queue: Queue, nats_url: str, ch_dsn: str
) -> None:
    org = uuid.uuid4()
    first, later = make_events(200, [org]), make_events(300, [org], start=200)
    rec = recorder(nats_url, ch_dsn, queue)
    await rec.start()
    admin = get_client(ch_dsn)
    try:
        await publish_events(js, queue.subject, first)
        await wait_for(lambda: rec.stats.inserted == 200, what="first events")
        admin.command("DETACH TABLE usage_events")  # ClickHouse refuses every insert now
        await publish_events(js, queue.subject, later)
        await wait_for(lambda: rec.stats.insert_failures >= 3, what="failed inserts")
        info = await js.consumer_info(queue.stream, queue.settings.durable)
        assert info.num_pending + info.num_ack_pending == 300, "events were acknowledged without being stored"
        assert rec.stats.inserted == 200
        admin.command("ATTACH TABLE usage_events")
        await wait_for(
            lambda: rec.stats.inserted == 500, within=30, what="catch-up after ClickHouse returned"
        )
        await wait_for(lambda: rec.stats.lag == 0, what="lag 0")
    finally:
        admin.close()
        await rec.stop()
    check_exact(ch_dsn, first + later)
    assert rec.metrics.value("usage_recorder_insert_failures_total") >= 3


async def test_unreachable_clickhouse_server_leaves_events_in_jetstream(
    js: JetStreamContext, queue: Queue, nats_url: str, refused_port: int
) -> None:
    events = make_events(50, [uuid.uuid4()])
    await publish_events(js, queue.subject, events)
    rec = recorder(nats_url, f"http://127.0.0.1:{refused_port}/ias", queue)
    await rec.start()
    try:
        try:
            await wait_for(lambda: rec.stats.insert_failures >= 2, what="failed connects")
        except AssertionError as e:  # say where it stood: not pulled (pending) or stuck inserting
            info = await js.consumer_info(queue.stream, queue.settings.durable)
            raise AssertionError(
                f"{e}; recorder {rec.status()}; consumer pending {info.num_pending}, "
                f"ack pending {info.num_ack_pending}, delivered {info.delivered}"
            ) from None
        assert rec.running, "the recorder gave up"
    finally:
        await rec.stop()
    info = await js.consumer_info(queue.stream, queue.settings.durable)
    assert info.num_pending + info.num_ack_pending == 50
    assert rec.stats.inserted == 0


# --- crashes: the recorder in a child process, killed for real ---------------------------------
def run_child(mode: str, nats_url: str, chdb: Path, q: Queue) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.recorder_proc",
            mode,
            nats_url,
            str(chdb),
            q.stream,
            q.subject,
            q.tag,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"{mode}: no result (rc {proc.returncode})\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.returncode, json.loads(lines[-1])


@pytest.mark.parametrize("mode", ["crash-after-insert", "crash-before-insert"])
async def test_recorder_killed_around_the_insert_counts_every_event_once(
    mode: str, js: JetStreamContext, queue: Queue, nats_url: str, tmp_path: Path
) -> None:
    events = make_events(1500, [uuid.uuid4(), uuid.uuid4()])
    await publish_events(js, queue.subject, events)
    rc, out = run_child(mode, nats_url, tmp_path / "chdb", queue)
    assert rc == -9, f"the recorder was not killed: {out}"
    if mode == "crash-after-insert":
        assert out["inserted"] > 0, "killed before anything was inserted"
    # a new recorder: gets the unacknowledged batch again (after ack_wait) and drains the rest
    rc, out = run_child("drain", nats_url, tmp_path / "chdb", queue)
    assert rc == 0, out
    want = expected(events)
    assert (out["count"], out["input"], out["output"]) == (want["count"], want["input"], want["output"])
    assert (out["daily_requests"], out["daily_input"], out["daily_output"]) == (
        want["count"],
        want["input"],
        want["output"],
    )
    if mode == "crash-after-insert":
        assert out["duplicates"] > 0, "the redelivered batch was not seen as already stored"
        assert out["inserted"] + out["duplicates"] >= len(events)
    else:
        assert out["inserted"] == len(events) and out["duplicates"] == 0


# --- volume ---------------------------------------------------------------------------------------
async def test_100k_events_published_at_once_are_each_counted_once(
    js: JetStreamContext, queue: Queue, nats_url: str, ch_dsn: str
) -> None:
    orgs = [uuid.uuid4() for _ in range(50)]
    events = make_events(100_000, orgs)
    t0 = time.perf_counter()
    await publish_events(js, queue.subject, events)
    published_s = time.perf_counter() - t0
    rec = recorder(nats_url, ch_dsn, queue, batch_size=5000, max_wait_s=1.0)
    t1 = time.perf_counter()
    await rec.start()
    try:
        await wait_for(lambda: rec.stats.inserted == 100_000, within=120, what="100k events recorded")
        drained_s = time.perf_counter() - t1
        await wait_for(lambda: rec.stats.lag == 0, what="lag 0")
    finally:
        await rec.stop()
    check_exact(ch_dsn, events)
    print(
        f"\n100k usage events: published in {published_s:.1f} s ({100_000 / published_s:,.0f}/s); "
        f"recorded in {drained_s:.1f} s = {100_000 / drained_s:,.0f} events/s sustained "
        f"({rec.stats.batches} batches)"
    )


# --- budgets follow the truth ---------------------------------------------------------------------
async def test_flushed_redis_still_enforces_the_budget_after_reconciliation(
    js: JetStreamContext, queue: Queue, nats_url: str, ch_dsn: str, own_valkey: OwnValkey
) -> None:
    redis = make_redis(own_valkey.url)
    over, under = uuid.uuid4(), uuid.uuid4()
    limits = {over: 1000, under: 10**9}

    async def limit_of(org: uuid.UUID) -> int | None:
        return limits[org]

    budgets = BudgetStore(redis, limit_of)
    period = period_key(datetime.now(UTC))
    try:
        # this month: `over` used 1200 tokens (> its 1000 limit), `under` 600; last month is ignored
        spent = make_events(40, [over])  # 40 x (10..16 + 20..30) tokens
        last_month = make_events(
            10, [over], start=500, ts=datetime.now(UTC).replace(day=1) - timedelta(days=3)
        )
        used_under = make_events(20, [under], start=1000)
        await publish_events(js, queue.subject, spent + last_month + used_under)
        rec = recorder(nats_url, ch_dsn, queue, redis)
        await rec.start()
        try:
            await wait_for(lambda: rec.stats.inserted == 70, what="usage recorded")
            await wait_for(lambda: rec.stats.last_reconcile is not None, what="start-up reconciliation")
            # Redis is lost: every counter is gone, `over` would be served again
            await redis.flushall()
            assert await redis.get(used_key(over, period)) is None
            result = await rec.reconcile()
        finally:
            await rec.stop()
        want_over = sum(e.total_tokens for e in spent)
        want_under = sum(e.total_tokens for e in used_under)
        assert result.raised == {over: (0, want_over), under: (0, want_under)}
        assert await budgets.used(over) == want_over
        with pytest.raises(BudgetExceeded):
            await budgets.reserve(over, 10)
        r = await budgets.reserve(under, 10)  # within its budget: served, counted on top
        assert r.used_after == want_under + 10
        # a counter above the record (requests in flight) is never lowered
        await redis.set(used_key(under, period), want_under + 5000)
        again = await BudgetReconciler(redis).reconcile(period, {under: want_under, over: want_over})
        assert again.raised == {}
        assert await budgets.used(under) == want_under + 5000
        assert rec.metrics.value("usage_recorder_reconciliations_total", {"result": "ok"}) >= 2
    finally:
        await redis.aclose()


async def test_reconciles_at_start_up(
    js: JetStreamContext, queue: Queue, nats_url: str, ch_dsn: str, own_valkey: OwnValkey
) -> None:
    org = uuid.uuid4()
    events = make_events(30, [org])
    store = UsageStore(ch_dsn)
    try:
        assert store.insert(events) == 30  # recorded earlier (a previous recorder)
    finally:
        store.close()
    redis = make_redis(own_valkey.url)
    try:
        rec = recorder(nats_url, ch_dsn, queue, redis)
        await rec.start()
        try:
            await wait_for(lambda: rec.stats.last_reconcile is not None, what="start-up reconciliation")
        finally:
            await rec.stop()
        period = period_key(datetime.now(UTC))
        assert int(await redis.get(used_key(org, period))) == sum(e.total_tokens for e in events)
    finally:
        await redis.aclose()
