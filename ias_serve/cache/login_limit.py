"""Login rate limits in Redis: per account (e-mail address) and per client address.

Fixed windows (``IAS_LOGIN_WINDOW_S``, default 300 s): every attempt — right or wrong —
increments both counters in one Lua script (atomic, so parallel attempts cannot slip past the
limit), and an attempt is refused with 429 while either counter is above its limit
(``IAS_LOGIN_MAX_PER_ACCOUNT``, ``IAS_LOGIN_MAX_PER_ADDRESS``); ``Retry-After`` is the time
left in the window that refused. A successful login clears the account's counter, so a user
who mistyped a few times is not locked out later in the window; the address counter stays.

Keys: ``ias:login:acct:{sha256(e-mail)}`` (no address in clear text in Redis) and
``ias:login:addr:{client address}``, each expiring with its window.

When Redis is unreachable the limiter *fails open* (logs a warning, counts nothing): logging
in must not depend on the gateway's cache; argon2id's cost (tens of ms a guess) still bounds a
brute force.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis

from ias_serve.cache.redis import REDIS_UNAVAILABLE
from ias_serve.errors import RateLimited

log = logging.getLogger(__name__)

PREFIX: Final = "ias:login:"

# KEYS: account counter, address counter.  ARGV: window ms.
# Returns {account count, account pttl ms, address count, address pttl ms}.
_HIT = """
local out = {}
for i = 1, 2 do
  local n = redis.call('INCR', KEYS[i])
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out
"""


def account_key(email: str) -> str:
    """Counter key of an account: the SHA-256 of the case-folded, stripped address."""
    digest = hashlib.sha256(email.strip().casefold().encode("utf-8")).hexdigest()
    return f"{PREFIX}acct:{digest}"


def address_key(address: str) -> str:
    return f"{PREFIX}addr:{address.strip().lower() or 'unknown'}"


def client_address(peer: str | None, forwarded: str | None = None) -> str:
    """The address a login is counted against: the last entry of the trusted proxy's header
    (``forwarded``, e.g. ``X-Forwarded-For: client, proxy1``: the entry the nearest proxy
    added) when given, else the TCP peer; ``"unknown"`` when neither is known."""
    if forwarded:
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return (peer or "").strip() or "unknown"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Counts after one attempt; ``scope`` names the limit that refuses it (None: allowed)."""

    account_count: int
    address_count: int
    scope: str | None = None
    retry_after_s: int = 0


def judge(counts: tuple[int, int, int, int], *, max_per_account: int, max_per_address: int) -> Verdict:
    """Turn the script's ``(account n, account pttl, address n, address pttl)`` into a verdict."""
    acct_n, acct_ttl, addr_n, addr_ttl = counts
    refused: list[tuple[int, str]] = []
    if acct_n > max_per_account:
        refused.append((acct_ttl, "account"))
    if addr_n > max_per_address:
        refused.append((addr_ttl, "address"))
    if not refused:
        return Verdict(acct_n, addr_n)
    ttl_ms, scope = max(refused)  # the later of the two windows decides when to come back
    return Verdict(acct_n, addr_n, scope, max(1, math.ceil(max(ttl_ms, 0) / 1000)))


class LoginRateLimited(RateLimited):
    """429 ``rate_limited``; ``retry_after_s`` becomes the ``Retry-After`` header."""

    def __init__(self, scope: str, retry_after_s: int) -> None:
        super().__init__(
            f"too many login attempts for this {scope}; retry in {retry_after_s} s",
            code="rate_limited",
            details={"scope": scope, "retry_after_s": retry_after_s},
        )
        self.retry_after_s = retry_after_s


class LoginLimiter:
    def __init__(
        self, redis: Redis | None, *, window_s: int, max_per_account: int, max_per_address: int
    ) -> None:
        self._redis = redis
        self.window_s = window_s
        self.max_per_account = max_per_account
        self.max_per_address = max_per_address
        self._hit = redis.register_script(_HIT) if redis is not None else None

    async def hit(self, *, email: str, address: str) -> Verdict:
        """Count one attempt; raise :class:`LoginRateLimited` when a limit is exceeded."""
        if self._hit is None:
            return Verdict(0, 0)
        try:
            keys = [account_key(email), address_key(address)]
            raw = await self._hit(keys=keys, args=[self.window_s * 1000])
        except REDIS_UNAVAILABLE:
            log.warning("login rate limit not applied: Redis unavailable")
            return Verdict(0, 0)
        counts = (int(raw[0]), int(raw[1]), int(raw[2]), int(raw[3]))
        verdict = judge(counts, max_per_account=self.max_per_account, max_per_address=self.max_per_address)
        if verdict.scope is not None:
            log.warning("login rate limited", extra={"scope": verdict.scope})
            raise LoginRateLimited(verdict.scope, verdict.retry_after_s)
        return verdict

    async def clear_account(self, email: str) -> None:
        """After a successful login: forget the account's failed attempts."""
        if self._redis is None:
            return
        try:
            await self._redis.delete(account_key(email))
        except REDIS_UNAVAILABLE:
            log.warning("login rate limit not cleared: Redis unavailable")
