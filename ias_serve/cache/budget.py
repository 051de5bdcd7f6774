"""Monthly token budgets in Redis: reserve before the engine runs, settle when it is done.

Layout (one org = two keys, both plain strings):

* ``ias:budget:{org_id}:{YYYY-MM}`` → tokens used (and reserved) in that UTC month; TTL
  ``counter_ttl_s`` (40 days), renewed by every reservation, so a month's counter outlives its
  month and is then dropped.
* ``ias:budget:{org_id}:limit`` → the monthly limit, ``-1`` = unlimited; TTL ``limit_ttl_s``
  (60 s): a changed limit in PostgreSQL is picked up within a minute even when nobody calls
  :meth:`BudgetStore.set_limit`/:meth:`BudgetStore.invalidate_limit`.

:meth:`BudgetStore.reserve` is one Lua script (EVALSHA): read limit and counter, refuse when
``used + tokens > limit``, else ``INCRBY tokens``. Redis runs scripts one at a time, so
concurrent requests cannot overspend. When the limit key is missing the script says so; the
store loads the limit (one load per org at a time in this process), and runs the script again
with it, which stores it unless a fresher value appeared meanwhile. Unlimited orgs are counted
too (same script), so usage is visible and a limit set later applies to the month so far.

:meth:`BudgetStore.settle` adds ``actual − reserved`` to the reservation's month (a stream that
crosses midnight at the month's end is billed to the month it started in), once per
:class:`Reservation`, never raising. Usage exceeds the limit only when a request reports more
tokens than it reserved (the gateway reserves an upper bound, so it should not).

Redis unreachable: :class:`ServiceUnavailable` (``fail_open=False``, the default), or with
``fail_open=True`` an untracked :class:`Reservation` (nothing counted, settle is a no-op; the
usage recorder's reconciliation from ClickHouse brings the counter back). Nothing is cached
about the outage: the next call tries Redis again, so the store recovers by itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.cache.metrics import BudgetMetrics
from ias_serve.cache.rate_limit import (
    ADMIT,
    BUDGET_CHECK,
    RELEASE,
    RateLimitSet,
    RateState,
    rate_keys,
    rate_limited,
)
from ias_serve.cache.redis import REDIS_UNAVAILABLE, describe_redis_error
from ias_serve.db.repositories.budgets import BudgetRepository
from ias_serve.domain.budget import period_key
from ias_serve.errors import BudgetExceeded, ServiceUnavailable

_log = logging.getLogger(__name__)

T = TypeVar("T")

LimitSource = Callable[[uuid.UUID], Awaitable[int | None]]
"""``org_id → monthly token limit`` (``None``: unlimited)."""

UNLIMITED: Final = -1
_PERIOD_RE: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# KEYS: month counter, limit.  ARGV: tokens, counter ttl (s)[, limit to store, limit ttl (ms)]
# → {status, used, limit}: status 1 reserved, 0 over budget, -1 limit unknown (nothing done)
_RESERVE: Final = (
    BUDGET_CHECK
    + """
used = redis.call('INCRBY', KEYS[1], tokens)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, used, limit}
"""
)

# KEYS: month counter.  ARGV: delta, counter ttl (s) → the new count (never below 0)
_ADJUST: Final = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if used < 0 then
  redis.call('SET', KEYS[1], 0)
  used = 0
end
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return used
"""


def used_key(org_id: uuid.UUID, period: str) -> str:
    return f"ias:budget:{org_id}:{period}"


def limit_key(org_id: uuid.UUID) -> str:
    return f"ias:budget:{org_id}:limit"


@dataclass(slots=True, eq=False)
class Reservation:
    """Tokens set aside for one request; hand it back to :meth:`BudgetStore.settle`."""

    org_id: uuid.UUID
    tokens: int
    period: str  # "YYYY-MM" of the month charged
    tracked: bool = True  # False: fail-open, Redis was not reached and nothing was counted
    limit: int | None = None  # the limit it was checked against (None: unlimited/unknown)
    used_after: int = 0  # the month's count right after reserving
    settled: bool = False
    actual_tokens: int | None = None
    rate: RateLimitSet | None = None  # the rate limits it was admitted under (None: none)
    rate_keys: list[str] | None = None
    member: str = ""  # the request's slot in the concurrency sets
    rate_state: RateState = field(default_factory=RateState)


