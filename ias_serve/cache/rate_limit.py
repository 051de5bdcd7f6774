"""Rate limits per key and per org, enforced in Redis in the budget's own round trip.

Three limits per scope (key, org), each optional (``0``/None: none):

* requests per minute and tokens per minute: **token buckets** (capacity = the limit, refilled
  at ``limit / 60`` per second), both of a scope in one hash ``{r, t: levels, ts: ms}``
  (``ias:rl:k:<key id>``, ``ias:rl:o:<org id>``: an org's is shared by all its keys). A burst gets
  exactly the capacity: 100 concurrent requests against 10 RPM → 10 served. Tokens are the
  request's *reservation* (prompt + the most it may generate); settlement gives back
  ``reserved − actual``, so the window ends up charged with what was really used.
* concurrent requests: a sorted set of in-flight usage ids scored by a lease expiry
  (``lease_s``), so a replica that dies with requests in flight cannot leak slots for longer
  than the lease.

:data:`ADMIT` checks the budget and every limit, then changes *nothing* unless all pass
(a request refused by one limit costs no other limit anything); with the dry-run flag it only
checks (the gateway's cheap pre-check of a large prompt, before the tokenizer runs). Time is
Redis's ``TIME``: one clock for every gateway replica. Redis runs scripts one at a time, so limits are exact
whatever the number of replicas (limits held in each replica's memory multiply by the
replica count).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from ias_serve.domain.admission import duration_text
from ias_serve.errors import RateLimited

# The budget part of both scripts. KEYS: 1 month counter, 2 limit. ARGV: 1 tokens,
# 3 limit to store ('' or absent: none), 4 limit ttl (ms). Returns {-1, 0, 0} when the limit is
# unknown (nothing done) and {0, used, limit} when the tokens do not fit; else falls through
# with `limit`, `tokens` and `used` set.
BUDGET_CHECK: Final = """
local limit = redis.call('GET', KEYS[2])
if not limit then
  if not ARGV[3] or ARGV[3] == '' then return {-1, 0, 0} end
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  limit = ARGV[3]
end
limit = tonumber(limit)
local tokens = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if limit >= 0 and used + tokens > limit then return {0, used, limit} end
"""

# KEYS: 1 budget counter, 2 budget limit, 3 key buckets, 4 key in-flight set,
#       5 org buckets, 6 org in-flight set
# ARGV: 1 tokens, 2 counter ttl (s), 3 limit to store ('' = none), 4 limit ttl (ms),
#       5 member (usage id), 6 concurrency lease (ms), 7-9 key rpm/tpm/concurrency,
#       10-12 org rpm/tpm/concurrency (0 = no limit), 13 '1' = dry run (check, change nothing)
# A scope's buckets are one hash {r: requests level, t: tokens level, ts: ms of both levels}.
# → {status, used, limit, failed scope, retry ms, requests limit, requests remaining,
#    requests reset ms, tokens limit, tokens remaining, tokens reset ms}
#    status 1 admitted, 0 over budget, -1 budget limit unknown (nothing done), 2 rate limited
ADMIT: Final = (
    BUDGET_CHECK
    + """local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local rpm_best, tpm_best = nil, nil
for s = 0, 1 do
  local rpm, tpm, conc = tonumber(ARGV[7 + 3 * s]), tonumber(ARGV[8 + 3 * s]), tonumber(ARGV[9 + 3 * s])
  if rpm > 0 or tpm > 0 then
    local b = redis.call('HMGET', KEYS[3 + 2 * s], 'r', 't', 'ts')
    local elapsed = b[3] and (now - tonumber(b[3])) or 0
    local r, tk = false, false
    if rpm > 0 then
      r = rpm
      if b[1] then r = math.min(rpm, tonumber(b[1]) + elapsed * rpm / 60000) end
      if r < 1 then return {2, used, limit, 1 + 3 * s, math.ceil((1 - r) * 60000 / rpm)} end
      r = r - 1
      if not rpm_best or r < rpm_best[2] then rpm_best = {rpm, r} end
    end
    if tpm > 0 then
      if tokens > tpm then return {2, used, limit, 2 + 3 * s, -1} end
      tk = tpm
      if b[2] then tk = math.min(tpm, tonumber(b[2]) + elapsed * tpm / 60000) end
      if tk < tokens then return {2, used, limit, 2 + 3 * s, math.ceil((tokens - tk) * 60000 / tpm)} end
      tk = tk - tokens
      if not tpm_best or tk < tpm_best[2] then tpm_best = {tpm, tk} end
    end
    levels[s] = {r, tk}
  end
  if conc > 0 and redis.call('ZCARD', KEYS[4 + 2 * s]) >= conc then
    redis.call('ZREMRANGEBYSCORE', KEYS[4 + 2 * s], '-inf', now)  -- slots of dead replicas
    if redis.call('ZCARD', KEYS[4 + 2 * s]) >= conc then return {2, used, limit, 3 + 3 * s, 1000} end
  end
