"""``api_keys.last_used_at`` without a database write per request.

:meth:`LastUsedBatcher.record` adds the key id to an in-memory set (O(1)); a background task
writes the whole set with one ``UPDATE … WHERE id IN (…)`` every ``interval_s`` seconds (the
database's ``now()``, never moving a value backwards), and once more on :meth:`stop`. A failed
write puts the ids back for the next round, so a database blip loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.aio import cancel_and_wait
from ias_serve.cache.metrics import AuthMetrics
from ias_serve.db.repositories.api_keys import ApiKeyRepository

_log = logging.getLogger(__name__)


class LastUsedBatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        metrics: AuthMetrics,
        interval_s: float = 5.0,
        max_pending: int = 100_000,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._sm = sessionmaker
        self._metrics = metrics
        self.interval_s = interval_s
        self.max_pending = max_pending
        self._pending: set[uuid.UUID] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def record(self, key_id: uuid.UUID) -> None:
        if len(self._pending) < self.max_pending or key_id in self._pending:
            self._pending.add(key_id)

    async def flush(self) -> int:
        """Write every pending id in one UPDATE; returns the number of rows changed."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, set()
        try:
            async with self._sm() as session, session.begin():
                changed = await ApiKeyRepository(session).touch_last_used(list(batch))
        except asyncio.CancelledError:
            self._pending |= batch  # stop() flushes them
            raise
        except Exception as exc:
            self._pending |= batch
            self._metrics.last_used_flushes.labels("error").inc()
            _log.warning("could not write last_used_at of %d API keys: %s", len(batch), type(exc).__name__)
            return 0
        self._metrics.last_used_flushes.labels("ok").inc()
        return changed

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ias-last-used-flush")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.flush()
