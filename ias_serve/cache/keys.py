"""API key authentication for the inference hot path.

``Authorization: Bearer ias-…`` → SHA-256 → in-process cache → Redis → PostgreSQL (read-only),
filling the layers on the way back (see :mod:`ias_serve.cache.key_store` for the Redis layout).

* Unknown keys are cached too (locally and in Redis, ``negative_ttl_s``), so a client that
  repeats a bad key costs PostgreSQL one query per ``negative_ttl_s``.
* Revocation within ``revocation_bound_s`` (1 s) on every replica: :meth:`revoke` tombstones
  the Redis entry and publishes on ``ias:revocations``; each replica's
  :class:`~ias_serve.cache.revocations.RevocationListener` evicts its local entry. A local
  positive entry is served only while the listener is provably up to date (heartbeat) or when
  it was confirmed by Redis/PostgreSQL less than ``revocation_bound_s`` ago, so a dead or slow
  listener costs extra Redis (or PostgreSQL) reads, never a late revocation.
* Redis unreachable: lookups fall back to PostgreSQL (authentication keeps working; budgets
  fail closed on their own) and Redis is not retried for ``redis_retry_s``.
* ``last_used_at`` is batched by :class:`~ias_serve.cache.last_used.LastUsedBatcher`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from types import TracebackType

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.cache.key_store import MISS, Miss, RedisKeyStore
from ias_serve.cache.last_used import LastUsedBatcher
from ias_serve.cache.local import CacheEntry, LocalKeyCache
from ias_serve.cache.metrics import AuthMetrics
from ias_serve.cache.redis import REDIS_UNAVAILABLE, describe_redis_error
from ias_serve.cache.revocations import RevocationListener
from ias_serve.db.repositories.api_keys import ApiKeyRepository
from ias_serve.domain.keys import api_key_from_authorization, hash_api_key
from ias_serve.domain.principal import ApiKeyPrincipal
from ias_serve.errors import InvalidApiKey, PermissionDenied, ServiceUnavailable

_log = logging.getLogger(__name__)

UNKNOWN_KEY_MESSAGE = "Incorrect API key provided: the key is unknown or has been revoked."
EXPIRED_KEY_MESSAGE = "The API key provided has expired."
ORG_DISABLED_MESSAGE = "The organisation of this API key is disabled."


class KeyAuthenticator:
    def __init__(
        self,
        redis: Redis,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        cache_ttl_s: float = 5.0,
        negative_ttl_s: float = 2.0,
        redis_ttl_s: float = 300.0,
        max_entries: int = 100_000,
        revocation_bound_s: float = 1.0,
        last_used_flush_s: float = 5.0,
        org_fence_s: float = 5.0,
        redis_retry_s: float = 1.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.cache_ttl_s = cache_ttl_s
        self.negative_ttl_s = negative_ttl_s
        self.revocation_bound_s = revocation_bound_s
        self.redis_retry_s = redis_retry_s
        self.metrics = AuthMetrics(registry)
        self.local = LocalKeyCache(max_entries)
        self.store = RedisKeyStore(
            redis, entry_ttl_s=redis_ttl_s, negative_ttl_s=negative_ttl_s, org_fence_s=org_fence_s
        )
        self.listener = RevocationListener(
            redis,
            self._on_invalidation,
            self.local.clear,
            metrics=self.metrics,
            stale_after_s=revocation_bound_s,
        )
        self.last_used = LastUsedBatcher(sessionmaker, metrics=self.metrics, interval_s=last_used_flush_s)
        self._sm = sessionmaker
        self._redis_skip_until = float("-inf")
        self._redis_down = False

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self, *, wait_s: float = 1.0) -> None:
        """Start the revocation listener and the ``last_used_at`` flusher; wait up to ``wait_s``
        for the subscription (starting with Redis down is allowed: it connects later)."""
        self.listener.start()
        self.last_used.start()
        if not await self.listener.wait_healthy(wait_s):
            _log.warning("revocation listener not connected yet; local key cache bypassed meanwhile")

    async def stop(self) -> None:
        """Stop the background tasks and write the pending ``last_used_at`` values."""
        await self.listener.stop()
        await self.last_used.stop()

    async def __aenter__(self) -> KeyAuthenticator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- the hot path ----------------------------------------------------------------------
    async def authenticate(
        self, authorization_header: str | None, *, now: datetime | None = None
    ) -> ApiKeyPrincipal:
        """The principal behind a Bearer header. :class:`InvalidApiKey` (401) when the header is
        missing or malformed or the key unknown, revoked or expired; :class:`PermissionDenied`
        (403, code ``org_disabled``); :class:`ServiceUnavailable` when neither Redis nor
        PostgreSQL can answer. No message contains the key or its hash."""
        try:
            key = api_key_from_authorization(authorization_header)
        except InvalidApiKey:
            reason = "missing" if not (authorization_header or "").strip() else "malformed"
            self.metrics.failures.labels(reason).inc()
            raise
        key_hash = hash_api_key(key)
        principal = await self.lookup(key_hash, now=now)
        if principal is None:
            self.metrics.failures.labels("unknown").inc()
            raise InvalidApiKey(UNKNOWN_KEY_MESSAGE)
        if principal.expired(now if now is not None else datetime.now(UTC)):
            self.metrics.failures.labels("expired").inc()
            raise InvalidApiKey(EXPIRED_KEY_MESSAGE)
        if not principal.org_active:
            self.metrics.failures.labels("org_disabled").inc()
            raise PermissionDenied(ORG_DISABLED_MESSAGE, code="org_disabled")
        self.last_used.record(principal.key_id)
        return principal

    async def lookup(self, key_hash: str, *, now: datetime | None = None) -> ApiKeyPrincipal | None:
        """The cached or stored principal of a hash (``None``: unknown/revoked/expired in the
        database); expiry and org status are left to the caller."""
        started = time.monotonic()
        entry = self.local.get(key_hash, started)
        if entry is not None and self._trusted(entry, started):
            self.metrics.lookups.labels("local").inc()
            return entry.principal
        generation = self.local.generation
        found = await self._from_redis(key_hash)
        if found is not MISS:
            self.metrics.lookups.labels("redis").inc()
        else:
            found = await self._from_postgres(key_hash, now)
            self.metrics.lookups.labels("postgres").inc()
            await self._fill_redis(key_hash, found)
        ttl = self.cache_ttl_s if found is not None else self.negative_ttl_s
        self.local.put(key_hash, found, ttl=ttl, now=started, generation=generation)
        return found

    def record_use(self, key_id: uuid.UUID) -> None:
        """Mark a key as used now (O(1); written to PostgreSQL by the next batch)."""
        self.last_used.record(key_id)

    async def flush_last_used(self) -> int:
        """Write pending ``last_used_at`` values now (one UPDATE); rows changed."""
        return await self.last_used.flush()

    # --- invalidation (management API) -----------------------------------------------------
    async def revoke(self, key_hash: str) -> None:
        """Call after the revocation is committed in PostgreSQL: tombstones the key in Redis
        and tells every replica. :class:`ServiceUnavailable` when Redis is unreachable (the key
        is refused anyway meanwhile, since replicas then read PostgreSQL; retry so that a
        persistent Redis does not serve the old entry once it is back)."""
        self.local.evict(key_hash)
        await self._invalidate("revoke", self.store.revoke(key_hash))

    async def invalidate_key(self, key_hash: str) -> None:
        """Forget a key everywhere, to be looked up again (user disabled/enabled, membership)."""
        self.local.evict(key_hash)
        await self._invalidate("invalidate_key", self.store.invalidate_key(key_hash))

    async def invalidate_org(self, org_id: uuid.UUID) -> None:
        """Forget every cached key of an org (disabled or enabled again), on every replica."""
        self.local.evict_org(org_id)
        await self._invalidate("invalidate_org", self.store.invalidate_org(org_id))

    # --- internals -------------------------------------------------------------------------
    def _trusted(self, entry: CacheEntry, now: float) -> bool:
        if entry.principal is None:  # a stale "invalid" can only refuse a key: always safe
            return True
        return self.listener.healthy(now) or now - entry.verified < self.revocation_bound_s

    def _on_invalidation(self, message: str) -> None:
        kind, _, value = message.partition(":")
        if kind == "key" and value:
            self.local.evict(value)
        elif kind == "org":
            try:
                self.local.evict_org(uuid.UUID(value))
            except ValueError:
                kind = "all"
                self.local.clear()
        else:
            kind = "all"
            self.local.clear()
        self.metrics.invalidations.labels(kind).inc()

    async def _from_redis(self, key_hash: str) -> ApiKeyPrincipal | Miss | None:
        if time.monotonic() < self._redis_skip_until:
            return MISS
        try:
            found = await self.store.get(key_hash)
        except REDIS_UNAVAILABLE as exc:
            self._redis_failed("get", exc)
            return MISS
        self._redis_ok()
        return found

    async def _fill_redis(self, key_hash: str, principal: ApiKeyPrincipal | None) -> None:
        if time.monotonic() < self._redis_skip_until:
            return
        try:
            await self.store.fill(key_hash, principal)
        except REDIS_UNAVAILABLE as exc:
            self._redis_failed("fill", exc)

    async def _from_postgres(self, key_hash: str, now: datetime | None) -> ApiKeyPrincipal | None:
        try:
            async with self._sm() as session:
                return await ApiKeyRepository(session).find_principal_by_hash(key_hash, now=now)
        except (SQLAlchemyError, OSError) as exc:
            self.metrics.failures.labels("unavailable").inc()
            _log.error("API key lookup in PostgreSQL failed: %s", type(exc).__name__)
            raise ServiceUnavailable(
                "authentication is temporarily unavailable: the key database cannot be reached"
            ) from None

    async def _invalidate(self, op: str, pending: Awaitable[int]) -> None:
        try:
            await pending
        except REDIS_UNAVAILABLE as exc:
            self.metrics.redis_errors.labels(op).inc()
            _log.error("key cache %s failed: Redis unreachable (%s)", op, describe_redis_error(exc))
            raise ServiceUnavailable(
                "key cache invalidation failed: Redis is unreachable; retry the operation"
            ) from None

    def _redis_failed(self, op: str, exc: BaseException) -> None:
        self.metrics.redis_errors.labels(op).inc()
        self._redis_skip_until = time.monotonic() + self.redis_retry_s
        if not self._redis_down:
            self._redis_down = True
            _log.warning(
                "Redis unreachable (%s); authenticating from PostgreSQL until it is back",
                describe_redis_error(exc),
            )

    def _redis_ok(self) -> None:
        if self._redis_down:
            self._redis_down = False
            _log.info("Redis reachable again; key cache back in use")
