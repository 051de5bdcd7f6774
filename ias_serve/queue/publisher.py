"""Background publisher of usage events to JetStream (ARCHITECTURE §3.5).

The request path calls :meth:`UsagePublisher.publish` after the response has ended: it
serialises the event and appends it to an in-memory buffer, O(1), never blocking, never
raising. One background task drains the buffer: it publishes up to ``max_inflight`` events
at once (acknowledgements awaited together), removes the acknowledged ones, puts the failed
ones back at the head and retries them after a capped, jittered exponential backoff. The
JetStream message id is the request id, so a retry of an event whose acknowledgement was lost
is dropped by the stream's duplicate window: each event is stored once.

Buffer policy: bounded (``max_buffer`` events, about 0.5 KB each). When it is full the OLDEST
event is dropped, counted (``ias_usage_publish_dropped_total{reason="overflow"}``) and logged
(at most every 10 s). Dropping either end loses one event; the oldest is the one to lose:
budgets are monthly, so recent events matter more (the recorder re-settles the current
month's budget from ClickHouse), and the head holds the events whose earlier attempt timed
out, some of which JetStream may already have stored.

NATS down: the publisher connects in the background (``start()`` never waits for NATS), and
nats-py reconnects forever; meanwhile events wait in the buffer and
``ias_usage_publish_backlog`` shows how many. On each (re)connect the stream is ensured
(:func:`~ias_serve.queue.jetstream.ensure_usage_stream`), so a NATS that restarted empty gets
it back.

Call ``publish`` from the event loop that ran ``start()``; from another thread it is safe too
(the append is atomic; the wake-up is handed to the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import asdict
from typing import Final

from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NoStreamResponseError
from prometheus_client import CollectorRegistry

from ias_serve.aio import cancel_and_wait
from ias_serve.protocol.usage import UsageEvent
from ias_serve.queue.backoff import Backoff
from ias_serve.queue.connection import JetStreamConnection
from ias_serve.queue.jetstream import DEFAULT_STREAM, DEFAULT_SUBJECT, UsageStreamLimits, ensure_usage_stream
from ias_serve.queue.metrics import UsagePublishMetrics, failure_reason

log = logging.getLogger(__name__)

MSG_ID_HEADER: Final = "Nats-Msg-Id"
_DROP_LOG_EVERY_S: Final = 10.0

_Entry = tuple[str, bytes]  # (request id, JSON body)


class UsagePublisher:
    """Publishes :class:`UsageEvent` s to ``subject`` of JetStream stream ``stream``.

    ``stream_limits=None`` leaves the stream to someone else (it must exist). Metrics go to
    ``registry`` (a private one when None: pass the app's registry to export them).
    """

    def __init__(
        self,
        nats_url: str,
        *,
        stream: str = DEFAULT_STREAM,
        subject: str = DEFAULT_SUBJECT,
        max_buffer: int = 100_000,
        max_inflight: int = 256,
        publish_timeout_s: float = 5.0,
        backoff_initial_s: float = 0.1,
        backoff_max_s: float = 5.0,
        reconnect_time_wait_s: float = 1.0,
        connect_timeout_s: float = 2.0,
        stream_limits: UsageStreamLimits | None = UsageStreamLimits(),  # frozen: a shared default is safe
        registry: CollectorRegistry | None = None,
        client_name: str = "ias-usage-publisher",
    ) -> None:
        if max_buffer < 1 or max_inflight < 1:
            raise ValueError("max_buffer and max_inflight must be >= 1")
        if publish_timeout_s <= 0:
            raise ValueError("publish_timeout_s must be > 0")
        self.nats_url = nats_url
        self.stream = stream
        self.subject = subject
        self.max_buffer = max_buffer
        self.max_inflight = max_inflight
        self.publish_timeout_s = publish_timeout_s
        self._stream_limits = stream_limits
        self.metrics = UsagePublishMetrics(registry or CollectorRegistry(), lambda: self.backlog)
        self._backoff = Backoff(backoff_initial_s, backoff_max_s)
        self._conn = JetStreamConnection(
            nats_url,
            name=client_name,
            prepare=self._ensure_stream if stream_limits is not None else None,
            on_connected=lambda up: self.metrics.connected.set(1 if up else 0),
            reconnect_time_wait_s=reconnect_time_wait_s,
            connect_timeout_s=connect_timeout_s,
            request_timeout_s=publish_timeout_s,
            max_pending_acks=max_inflight,
            backoff=Backoff(backoff_initial_s, backoff_max_s),
        )

        self._buffer: deque[_Entry] = deque()
        self._inflight = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_id: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._failing = False
        self._drops_unlogged = 0
        self._drop_logged_at = -_DROP_LOG_EVERY_S

    # --- request path ---------------------------------------------------------------------
    @property
    def backlog(self) -> int:
        """Events not yet acknowledged by JetStream: buffered plus in flight."""
        return len(self._buffer) + self._inflight

    @property
    def connected(self) -> bool:
        return self._conn.connected

    def publish(self, event: UsageEvent) -> None:
        """Queue ``event`` for publishing. O(1); never blocks, never raises."""
        try:
            entry = (event.request_id, event.model_dump_json().encode())
        except Exception:
            log.exception("usage event not serialisable, dropped")
            self._drop("unserializable")
            return
        if self._closed:
            self._drop("closed")
            return
        buf = self._buffer
        if len(buf) >= self.max_buffer:
            with contextlib.suppress(IndexError):  # emptied by the drain task meanwhile
                buf.popleft()
                self._drop("overflow")
        buf.append(entry)
        if self._thread_id == threading.get_ident():
            self._wake.set()
        elif self._loop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(self._wake.set)

    def _drop(self, reason: str, n: int = 1) -> None:
        self.metrics.dropped.labels(reason).inc(n)
        self._drops_unlogged += n
        now = time.monotonic()
        if now - self._drop_logged_at >= _DROP_LOG_EVERY_S:
            log.error(
                "usage events dropped (%s): %d since the last report; backlog %d, max_buffer %d",
                reason,
                self._drops_unlogged,
                self.backlog,
                self.max_buffer,
            )
            self._drops_unlogged, self._drop_logged_at = 0, now

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the background task; returns at once, whether NATS is up or not."""
        if self._task is not None or self._closed:
            return
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        self._task = asyncio.create_task(self._run(), name="ias-usage-publisher")

    async def flush(self, timeout_s: float) -> bool:
        """Wait until the backlog is 0 (True) or ``timeout_s`` has passed (False)."""
        deadline = time.monotonic() + timeout_s
        while self.backlog:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def close(self, flush_timeout_s: float = 5.0) -> int:
        """Deliver what can be delivered within ``flush_timeout_s``, then stop and disconnect.

        Returns how many events were left undelivered (counted as dropped, ``shutdown``).
        """
        if self._closed:
            return 0
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), flush_timeout_s)
            except TimeoutError:
                await cancel_and_wait(self._task)
        self._closed = True
        left = len(self._buffer)
        if left:
            self._drops_unlogged, self._drop_logged_at = 0, -_DROP_LOG_EVERY_S
            self._drop("shutdown", left)
            self._buffer.clear()
        await self._conn.close()
        return left

    # --- background -----------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            if not self._buffer:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                js = await self._conn.ready()
                await self._send_batch(js)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop metering: log, back off, go on
                log.exception("usage publisher loop failed; retrying")
                await self._backoff.sleep()

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        assert self._stream_limits is not None
        await ensure_usage_stream(js, self.stream, self.subject, **asdict(self._stream_limits))

    async def _send_batch(self, js: JetStreamContext) -> None:
        n = min(len(self._buffer), self.max_inflight)
        batch = [self._buffer.popleft() for _ in range(n)]
        self._inflight = n
        futures: list[asyncio.Future[PubAck] | None] = []
        error: BaseException | None = None
        try:
            # One deadline for sending and acknowledgements: sending can stall too (a frozen
            # server, a full socket: nats-py then waits for its flusher).
            async with asyncio.timeout(self.publish_timeout_s):
                for request_id, payload in batch:
                    if error is None:
                        try:
                            fut = await js.publish_async(
                                self.subject, payload, headers={MSG_ID_HEADER: request_id}, stream=self.stream
                            )
                        except Exception as e:  # disconnected meanwhile, buffer limit...
                            error, fut = e, None
                        futures.append(fut)
                    else:
                        futures.append(None)
                sent = [f for f in futures if f is not None]
                if sent:
                    await asyncio.wait(sent)
        except TimeoutError:
            pass  # what is not acknowledged by now is retried
        finally:  # also on cancel (close): keep what was not acknowledged
            failed = self._settle(batch, futures, error)
            self._buffer.extendleft(reversed(failed))
            self._inflight = 0
            excess = len(self._buffer) - self.max_buffer  # filled up meanwhile: oldest go
            for _ in range(excess):
                self._buffer.popleft()
            if excess > 0:
                self._drop("overflow", excess)
        self._after_batch(len(failed), len(batch))
        if failed:
            await self._backoff.sleep()

    def _settle(
        self, batch: list[_Entry], futures: list[asyncio.Future[PubAck] | None], error: BaseException | None
    ) -> list[_Entry]:
        """Count the outcome of each event; return the ones to retry."""
        failed: list[_Entry] = []
        stored = duplicate = 0
        for i, entry in enumerate(batch):
            fut = futures[i] if i < len(futures) else None
            if fut is not None and fut.done() and not fut.cancelled() and fut.exception() is None:
                if fut.result().duplicate:
                    duplicate += 1
                else:
                    stored += 1
                continue
            if fut is None:
                exc: BaseException | None = error
            elif not fut.done() or fut.cancelled():
                fut.cancel()  # releases nats-py's pending slot; a late ack is ignored
                exc = None
            else:
                exc = fut.exception()
            if isinstance(exc, NoStreamResponseError):
                self._conn.invalidate()
            self.metrics.failures.labels(failure_reason(exc)).inc()
            failed.append(entry)
        if stored:
            self.metrics.published.labels("stored").inc(stored)
        if duplicate:
            self.metrics.published.labels("duplicate").inc(duplicate)
        return failed

    def _after_batch(self, failed: int, total: int) -> None:
        if failed:
            if not self._failing:
                self._failing = True
                log.warning(
                    "usage publish: %d of %d events failed; retrying (backlog %d)",
                    failed,
                    total,
                    self.backlog,
                )
        else:
            if self._failing:
                self._failing = False
                log.info("usage publish recovered; backlog %d", self.backlog)
            self._backoff.reset()