class PostgresLimitSource:
    """:data:`LimitSource` reading ``org_budgets`` (no row or NULL: unlimited)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sm = sessionmaker

    async def __call__(self, org_id: uuid.UUID) -> int | None:
        async with self._sm() as session:
            return await BudgetRepository(session).get_limit(org_id)


class _LimitUnavailable(Exception):
    pass


class BudgetStore:
    def __init__(
        self,
        redis: Redis,
        limit_source: LimitSource,
        *,
        fail_open: bool = False,
        limit_ttl_s: float = 60.0,
        counter_ttl_s: int = 40 * 86_400,
        lease_s: float = 900.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.redis = redis
        self.fail_open = fail_open
        self.limit_ttl_s = limit_ttl_s
        self.counter_ttl_s = counter_ttl_s
        self.lease_s = lease_s  # a concurrency slot not released (replica died) expires then
        self.metrics = BudgetMetrics(registry)
        self._limit_source = limit_source
        self._reserve = redis.register_script(_RESERVE)
        self._adjust = redis.register_script(_ADJUST)
        self._admit = redis.register_script(ADMIT)
        self._release = redis.register_script(RELEASE)
        self._loading: dict[uuid.UUID, asyncio.Task[int | None]] = {}
        self._background: set[asyncio.Task[None]] = set()  # settlements outliving their caller
        self._down = False

    async def reserve(
        self,
        org_id: uuid.UUID,
        tokens: int,
        *,
        now: datetime | None = None,
        rate: RateLimitSet | None = None,
        key_id: uuid.UUID | None = None,
        member: str = "",
    ) -> Reservation:
        """Set ``tokens`` aside in this month's budget. :class:`BudgetExceeded` (429) when they
        do not fit; :class:`ServiceUnavailable` (503) when Redis or the limit cannot be read
        (unless ``fail_open``).

        With ``rate`` limits (and the request's ``key_id`` and ``member``, its usage id) the
        same round trip also checks and takes the key's and org's rate limits
        (:mod:`ias_serve.cache.rate_limit`): :class:`RateLimited` (429) when one is reached."""
        if tokens < 0:
            raise ValueError("cannot reserve a negative number of tokens")
        period = period_key(now if now is not None else datetime.now(UTC))
        limited = rate is not None and rate.any and key_id is not None
        try:
            out, keys = await self._admission(
                org_id, period, tokens, rate if limited else None, key_id, member
            )
        except REDIS_UNAVAILABLE as exc:
            self.metrics.redis_errors.labels("reserve").inc()
            return self._unavailable(org_id, tokens, period, "Redis is unreachable", exc)
        except _LimitUnavailable as exc:
            return self._unavailable(
                org_id, tokens, period, "the organisation's token limit cannot be read", exc
            )
        status, used, limit = out[0], out[1], out[2]
        self._recovered()
        if status == 2:
            assert rate is not None
            self.metrics.reservations.labels("rate_limited").inc()
            raise rate_limited(out, rate, tokens)
        if status == 0:
            self.metrics.reservations.labels("rejected").inc()
            raise BudgetExceeded(
                f"monthly token budget of org {org_id} exhausted: limit {limit} tokens, used {used}, "
                f"this request needs up to {tokens} (the budget renews on the 1st, UTC)"
            )
        self.metrics.reservations.labels("reserved").inc()
        reservation = Reservation(org_id, tokens, period, limit=_decode_limit(limit), used_after=int(used))
        if limited:
            reservation.rate, reservation.rate_keys, reservation.member = rate, keys[2:], member
            reservation.rate_state = RateState.from_script(out)
        return reservation

    async def check(
        self,
        org_id: uuid.UUID,
        tokens: int,
        *,
        rate: RateLimitSet | None = None,
        key_id: uuid.UUID | None = None,
    ) -> None:
        """:meth:`reserve`'s verdict without reserving anything: raises what it would raise for
        ``tokens`` (a lower bound of the real need), else returns. One Redis round trip; an
        unreachable Redis or unknown limit is left for :meth:`reserve` to handle."""
        period = period_key(datetime.now(UTC))
        try:
            out, _ = await self._admission(
                org_id, period, tokens, rate or RateLimitSet(), key_id, "", dry=True
            )
        except (*REDIS_UNAVAILABLE, _LimitUnavailable):
            return
        if out[0] == 2:
            assert rate is not None
            raise rate_limited(out, rate, tokens)
        if out[0] == 0:
            raise BudgetExceeded(
                f"monthly token budget of org {org_id} exhausted: limit {out[2]} tokens, used {out[1]}, "
                f"this request needs more than {tokens} (the budget renews on the 1st, UTC)"
            )

    async def _admission(
        self,
        org_id: uuid.UUID,
        period: str,
        tokens: int,
        rate: RateLimitSet | None,
        key_id: uuid.UUID | None,
        member: str,
        *,
        dry: bool = False,
    ) -> tuple[list[Any], list[str]]:
        """Run the budget script (:data:`ADMIT` when rate limits apply), loading the org's limit
        once when Redis does not hold it. Returns the script's answer and the keys used."""
        keys = [used_key(org_id, period), limit_key(org_id)]
        if rate is None:
            script, tail = self._reserve, []
        else:
            keys += rate_keys(key_id or uuid.UUID(int=0), org_id)
            script, tail = self._admit, [member, _ms(self.lease_s), *rate.args(), "1" if dry else "0"]
        head = [tokens, self.counter_ttl_s]
        out = await script(keys=keys, args=head + (["", _ms(self.limit_ttl_s)] if tail else []) + tail)
        if out[0] == -1:
            loaded = await self._load_limit(org_id)
            out = await script(keys=keys, args=[*head, _encode_limit(loaded), _ms(self.limit_ttl_s), *tail])
        return out, keys

    async def settle(self, reservation: Reservation, actual_tokens: int) -> None:
        """Replace the reservation by the real count (once; later calls do nothing). Never
        raises: a failure is logged and counted, and reconciliation repairs the counter. The
        adjustment is shielded: a caller cancelled meanwhile (client gone) does not undo it."""
        task = self.settle_nowait(reservation, actual_tokens)
        if task is not None:
            await asyncio.shield(task)

    def settle_nowait(self, reservation: Reservation, actual_tokens: int) -> asyncio.Task[None] | None:
        """:meth:`settle` without waiting (the gateway, after the response): the adjustment runs
        in the background (see :meth:`drain`); returns its task, None when nothing is to do."""
        if reservation.settled:
            return None
        reservation.settled = True
        reservation.actual_tokens = actual = max(0, int(actual_tokens))
        delta = actual - reservation.tokens
        if not reservation.tracked or (delta == 0 and reservation.rate is None):
            return None
        task = asyncio.create_task(self._apply(reservation, delta))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain(self) -> None:
        """Wait for the settlements still running (shutdown, tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def _apply(self, r: Reservation, delta: int) -> None:
        org_id = r.org_id
        try:
            counter = used_key(org_id, r.period)
            if r.rate is None or r.rate_keys is None:
                await self._adjust(keys=[counter], args=[delta, self.counter_ttl_s])
            else:  # also give back the unused tokens of the TPM windows and the concurrency slot
                k, lim = r.rate_keys, r.rate
                await self._release(
                    keys=[counter, k[0], k[2], k[1], k[3]],
                    args=[
                        delta,
                        self.counter_ttl_s,
                        r.member,
                        lim.key_rpm,
                        lim.key_tpm,
                        lim.org_rpm,
                        lim.org_tpm,
                    ],
                )
        except Exception as exc:
            self.metrics.settle_failures.inc()
            if isinstance(exc, REDIS_UNAVAILABLE):
                self.metrics.redis_errors.labels("settle").inc()
            _log.warning(
                "could not settle a budget reservation of org %s (%+d tokens): %s",
                org_id,
                delta,
                describe_redis_error(exc),
            )

    # --- management and reconciliation ----------------------------------------------------
    async def set_limit(self, org_id: uuid.UUID, limit: int | None) -> None:
        """Publish a new limit (after writing it to PostgreSQL); ``None``: unlimited."""
        if limit is not None and limit < 0:
            raise ValueError("a token limit cannot be negative")
        await self._admin(
            "set_limit", self.redis.set(limit_key(org_id), _encode_limit(limit), px=_ms(self.limit_ttl_s))
        )

    async def invalidate_limit(self, org_id: uuid.UUID) -> None:
        """Drop the cached limit: the next reservation reads it from the limit source."""
        await self._admin("invalidate_limit", self.redis.delete(limit_key(org_id)))

    async def used(self, org_id: uuid.UUID, *, now: datetime | None = None) -> int:
        """Tokens used (and still reserved) by the org in the month of ``now``."""
        period = period_key(now if now is not None else datetime.now(UTC))
        raw = await self._admin("used", self.redis.get(used_key(org_id, period)))
        return int(raw) if raw is not None else 0

    async def set_used(self, org_id: uuid.UUID, period: str, value: int) -> None:
        """Overwrite a month's counter (reconciliation from ClickHouse); ``period`` "YYYY-MM"."""
        if not _PERIOD_RE.fullmatch(period):
            raise ValueError(f"not a budget period (YYYY-MM): {period!r}")
        if value < 0:
            raise ValueError("usage cannot be negative")
        await self._admin(
            "set_used", self.redis.set(used_key(org_id, period), int(value), ex=self.counter_ttl_s)
        )

    async def forget(self, org_id: uuid.UUID) -> int:
        """Drop every counter and the cached limit of a deleted org; returns how many keys."""

        async def drop() -> int:
            doomed = [k async for k in self.redis.scan_iter(match=f"ias:budget:{org_id}:*", count=100)]
            return int(await self.redis.delete(*doomed)) if doomed else 0

        return await self._admin("forget", drop())

    # --- internals -------------------------------------------------------------------------
    async def _load_limit(self, org_id: uuid.UUID) -> int | None:
        task = self._loading.get(org_id)
        if task is None:  # single flight: concurrent misses of one org share one load
            task = asyncio.create_task(self._fetch_limit(org_id))
            self._loading[org_id] = task
            task.add_done_callback(lambda t: self._forget_load(org_id, t))
        try:
            return await asyncio.shield(task)
        except Exception as exc:
            raise _LimitUnavailable(type(exc).__name__) from None

    async def _fetch_limit(self, org_id: uuid.UUID) -> int | None:
        try:
            limit = await self._limit_source(org_id)
        except Exception as exc:
            self.metrics.limit_loads.labels("error").inc()
            _log.error("cannot load the token limit of org %s: %s", org_id, type(exc).__name__)
            raise
        self.metrics.limit_loads.labels("ok").inc()
        return limit

    def _forget_load(self, org_id: uuid.UUID, task: asyncio.Task[int | None]) -> None:
        if self._loading.get(org_id) is task:
            del self._loading[org_id]
        if not task.cancelled():
            task.exception()  # retrieved: no "exception never retrieved" warning

    def _unavailable(
        self, org_id: uuid.UUID, tokens: int, period: str, why: str, exc: BaseException
    ) -> Reservation:
        if not self._down:
            self._down = True
            _log.warning(
                "budget store degraded (%s: %s); fail_open=%s", why, describe_redis_error(exc), self.fail_open
            )
        if self.fail_open:
            self.metrics.reservations.labels("fail_open").inc()
            return Reservation(org_id, tokens, period, tracked=False)
        self.metrics.reservations.labels("unavailable").inc()
        raise ServiceUnavailable(f"budget service unavailable: {why}; please retry shortly") from None

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            _log.info("budget store recovered: Redis reachable again")

    async def _admin(self, op: str, pending: Awaitable[T]) -> T:
        try:
            return await pending
        except REDIS_UNAVAILABLE as exc:
            self.metrics.redis_errors.labels(op).inc()
            _log.warning("budget %s failed: Redis unreachable (%s)", op, describe_redis_error(exc))
            raise ServiceUnavailable(f"budget service unavailable: Redis is unreachable ({op})") from None


def _encode_limit(limit: int | None) -> int:
    return UNLIMITED if limit is None else limit


def _decode_limit(raw: int) -> int | None:
    return None if int(raw) < 0 else int(raw)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
