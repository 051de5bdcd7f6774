"""Background subscriber to the revocation channel, with a heartbeat that tells how far its
view of the channel can be trusted.

The listener PINGs on its own pub/sub connection every ``stale_after_s / 4``, with the send
time as payload. Redis answers in order, after every message published before it processed
the PING, so when the pong of a PING sent at ``t`` has arrived, every revocation published
before ``t`` has been handled. :meth:`RevocationListener.healthy` is true while the newest
answered PING was sent less than ``stale_after_s`` ago: a replica that trusts its local cache
only then accepts a revoked key at most ``stale_after_s`` after the revocation, also when the
connection died silently. Every (re)subscription calls ``on_connect`` (the authenticator then
empties its local cache: messages may have been missed while disconnected). The loop
reconnects by itself with a capped exponential backoff (50 ms … 1 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from ias_serve.aio import cancel_and_wait
from ias_serve.cache.key_store import CHANNEL
from ias_serve.cache.metrics import AuthMetrics
from ias_serve.cache.redis import describe_redis_error

_log = logging.getLogger(__name__)
_HEARTBEAT_PREFIX = "ias-hb "


class RevocationListener:
    def __init__(
        self,
        redis: Redis,
        on_message: Callable[[str], None],
        on_connect: Callable[[], None],
        *,
        metrics: AuthMetrics,
        stale_after_s: float = 1.0,
        min_backoff_s: float = 0.05,
        max_backoff_s: float = 1.0,
    ) -> None:
        self._redis = redis
        self._on_message = on_message
        self._on_connect = on_connect
        self._metrics = metrics
        self.stale_after_s = stale_after_s
        self._heartbeat_s = stale_after_s / 4
        self._dead_after_s = max(3 * stale_after_s, 1.0)  # no pong that long: reconnect
        self._min_backoff_s = min_backoff_s
        self._max_backoff_s = max_backoff_s
        self._subscribed = False
        self._acked_at = float("-inf")  # send time of the newest answered PING
        self._task: asyncio.Task[None] | None = None
        self._connected_event = asyncio.Event()

    def healthy(self, now: float | None = None) -> bool:
        """True while every revocation published until ``now - stale_after_s`` was handled."""
        now = time.monotonic() if now is None else now
        return self._subscribed and now - self._acked_at < self.stale_after_s

    async def wait_healthy(self, within_s: float) -> bool:
        """Wait until the listener is subscribed and answering (False after ``within_s``)."""
        deadline = time.monotonic() + within_s
        while not self.healthy():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._connected_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected_event.wait(), min(left, self._heartbeat_s))
        return True

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ias-revocation-listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        self._subscribed = False

    async def _run(self) -> None:
        backoff = self._min_backoff_s
        while True:
            pubsub = self._redis.pubsub()
            try:
                subscribe_sent = time.monotonic()
                await pubsub.subscribe(CHANNEL)
                await self._pump(pubsub, subscribe_sent)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._subscribed or backoff == self._min_backoff_s:
                    _log.warning(
                        "revocation listener disconnected (%s); local key cache bypassed until it is back",
                        describe_redis_error(exc),
                    )
                self._metrics.redis_errors.labels("listen").inc()
            finally:
                was_subscribed, self._subscribed = self._subscribed, False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            if was_subscribed:
                backoff = self._min_backoff_s
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff_s)

    async def _pump(self, pubsub: PubSub, subscribe_sent: float) -> None:
        next_ping = subscribe_sent
        while True:
            now = time.monotonic()
            if now >= next_ping:
                await pubsub.ping(f"{_HEARTBEAT_PREFIX}{now!r}")
                next_ping = now + self._heartbeat_s
            if self._subscribed and now - self._acked_at > self._dead_after_s:
                raise RedisConnectionError("no heartbeat answer on the pub/sub connection")
            msg = await pubsub.get_message(timeout=max(0.0, next_ping - time.monotonic()))
            if msg is None:
                continue
            kind, data = msg["type"], msg["data"]
            if kind == "subscribe":
                # (re)subscribed, possibly by redis-py's own reconnect: messages may be lost.
                # Everything published after the SUBSCRIBE was sent reaches us from now on.
                self._on_connect()
                self._metrics.listener_reconnects.inc()
                self._subscribed = True
                self._acked_at = max(self._acked_at, subscribe_sent)
                self._connected_event.set()
            elif kind == "pong" and isinstance(data, str) and data.startswith(_HEARTBEAT_PREFIX):
                self._acked_at = max(self._acked_at, float(data[len(_HEARTBEAT_PREFIX) :]))
                self._connected_event.set()
            elif kind == "message" and isinstance(data, str):
                self._on_message(data)
