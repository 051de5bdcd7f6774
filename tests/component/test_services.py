"""The harness's real Valkey and NATS JetStream do what later issues rely on: Lua scripts and
pub/sub (budgets, revocation), JetStream de-duplication by message id (usage events)."""

from __future__ import annotations

import asyncio
import uuid

import nats
import redis.asyncio as redis
from nats.js.api import StreamConfig


async def test_valkey_runs_lua_atomically_and_delivers_pubsub(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    key = f"t:{uuid.uuid4().hex}"
    reserve = r.register_script(
        "local used = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
        "if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return -1 end\n"
        "return redis.call('INCRBY', KEYS[1], ARGV[1])"
    )
    try:
        results = await asyncio.gather(*(reserve(keys=[key], args=[30, 100]) for _ in range(10)))
        assert sorted(results) == [-1] * 7 + [30, 60, 90]
        assert await r.get(key) == "90"

        pubsub = r.pubsub()
        channel = f"revoked:{uuid.uuid4().hex}"
        await pubsub.subscribe(channel)
        assert (await pubsub.get_message(timeout=2))["type"] == "subscribe"
        assert await r.publish(channel, "keyhash") == 1
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert msg is not None and msg["data"] == "keyhash"
        await pubsub.aclose()
    finally:
        await r.delete(key)
        await r.aclose()


async def test_jetstream_drops_a_republished_message_id(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    stream, subject = f"T{uuid.uuid4().hex[:8]}", f"t.{uuid.uuid4().hex[:8]}"
    try:
        await js.add_stream(StreamConfig(name=stream, subjects=[subject]))
        first = await js.publish(subject, b'{"n":1}', headers={"Nats-Msg-Id": "req-1"})
        again = await js.publish(subject, b'{"n":1}', headers={"Nats-Msg-Id": "req-1"})
        other = await js.publish(subject, b'{"n":2}', headers={"Nats-Msg-Id": "req-2"})
        assert (first.duplicate, again.duplicate, other.duplicate) == (None, True, None)

        sub = await js.pull_subscribe(subject, durable="t", stream=stream)
        msgs = await sub.fetch(10, timeout=2)
        assert [m.data for m in msgs] == [b'{"n":1}', b'{"n":2}']
        for m in msgs:
            await m.ack()
        assert (await js.stream_info(stream)).state.messages == 2
    finally:
        await js.delete_stream(stream)
        await nc.close()
