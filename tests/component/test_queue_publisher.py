"""UsagePublisher against a real NATS JetStream: every event stored exactly once (by request
id), through duplicates, a NATS stop/restart, a NATS that is down at start, and a full buffer."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType
from prometheus_client import CollectorRegistry

from ias_serve.protocol.usage import UsageEvent, UsageStatus
from ias_serve.queue.publisher import MSG_ID_HEADER, UsagePublisher
from ias_serve.stack.embedded import EmbeddedNats, Started, free_port, port_in_use, stop_pid


def make_event(request_id: str | None = None, output_tokens: int = 7) -> UsageEvent:
    return UsageEvent(
        request_id=request_id or f"req-{uuid.uuid4().hex}",
        ts=datetime.now(UTC),
        org_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        key_id=uuid.uuid4(),
        model="test-model",
        input_tokens=12,
        output_tokens=output_tokens,
        latency_ms=250,
        ttft_ms=20,
        status=UsageStatus.OK,
    )


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels or None)
    assert value is not None, name
    return value


async def stream_messages(js: JetStreamContext, stream: str, subject: str) -> list[tuple[str, UsageEvent]]:
    """Every message of the stream as (Nats-Msg-Id header, decoded event)."""
    info = await js.stream_info(stream)
    total = info.state.messages
    sub = await js.pull_subscribe(
        subject,
        stream=stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
    )
    out: list[tuple[str, UsageEvent]] = []
    try:
        while len(out) < total:
            for msg in await sub.fetch(min(1000, total - len(out)), timeout=10):
                out.append(
                    ((msg.headers or {}).get(MSG_ID_HEADER, ""), UsageEvent.model_validate_json(msg.data))
                )
    finally:
        await sub.unsubscribe()
    return out


def assert_exactly_once(messages: list[tuple[str, UsageEvent]], sent: list[str]) -> None:
    ids = [ev.request_id for _, ev in messages]
    assert all(hdr == ev.request_id for hdr, ev in messages), "message id must be the request id"
    dup = [rid for rid, n in Counter(ids).items() if n > 1]
    assert not dup, f"{len(dup)} events stored more than once, e.g. {dup[:3]}"
    missing = set(sent) - set(ids)
    assert not missing, f"{len(missing)} of {len(sent)} events lost, e.g. {sorted(missing)[:3]}"
    assert len(ids) == len(set(sent))


def restart_nats(data: Path, port: int, log: Path) -> Started:
    """Start NATS again on the same port and store. Waits for the port first: right after a
    SIGKILL, stop_pid can report the server gone (its main thread is a zombie) while its other
    threads still hold the listening socket for a few milliseconds."""
    deadline = time.monotonic() + 10
    while port_in_use(port) and time.monotonic() < deadline:
        time.sleep(0.02)
    return EmbeddedNats(data, port, log).start()


async def test_every_event_is_stored_once_with_its_request_id_as_message_id(
    nats_url: str, js: JetStreamContext, names: Callable[[], tuple[str, str]]
) -> None:
    stream, subject = names()
    registry = CollectorRegistry()
    pub = UsagePublisher(nats_url, stream=stream, subject=subject, registry=registry)
    await pub.start()
    events = [make_event(output_tokens=i) for i in range(2_000)]
    try:
        started = time.perf_counter()
        for ev in events:
            pub.publish(ev)
        assert await pub.flush(60), f"backlog {pub.backlog}"
        elapsed = time.perf_counter() - started
        print(f"\npublished {len(events)} usage events in {elapsed:.3f}s = {len(events) / elapsed:,.0f}/s")
    finally:
        await pub.close()

    messages = await stream_messages(js, stream, subject)
    assert_exactly_once(messages, [e.request_id for e in events])
    assert {e.request_id: e for _, e in messages} == {e.request_id: e for e in events}  # intact
    info = await js.stream_info(stream)
    assert info.config.storage == StorageType.FILE
    assert sample(registry, "ias_usage_publish_published_total", result="stored") == 2_000
    assert sample(registry, "ias_usage_publish_backlog") == 0
    assert (
        sum(sample(registry, "ias_usage_publish_dropped_total", reason=r) for r in ("overflow", "shutdown"))
        == 0
    )


async def test_the_same_request_id_published_twice_is_stored_once(
    nats_url: str, js: JetStreamContext, names: Callable[[], tuple[str, str]]
) -> None:
    stream, subject = names()
    registry = CollectorRegistry()
    pub = UsagePublisher(nats_url, stream=stream, subject=subject, registry=registry)
    await pub.start()
    first, other = make_event("req-twice"), make_event()
    try:
        pub.publish(first)
        pub.publish(first)  # in the same batch
        pub.publish(other)
        assert await pub.flush(30)
        pub.publish(make_event("req-twice", output_tokens=99))  # later, a retry with another body
        assert await pub.flush(30)
    finally:
        await pub.close()

    messages = await stream_messages(js, stream, subject)
    assert sorted(e.request_id for _, e in messages) == sorted(["req-twice", other.request_id])
    assert next(e for _, e in messages if e.request_id == "req-twice") == first  # the first one wins
    assert sample(registry, "ias_usage_publish_published_total", result="stored") == 2
    assert sample(registry, "ias_usage_publish_published_total", result="duplicate") == 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_events_survive_a_nats_stop_and_restart_exactly_once(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """A steady stream of events (~2,000/s) while NATS is stopped for ~2 s and started again on
    the same port and store: nothing lost, nothing stored twice, publish() never raises."""
    port, data, log = free_port(), tmp_path / "nats", tmp_path / "nats.log"
    server = EmbeddedNats(data, port, log).start()
    registry = CollectorRegistry()
    pub = UsagePublisher(
        server.url,
        registry=registry,
        publish_timeout_s=2.0,
        reconnect_time_wait_s=0.2,
        backoff_max_s=0.5,
    )
    await pub.start()
    sent: list[str] = []
    stop = asyncio.Event()

    async def produce() -> None:
        while not stop.is_set():
            for _ in range(20):
                ev = make_event()
                pub.publish(ev)  # must never raise: an exception here fails the test
                sent.append(ev.request_id)
            await asyncio.sleep(0.01)

    producer = asyncio.create_task(produce())
    try:
        await asyncio.sleep(1.0)
        assert sample(registry, "ias_usage_publish_published_total", result="stored") > 0
        assert sample(registry, "ias_usage_publish_connected") == 1

        assert await asyncio.to_thread(stop_pid, server.pid, sig=sig)
        backlog_at_stop = pub.backlog
        await asyncio.sleep(2.0)
        assert not producer.done()
        assert sample(registry, "ias_usage_publish_connected") == 0
        assert sample(registry, "ias_usage_publish_backlog") > backlog_at_stop + 500  # it grows
        sent_while_down = len(sent)

        server = await asyncio.to_thread(restart_nats, data, port, log)
        await asyncio.sleep(1.0)  # events keep coming while the backlog drains
        stop.set()
        await producer
        assert len(sent) > sent_while_down
        assert await pub.flush(60), f"backlog {pub.backlog}"
        assert sample(registry, "ias_usage_publish_connected") == 1
    finally:
        stop.set()
        await producer
        await pub.close()

    nc = await nats.connect(server.url)
    try:
        messages = await stream_messages(nc.jetstream(), "USAGE", "usage.v1")
    finally:
        await nc.close()
        stop_pid(server.pid)
    assert_exactly_once(messages, sent)
    assert len(sent) > 2_000
    assert (
        sum(sample(registry, "ias_usage_publish_dropped_total", reason=r) for r in ("overflow", "shutdown"))
        == 0
    )


async def test_deduplication_survives_a_nats_crash(tmp_path: Path) -> None:
    """An event stored just before NATS was killed (its ack lost) and retried after the restart
    is still recognised: JetStream rebuilds its duplicate window from the file store."""
    port, data, log = free_port(), tmp_path / "nats", tmp_path / "nats.log"
    server = EmbeddedNats(data, port, log).start()
    registry = CollectorRegistry()
    pub = UsagePublisher(server.url, registry=registry, reconnect_time_wait_s=0.2)
    await pub.start()
    event = make_event()
    try:
        pub.publish(event)
        assert await pub.flush(30)
        stop_pid(server.pid, sig=signal.SIGKILL)
        server = await asyncio.to_thread(restart_nats, data, port, log)
        pub.publish(event)
        assert await pub.flush(30)
    finally:
        await pub.close()
    nc = await nats.connect(server.url)
    try:
        messages = await stream_messages(nc.jetstream(), "USAGE", "usage.v1")
    finally:
        await nc.close()
        stop_pid(server.pid)
    assert_exactly_once(messages, [event.request_id])
    assert sample(registry, "ias_usage_publish_published_total", result="duplicate") == 1


async def test_a_retry_after_a_lost_acknowledgement_is_not_stored_twice(tmp_path: Path) -> None:
    """NATS frozen (SIGSTOP) with publishes on the wire: they time out and are retried; when it
    thaws it stores the originals, acknowledges them too late, and drops the retries."""
    server = EmbeddedNats(tmp_path / "nats", free_port(), tmp_path / "nats.log").start()
    registry = CollectorRegistry()
    pub = UsagePublisher(server.url, registry=registry, publish_timeout_s=0.3, backoff_max_s=0.2)
    await pub.start()
    events = [make_event() for _ in range(1_000)]
    try:
        for ev in events[:200]:
            pub.publish(ev)
        assert await pub.flush(30)
        os.kill(server.pid, signal.SIGSTOP)
        try:
            for ev in events[200:]:
                pub.publish(ev)
            await asyncio.sleep(1.5)  # several timed-out attempts of the same events
            assert pub.backlog > 0
            assert sample(registry, "ias_usage_publish_failures_total", reason="timeout") > 0
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert await pub.flush(30), f"backlog {pub.backlog}"
        assert await pub.close() == 0
        nc = await nats.connect(server.url)
        try:
            messages = await stream_messages(nc.jetstream(), "USAGE", "usage.v1")
        finally:
            await nc.close()
    finally:
        await pub.close()
        stop_pid(server.pid)
    assert_exactly_once(messages, [e.request_id for e in events])
    assert sample(registry, "ias_usage_publish_published_total", result="duplicate") > 0  # dedup did it


async def test_start_while_nats_is_down_delivers_once_it_is_up(tmp_path: Path) -> None:
    port = free_port()
    registry = CollectorRegistry()
    pub = UsagePublisher(f"nats://127.0.0.1:{port}", registry=registry, reconnect_time_wait_s=0.2)
    started = time.perf_counter()
    await pub.start()  # does not wait for NATS, does not fail
    assert time.perf_counter() - started < 0.5
    events = [make_event() for _ in range(300)]
    for ev in events:
        pub.publish(ev)
    await asyncio.sleep(0.5)
    assert pub.backlog == 300 and not pub.connected
    assert sample(registry, "ias_usage_publish_backlog") == 300

    server = await asyncio.to_thread(EmbeddedNats(tmp_path / "nats", port, tmp_path / "nats.log").start)
    nc: Client | None = None
    try:
        assert await pub.flush(30), f"backlog {pub.backlog}"
        assert await pub.close() == 0
        nc = await nats.connect(server.url)
        messages = await stream_messages(nc.jetstream(), "USAGE", "usage.v1")  # stream created on connect
    finally:
        if nc is not None:
            await nc.close()
        stop_pid(server.pid)
    assert_exactly_once(messages, [e.request_id for e in events])


async def test_a_full_buffer_drops_the_oldest_events_and_counts_them(
    nats_url: str, js: JetStreamContext, names: Callable[[], tuple[str, str]]
) -> None:
    stream, subject = names()
    registry = CollectorRegistry()
    pub = UsagePublisher(nats_url, stream=stream, subject=subject, max_buffer=100, registry=registry)
    events = [make_event() for _ in range(250)]
    for ev in events:  # not started yet: as if NATS were away
        pub.publish(ev)
    assert pub.backlog == 100
    assert sample(registry, "ias_usage_publish_dropped_total", reason="overflow") == 150
    await pub.start()
    try:
        assert await pub.flush(30)
    finally:
        await pub.close()
    assert_exactly_once(await stream_messages(js, stream, subject), [e.request_id for e in events[-100:]])


async def test_close_counts_what_it_could_not_deliver_and_later_publishes_never_raise(
    refused_port: int,
) -> None:
    registry = CollectorRegistry()
    pub = UsagePublisher(f"nats://127.0.0.1:{refused_port}", registry=registry)
    await pub.start()
    for _ in range(10):
        pub.publish(make_event())
    started = time.perf_counter()
    assert await pub.close(flush_timeout_s=0.3) == 10
    assert time.perf_counter() - started < 3
    pub.publish(make_event())
    assert pub.backlog == 0
    assert sample(registry, "ias_usage_publish_dropped_total", reason="shutdown") == 10
    assert sample(registry, "ias_usage_publish_dropped_total", reason="closed") == 1
