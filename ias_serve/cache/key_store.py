"""The Redis layer of the key cache, shared by every gateway replica.

Layout (standalone Redis/Valkey; the org scripts touch keys they do not declare):

* ``ias:key:{sha256}`` → JSON principal (:func:`~ias_serve.cache.local.encode_principal`), TTL
  ``entry_ttl_s`` (300 s); or ``"0"`` = invalid: an unknown key (TTL ``negative_ttl_s``, 2 s)
  or a revoked one (a *tombstone*, TTL ``entry_ttl_s``).
* ``ias:org:{org_id}:keys`` → SET of the hashes cached for that org (to invalidate them).
* ``ias:org:{org_id}:fence`` → present for ``org_fence_s`` (5 s) after an org invalidation.
* channel ``ias:revocations``: ``key:{sha256}`` or ``org:{org_id}``; every replica evicts.

Fills use ``SET NX`` in a Lua script that also refuses while the org's fence exists, so a
replica that read PostgreSQL *before* a revocation/org change committed and writes *after* the
invalidation cannot put the stale answer back: the tombstone or the fence wins.
"""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Final, Literal

from redis.asyncio import Redis

from ias_serve.cache.local import INVALID_MARKER, decode_principal, encode_principal
from ias_serve.domain.principal import ApiKeyPrincipal

CHANNEL: Final = "ias:revocations"
KEY_PREFIX: Final = "ias:key:"


class _Miss(Enum):
    MISS = "MISS"


MISS: Final = _Miss.MISS
Miss = Literal[_Miss.MISS]
"""Type of :data:`MISS`: Redis holds nothing for this hash (``None`` means "invalid")."""


def entry_key(key_hash: str) -> str:
    return f"{KEY_PREFIX}{key_hash}"


def org_keys_key(org_id: uuid.UUID) -> str:
    return f"ias:org:{org_id}:keys"


def org_fence_key(org_id: uuid.UUID) -> str:
    return f"ias:org:{org_id}:fence"


# KEYS: entry, org set, org fence.  ARGV: value, ttl ms, hash
_FILL_POSITIVE = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""

# KEYS: org set, org fence.  ARGV: key prefix, fence ttl ms, channel, message, invalid marker
_INVALIDATE_ORG = """
for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. h
  if redis.call('GET', k) ~= ARGV[5] then redis.call('DEL', k) end
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return redis.call('PUBLISH', ARGV[3], ARGV[4])
"""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisKeyStore:
    """Read, fill and invalidate cached principals. Raises redis errors as they come; the
    caller decides what an outage means (the authenticator falls back to PostgreSQL)."""

    def __init__(
        self,
        redis: Redis,
        *,
        entry_ttl_s: float = 300.0,
        negative_ttl_s: float = 2.0,
        org_fence_s: float = 5.0,
    ) -> None:
        self.redis = redis
        self.entry_ttl_s = entry_ttl_s
        self.negative_ttl_s = negative_ttl_s
        self.org_fence_s = org_fence_s
        self._fill_positive = redis.register_script(_FILL_POSITIVE)
        self._invalidate_org = redis.register_script(_INVALIDATE_ORG)

    async def get(self, key_hash: str) -> ApiKeyPrincipal | Miss | None:
        raw = await self.redis.get(entry_key(key_hash))
        if raw is None:
            return MISS
        try:
            return decode_principal(key_hash, raw)
        except ValueError:  # written by something else: ignore it, PostgreSQL decides
            return MISS

    async def fill(self, key_hash: str, principal: ApiKeyPrincipal | None) -> bool:
        """Cache PostgreSQL's answer unless something newer is there; True when written."""
        if principal is None:
            done = await self.redis.set(
                entry_key(key_hash), INVALID_MARKER, nx=True, px=_ms(self.negative_ttl_s)
            )
            return bool(done)
        keys = [entry_key(key_hash), org_keys_key(principal.org_id), org_fence_key(principal.org_id)]
        args = [encode_principal(principal), _ms(self.entry_ttl_s), key_hash]
        return bool(await self._fill_positive(keys=keys, args=args))

    async def revoke(self, key_hash: str) -> int:
        """Tombstone the key and tell every replica; returns the number of listeners reached."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(entry_key(key_hash), INVALID_MARKER, px=_ms(self.entry_ttl_s))
            pipe.publish(CHANNEL, f"key:{key_hash}")
            _, receivers = await pipe.execute()
        return int(receivers)

    async def invalidate_key(self, key_hash: str) -> int:
        """Forget the key everywhere (it is looked up again); for user/membership changes."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(entry_key(key_hash))
            pipe.publish(CHANNEL, f"key:{key_hash}")
            _, receivers = await pipe.execute()
        return int(receivers)

    async def invalidate_org(self, org_id: uuid.UUID) -> int:
        """Forget every cached key of the org (disabled or enabled again), fence fills for
        ``org_fence_s`` and tell every replica."""
        keys = [org_keys_key(org_id), org_fence_key(org_id)]
        args = [KEY_PREFIX, _ms(self.org_fence_s), CHANNEL, f"org:{org_id}", INVALID_MARKER]
        return int(await self._invalidate_org(keys=keys, args=args))
