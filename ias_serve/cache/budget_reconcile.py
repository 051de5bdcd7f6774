"""Budget counters follow the truth: raise each org's Redis month counter to what ClickHouse
recorded (ARCHITECTURE §3, the usage recorder's start-up duty).

The Redis counter of a month (:func:`~ias_serve.cache.budget.used_key`) holds the tokens of
recorded requests, of requests settled but still on their way to ClickHouse, and the
reservations of requests in flight. ClickHouse holds only the first. So the counter is never
*lowered* to ClickHouse's figure (that would forget the other two); it is *raised* to it when
it is below, which is exactly what a flushed, restarted-empty or failed-over Redis needs:
nobody's month starts again from zero. One Lua script per org compares and sets atomically,
so a reservation landing at the same moment is not lost.

What it cannot restore: tokens of requests that Redis counted but that had not reached
ClickHouse when Redis was lost (at most the JetStream backlog, normally about a second of
traffic); they are recorded a moment later and the next reconciliation counts them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from redis.asyncio import Redis

from ias_serve.cache.budget import used_key

# KEYS: month counter.  ARGV: recorded tokens, counter ttl (s)  → {before, after}
_RAISE: Final = """
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
local recorded = tonumber(ARGV[1])
if before < recorded then
  redis.call('SET', KEYS[1], recorded, 'EX', ARGV[2])
  return {before, recorded}
end
return {before, before}
"""


@dataclass(slots=True)
class ReconcileResult:
    period: str
    orgs: int = 0
    """Orgs with recorded usage in the period (each one checked)."""
    raised: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)
    """Orgs whose counter was below the record: ``(before, after)``."""


class BudgetReconciler:
    def __init__(self, redis: Redis, *, counter_ttl_s: int = 40 * 86_400) -> None:
        self.redis = redis
        self.counter_ttl_s = counter_ttl_s
        self._raise = redis.register_script(_RAISE)

    async def reconcile(self, period: str, recorded: Mapping[uuid.UUID, int]) -> ReconcileResult:
        """Raise every org's ``period`` ("YYYY-MM") counter to at least its recorded tokens.

        One pipelined round trip for all orgs; raises the Redis error when Redis is away."""
        result = ReconcileResult(period, orgs=len(recorded))
        if not recorded:
            return result
        orgs = list(recorded)
        async with self.redis.pipeline(transaction=False) as pipe:
            for org in orgs:
                await self._raise(
                    keys=[used_key(org, period)], args=[int(recorded[org]), self.counter_ttl_s], client=pipe
                )
            replies = await pipe.execute()
        for org, (before, after) in zip(orgs, replies, strict=True):
            if int(after) != int(before):
                result.raised[org] = (int(before), int(after))
        return result
