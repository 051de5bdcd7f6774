"""The gateway's hot-path state in Redis (with in-process caches in front):

* :class:`KeyAuthenticator`: API key → :class:`~ias_serve.domain.principal.ApiKeyPrincipal`
  (local TTL cache → Redis → PostgreSQL), revocation by pub/sub, batched ``last_used_at``;
* :class:`BudgetStore`: atomic monthly token budget reservations (one Lua script) and their
  settlement;
* :func:`make_redis`: the Redis client with timeouts short enough to fail fast.
"""

from ias_serve.cache.budget import BudgetStore, LimitSource, PostgresLimitSource, Reservation
from ias_serve.cache.keys import KeyAuthenticator
from ias_serve.cache.metrics import AuthMetrics, BudgetMetrics
from ias_serve.cache.redis import REDIS_UNAVAILABLE, make_redis

__all__ = [
    "REDIS_UNAVAILABLE",
    "AuthMetrics",
    "BudgetMetrics",
    "BudgetStore",
    "KeyAuthenticator",
    "LimitSource",
    "PostgresLimitSource",
    "Reservation",
    "make_redis",
]
