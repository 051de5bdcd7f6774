"""The in-process layer of the key cache: a bounded TTL map ``key hash → principal | unknown``,
and the JSON codec of a principal as stored in Redis.

Pure logic, no I/O; the clock is passed in (``time.monotonic()`` seconds) so tests control it.

Races with invalidation are closed by a *generation* counter: every eviction bumps it, a
lookup reads it before going to Redis/PostgreSQL and :meth:`LocalKeyCache.put` drops the
result when an eviction happened meanwhile (the result may predate the revocation).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ias_serve.domain.principal import ApiKeyPrincipal
from ias_serve.domain.rate_limits import EffectiveRateLimits, RateLimits

#: Value stored in Redis for "no valid key with this hash" (unknown, revoked: a tombstone).
INVALID_MARKER: Final = "0"


@dataclass(frozen=True, slots=True)
class CacheEntry:
    principal: ApiKeyPrincipal | None  # None: known to be invalid (negative entry)
    expires: float  # monotonic seconds: not served after this
    verified: float  # monotonic seconds when Redis or PostgreSQL last confirmed it


class LocalKeyCache:
    """Bounded ``dict`` of :class:`CacheEntry`; when full the oldest insertion goes first."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.generation = 0
        self._entries: dict[str, CacheEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key_hash: str, now: float) -> CacheEntry | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if now >= entry.expires:
            self._entries.pop(key_hash, None)
            return None
        return entry

    def put(
        self,
        key_hash: str,
        principal: ApiKeyPrincipal | None,
        *,
        ttl: float,
        now: float,
        generation: int,
    ) -> bool:
        """Store unless an eviction happened since ``generation`` was read; True when stored."""
        if generation != self.generation or ttl <= 0:
            return False
        self._entries.pop(key_hash, None)
        while len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key_hash] = CacheEntry(principal, now + ttl, now)
        return True

    def evict(self, key_hash: str) -> None:
        self.generation += 1
        self._entries.pop(key_hash, None)

    def evict_org(self, org_id: uuid.UUID) -> int:
        """Drop every principal of ``org_id`` (O(n); org changes are rare)."""
        self.generation += 1
        doomed = [
            h for h, e in self._entries.items() if e.principal is not None and e.principal.org_id == org_id
        ]
        for h in doomed:
            del self._entries[h]
        return len(doomed)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()


def encode_principal(principal: ApiKeyPrincipal | None) -> str:
    """Compact JSON for Redis; :data:`INVALID_MARKER` for ``None``.

    The effective rate limits go in ``"l"``: ``[key rpm, tpm, concurrency, org rpm, tpm,
    concurrency]`` (null = unlimited), left out when all are unlimited. An entry without
    ``"l"`` (also one written before rate limits existed) decodes as unlimited."""
    if principal is None:
        return INVALID_MARKER
    data: dict[str, object] = {
        "k": str(principal.key_id),
        "o": str(principal.org_id),
        "u": str(principal.user_id),
        "a": principal.org_active,
        "e": principal.expires_at.isoformat() if principal.expires_at is not None else None,
    }
    limits = principal.rate_limits
    if not limits.is_unlimited:
        data["l"] = [*limits.key.as_tuple(), *limits.org.as_tuple()]
    return json.dumps(data, separators=(",", ":"))


def _decode_limits(raw: object) -> EffectiveRateLimits:
    if raw is None:
        return EffectiveRateLimits()
    if not isinstance(raw, list) or len(raw) != 6:
        raise TypeError("rate limits: a list of 6 values")
    if any(v is not None and (isinstance(v, bool) or not isinstance(v, int)) for v in raw):
        raise TypeError("rate limits: whole numbers or null")
    return EffectiveRateLimits(key=RateLimits(*raw[:3]), org=RateLimits(*raw[3:]))


def decode_principal(key_hash: str, raw: str) -> ApiKeyPrincipal | None:
    """Inverse of :func:`encode_principal`; ``ValueError`` on anything it did not write."""
    if raw == INVALID_MARKER:
        return None
    try:
        data = json.loads(raw)
        expires = data["e"]
        return ApiKeyPrincipal(
            key_id=uuid.UUID(data["k"]),
            key_hash=key_hash,
            org_id=uuid.UUID(data["o"]),
            user_id=uuid.UUID(data["u"]),
            org_active=bool(data["a"]),
            expires_at=datetime.fromisoformat(expires) if expires is not None else None,
            rate_limits=_decode_limits(data.get("l")),
        )
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError("not a cached principal") from exc
