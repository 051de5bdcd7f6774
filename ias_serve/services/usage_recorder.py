"""The usage recorder: JetStream → ClickHouse, every event counted exactly once.

One loop, one batch at a time (ARCHITECTURE §3):

1. take a batch from the durable consumer (up to ``batch_size`` events, or what arrived within
   ``max_wait_s`` of the first one);
2. decode each message; an invalid one (bad JSON, missing field, negative tokens …) is stored
   in the dead-letter stream with the reason, counted, and goes no further;
3. insert the valid events with ONE insert that skips request ids already stored
   (:func:`~ias_serve.analytics.schema.insert_usage_events`); on failure wait (capped backoff)
   and insert the same batch again, for as long as ClickHouse is away: the events stay in
   JetStream meanwhile, nothing is acknowledged;
4. acknowledge the batch, only now.

Crash between 3 and 4: JetStream delivers the batch again (after ``ack_wait``) and step 3
finds every request id stored and inserts nothing: no double count. Crash before 3: the
events were never acknowledged and are delivered again: nothing lost.

Beside the loop: the consumer lag is sampled every ``lag_interval_s`` (a metric), and the
budget counters in Redis are reconciled from ClickHouse at start-up, every
``reconcile_interval_s`` and on demand (:meth:`UsageRecorderService.reconcile`; see
:mod:`ias_serve.cache.budget_reconcile`).

A plain class: the Serve deployment (``deployments/usage.py``) only starts and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from nats.aio.msg import Msg

from ias_serve.aio import cancel_and_wait
from ias_serve.analytics.store import UsageStore
from ias_serve.cache.budget_reconcile import BudgetReconciler, ReconcileResult
from ias_serve.domain.budget import month_window, period_key
from ias_serve.protocol.usage import InvalidUsageEvent, UsageEvent, decode_usage_event
from ias_serve.queue.backoff import Backoff
from ias_serve.queue.consumer import UsageConsumer
from ias_serve.services.usage_metrics import RecorderMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RecorderConfig:
    batch_size: int = 5000
    max_wait_s: float = 1.0
    reconcile_interval_s: float = 300.0
    """0: only at start-up and on demand."""
    lag_interval_s: float = 5.0
    retry_initial_s: float = 0.2
    retry_max_s: float = 10.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_wait_s <= 0 or self.lag_interval_s <= 0:
            raise ValueError("batch_size >= 1, max_wait_s > 0 and lag_interval_s > 0 are required")
        if self.reconcile_interval_s < 0:
            raise ValueError("reconcile_interval_s must be >= 0")


@dataclass(slots=True)
class RecorderStats:
    batches: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    insert_failures: int = 0
    last_batch_size: int = 0
    last_insert_at: datetime | None = None
    lag: int | None = None
    last_reconcile: dict[str, Any] | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class UsageRecorderService:
    def __init__(
        self,
        *,
        consumer: UsageConsumer,
        store: UsageStore,
        reconciler: BudgetReconciler | None = None,
        metrics: RecorderMetrics | None = None,
        config: RecorderConfig | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.consumer = consumer
        self.store = store
        self.reconciler = reconciler
        self.metrics = metrics or RecorderMetrics()
        self.config = config or RecorderConfig()
        self.stats = RecorderStats()
        self._clock = clock
        # every ClickHouse call on one thread, one at a time (chDB/clickhouse-connect block)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-store")
        self._tasks: list[asyncio.Task[None]] = []
        self._reconcile_lock = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the loops in the background (returns at once; NATS and ClickHouse may be away)."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._run(), name="usage-recorder"),
            asyncio.create_task(self._watch_lag(), name="usage-recorder-lag"),
            asyncio.create_task(self._reconcile_loop(), name="usage-recorder-reconcile"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            await cancel_and_wait(task)
        await self.consumer.close()
        await self._on_store(self.store.close)
        self._executor.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    # --- the loop -------------------------------------------------------------------------
    async def _run(self) -> None:
        try:  # schema up to date before the first batch (and before analytics reads)
            await self._on_store(self.store.connect)
        except Exception as e:  # the first insert retries until ClickHouse is there
            log.warning("ClickHouse not reachable at start (%s); events wait in JetStream", _describe(e))
        await self.consumer.start()
        log.info(
            "usage recorder consuming %s (batches of up to %d events, %.2f s)",
            self.consumer.settings.subject,
            self.config.batch_size,
            self.config.max_wait_s,
        )
        # Pipelined: batch N+1 is fetched and decoded while batch N is inserted. Commits stay
        # strictly in order (N+1 is inserted only after N is acknowledged), which is what
        # AckPolicy.ALL needs: an ack covers only messages already recorded.
        committing: asyncio.Task[int] | None = None
        try:
            while True:
                batch = await self.consumer.next_batch(self.config.batch_size, self.config.max_wait_s)
                if not batch:
                    continue
                events = await self._decode(batch)
                if committing is not None:
                    await committing
                committing = asyncio.create_task(self._commit(batch, events))
        finally:
            await cancel_and_wait(committing)

    async def _decode(self, batch: list[Msg]) -> list[UsageEvent]:
        """Step 2: the valid events of the batch; the others are dead-lettered."""
        events: list[UsageEvent] = []
        for msg in batch:
            try:
                events.append(decode_usage_event(msg.data))
            except InvalidUsageEvent as e:
                await self._dead_letter(msg, e)
        return events

    async def _commit(self, batch: list[Msg], events: list[UsageEvent]) -> int:
        """Steps 3-4: insert (retrying as long as it takes), then acknowledge the batch."""
        inserted = await self._insert(events) if events else 0
        await self._ack(batch)
        self.metrics.batch_size.observe(len(batch))
        self.stats.batches += 1
        self.stats.last_batch_size = len(batch)
        return inserted

    async def _insert(self, events: list[UsageEvent]) -> int:
        backoff = Backoff(self.config.retry_initial_s, self.config.retry_max_s)
        failures = 0
        while True:
            t0 = time.perf_counter()
            try:
                inserted = await self._on_store(self.store.insert, events)
            except Exception as e:
                failures += 1
                self.stats.insert_failures += 1
                self.metrics.insert_failures.inc()
                delay = backoff.next_delay()
                if failures == 1 or failures % 20 == 0:
                    log.warning(
                        "ClickHouse insert of %d usage events failed (attempt %d: %s); events stay in "
                        "JetStream, retrying in %.1f s",
                        len(events),
                        failures,
                        _describe(e),
                        delay,
                    )
                await asyncio.sleep(delay)
                continue
            self.metrics.insert_seconds.observe(time.perf_counter() - t0)
            self.metrics.last_insert.set(time.time())
            self.metrics.events.labels("inserted").inc(inserted)
            self.metrics.events.labels("duplicate").inc(len(events) - inserted)
            self.stats.inserted += inserted
            self.stats.duplicates += len(events) - inserted
            self.stats.last_insert_at = self._clock()
            if failures:
                log.info("ClickHouse insert succeeded after %d failed attempts", failures)
            return inserted

    async def _dead_letter(self, msg: Msg, err: InvalidUsageEvent) -> None:
        backoff = Backoff(self.config.retry_initial_s, self.config.retry_max_s)
        while True:
            try:
                await self.consumer.dead_letter(msg, err.kind, err.reason)
                break
            except Exception as e:  # NATS away: the batch cannot be acknowledged either
                log.warning("storing a dead letter failed (%s); retrying", _describe(e))
                await backoff.sleep()
        log.warning("usage event dead-lettered (%s): %s", err.kind, err.reason)
        self.metrics.dead_lettered.labels(err.kind).inc()
        self.metrics.events.labels("dead_lettered").inc()
        self.stats.dead_lettered += 1

    async def _ack(self, batch: list[Msg]) -> None:
        try:
            await self.consumer.ack(batch)
        except Exception as e:  # delivered again after ack_wait, then found stored: no harm
            log.warning(
                "acknowledging a batch of %d failed (%s); it will be redelivered", len(batch), _describe(e)
            )

    # --- lag --------------------------------------------------------------------------------
    async def _watch_lag(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                lag = await self.consumer.lag()
                self.stats.lag = lag.total
                self.metrics.lag.set(lag.total)
            await asyncio.sleep(self.config.lag_interval_s)

    # --- budgets ----------------------------------------------------------------------------
    async def reconcile(self, *, now: datetime | None = None) -> ReconcileResult:
        """Raise this month's Redis budget counters to the usage recorded in ClickHouse."""
        if self.reconciler is None:
            raise RuntimeError("no Redis configured: budget reconciliation is off")
        when = now or self._clock()
        window = month_window(when)
        async with self._reconcile_lock:
            try:
                recorded = await self._on_store(
                    self.store.tokens_by_org, window.start.date(), window.end.date()
                )
                result = await self.reconciler.reconcile(period_key(when), recorded)
            except Exception:
                self.metrics.reconciliations.labels("error").inc()
                raise
        self.metrics.reconciliations.labels("ok").inc()
        self.metrics.budgets_raised.inc(len(result.raised))
        self.stats.last_reconcile = {
            "at": self._clock().isoformat(),
            "period": result.period,
            "orgs": result.orgs,
            "raised": {str(k): list(v) for k, v in result.raised.items()},
        }
        if result.raised:
            log.warning(
                "budget counters of %d org(s) were below the recorded usage and were raised: %s",
                len(result.raised),
                ", ".join(f"{org}: {b} -> {a}" for org, (b, a) in result.raised.items()),
            )
        return result

    async def _reconcile_loop(self) -> None:
        if self.reconciler is None:
            return
        backoff = Backoff(1.0, 30.0)
        while True:
            try:
                await self.reconcile()
            except Exception as e:
                delay = backoff.next_delay()
                log.warning("budget reconciliation failed (%s); retrying in %.0f s", _describe(e), delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            if not self.config.reconcile_interval_s:
                return
            await asyncio.sleep(self.config.reconcile_interval_s)

    # --- helpers ----------------------------------------------------------------------------
    async def _on_store(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def status(self) -> dict[str, Any]:
        """What `ias status` and the deployment's health output show."""
        s = self.stats
        return {
            "running": self.running,
            "nats_connected": self.consumer.connected,
            "batches": s.batches,
            "inserted": s.inserted,
            "duplicates": s.duplicates,
            "dead_lettered": s.dead_lettered,
            "insert_failures": s.insert_failures,
            "last_batch_size": s.last_batch_size,
            "last_insert_at": s.last_insert_at.isoformat() if s.last_insert_at else None,
            "lag": s.lag,
            "last_reconcile": s.last_reconcile,
            "started_at": s.started_at.isoformat(),
        }


def _describe(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__