end
if ARGV[13] == '1' then return {1, used, limit} end
local lease = tonumber(ARGV[6])
for s = 0, 1 do
  local v = levels[s]
  if v then
    local h = KEYS[3 + 2 * s]
    if v[1] and v[2] then redis.call('HSET', h, 'r', tostring(v[1]), 't', tostring(v[2]), 'ts', now)
    elseif v[1] then redis.call('HSET', h, 'r', tostring(v[1]), 'ts', now)
    else redis.call('HSET', h, 't', tostring(v[2]), 'ts', now) end
    redis.call('PEXPIRE', h, 61000)
  end
  if tonumber(ARGV[9 + 3 * s]) > 0 then
    redis.call('ZADD', KEYS[4 + 2 * s], now + lease, ARGV[5])
    redis.call('PEXPIRE', KEYS[4 + 2 * s], lease + 1000)
  end
end
used = redis.call('INCRBY', KEYS[1], tokens)
redis.call('EXPIRE', KEYS[1], ARGV[2])
local out = {1, used, limit, 0, 0, 0, 0, 0, 0, 0, 0}
if rpm_best then
  out[6], out[7] = rpm_best[1], math.floor(rpm_best[2])
  out[8] = math.ceil((rpm_best[1] - rpm_best[2]) * 60000 / rpm_best[1])
end
if tpm_best then
  out[9], out[10] = tpm_best[1], math.floor(tpm_best[2])
  out[11] = math.ceil((tpm_best[1] - tpm_best[2]) * 60000 / tpm_best[1])
end
return out
"""
)

# KEYS: 1 budget counter, 2 key buckets, 3 org buckets, 4 key in-flight set, 5 org in-flight set
# ARGV: 1 delta (actual − reserved), 2 counter ttl (s), 3 member, 4-5 key rpm/tpm, 6-7 org rpm/tpm
# → the month's new count (never below 0)
RELEASE: Final = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if used < 0 then
  redis.call('SET', KEYS[1], 0)
  used = 0
end
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
local delta = tonumber(ARGV[1])
if delta ~= 0 and (tonumber(ARGV[5]) > 0 or tonumber(ARGV[7]) > 0) then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  for s = 0, 1 do
    local rpm, tpm = tonumber(ARGV[4 + 2 * s]), tonumber(ARGV[5 + 2 * s])
    local h = KEYS[2 + s]
    local b = tpm > 0 and redis.call('HMGET', h, 'r', 't', 'ts') or {false, false, false}
    if b[2] then
      local elapsed = now - tonumber(b[3])
      local tk = math.min(tpm, tonumber(b[2]) + elapsed * tpm / 60000 - delta)
      if b[1] and rpm > 0 then
        local r = math.min(rpm, tonumber(b[1]) + elapsed * rpm / 60000)
        redis.call('HSET', h, 'r', tostring(r), 't', tostring(tk), 'ts', now)
      else
        redis.call('HSET', h, 't', tostring(tk), 'ts', now)
      end
      redis.call('PEXPIRE', h, 61000)
    end
  end
end
redis.call('ZREM', KEYS[4], ARGV[3])
redis.call('ZREM', KEYS[5], ARGV[3])
return used
"""

_SCOPES: Final = {
    1: ("key", "requests", "requests per minute (RPM)"),
    2: ("key", "tokens", "tokens per minute (TPM)"),
    3: ("key", "requests", "concurrent requests"),
    4: ("org", "requests", "requests per minute (RPM)"),
    5: ("org", "tokens", "tokens per minute (TPM)"),
    6: ("org", "requests", "concurrent requests"),
}


@dataclass(frozen=True, slots=True)
class RateLimitSet:
    """The limits one request is held to (0: none), key scope then org scope."""

    key_rpm: int = 0
    key_tpm: int = 0
    key_concurrency: int = 0
    org_rpm: int = 0
    org_tpm: int = 0
    org_concurrency: int = 0

    @classmethod
    def of(cls, effective: Any) -> RateLimitSet:
        """From :class:`ias_serve.domain.rate_limits.EffectiveRateLimits` (None → 0)."""
        k, o = effective.key, effective.org
        return cls(
            k.requests_per_minute or 0,
            k.tokens_per_minute or 0,
            k.max_concurrent_requests or 0,
            o.requests_per_minute or 0,
            o.tokens_per_minute or 0,
            o.max_concurrent_requests or 0,
        )

    @property
    def any(self) -> bool:
        return any(self.args())

    def args(self) -> tuple[int, ...]:
        return (
            self.key_rpm,
            self.key_tpm,
            self.key_concurrency,
            self.org_rpm,
            self.org_tpm,
            self.org_concurrency,
        )


def rate_keys(key_id: uuid.UUID, org_id: uuid.UUID) -> list[str]:
    """The four keys of :data:`ADMIT` after the budget's: the key's buckets and in-flight set,
    then the org's (shared by every key of the org)."""
    k, o = f"ias:rl:k:{key_id}", f"ias:rl:o:{org_id}"
    return [k, k + ":c", o, o + ":c"]


@dataclass(frozen=True, slots=True)
class RateState:
    """What the client is told in ``x-ratelimit-*`` headers after an admitted request."""

    limit_requests: int = 0
    remaining_requests: int = 0
    reset_requests_ms: int = 0
    limit_tokens: int = 0
    remaining_tokens: int = 0
    reset_tokens_ms: int = 0

    @classmethod
    def from_script(cls, out: list[Any]) -> RateState:
        return cls(*(int(v) for v in out[5:11])) if len(out) >= 11 else cls()

    def headers(self) -> dict[str, str]:
        """OpenAI's headers, for the limits that apply (none when no limit applies)."""
        h: dict[str, str] = {}
        if self.limit_requests:
            h["x-ratelimit-limit-requests"] = str(self.limit_requests)
            h["x-ratelimit-remaining-requests"] = str(max(0, self.remaining_requests))
            h["x-ratelimit-reset-requests"] = duration_text(self.reset_requests_ms / 1000)
        if self.limit_tokens:
            h["x-ratelimit-limit-tokens"] = str(self.limit_tokens)
            h["x-ratelimit-remaining-tokens"] = str(max(0, self.remaining_tokens))
            h["x-ratelimit-reset-tokens"] = duration_text(self.reset_tokens_ms / 1000)
        return h


def rate_limited(out: list[Any], limits: RateLimitSet, tokens: int) -> RateLimited:
    """The 429 for a refusal of :data:`ADMIT` (status 2), with ``Retry-After`` and the limit's
    ``x-ratelimit-*`` headers."""
    which, retry_ms = int(out[3]), int(out[4])
    scope, kind, what = _SCOPES[which]
    limit = limits.args()[which - 1]
    prefix = f"Rate limit reached for this API {'key' if scope == 'key' else 'organisation'} on {what}: "
    headers = {f"x-ratelimit-limit-{kind}": str(limit), f"x-ratelimit-remaining-{kind}": "0"}
    if retry_ms < 0:  # tokens per minute smaller than this one request
        err = RateLimited(
            prefix + f"Limit {limit}, Requested {tokens}. The request is larger than the limit: "
            "lower max_tokens or the input.",
        )
    else:
        seconds = max(1, -(-retry_ms // 1000))
        headers["retry-after"] = str(seconds)
        headers[f"x-ratelimit-reset-{kind}"] = duration_text(retry_ms / 1000)
        err = RateLimited(prefix + f"Limit {limit}. Please try again in {duration_text(retry_ms / 1000)}.")
    err.openai_type = kind  # type: ignore[misc]  # OpenAI: "requests" | "tokens"
    err.headers = headers
    return err
