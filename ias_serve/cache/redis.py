"""The gateway's Redis client: short timeouts so that an outage is detected in about a second.

Choices (:func:`make_redis`):

* ``socket_connect_timeout=0.5 s``: a reachable Redis accepts a TCP connection in well under a
  millisecond; a black-holed host must not stall a request for the OS default (minutes).
* ``socket_timeout=1.0 s``: every command the gateway sends is O(1) or a short Lua script, so
  a reply slower than a second means Redis is unwell. Pub/sub reads pass their own timeout.
* ``retry=Retry(NoBackoff(), 1)``: exactly one immediate retry on a connection error. After a
  Redis restart every pooled connection is dead; the retry replaces it with a fresh one, so the
  first command after the restart succeeds instead of failing. More retries (redis-py's default
  is 3 with backoff) would only delay the verdict "Redis is down" and hence the 503.
* ``health_check_interval=10 s``: a connection idle for longer is PINGed before reuse.
* ``BlockingConnectionPool(max_connections=64, timeout=1 s)``: a burst of concurrent requests
  waits briefly for a pooled connection instead of failing (redis-py's default pool raises
  ``MaxConnectionsError`` beyond 100 connections, which would read as "Redis is down"); 64
  connections carry tens of thousands of sub-millisecond commands per second.
* ``decode_responses=True``: every value the gateway stores is text (integers, JSON, markers).

The pool reconnects by itself: once Redis is back, the next command opens a new connection, so
nothing has to be restarted after an outage.
"""

from __future__ import annotations

from typing import Final

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CONNECT_TIMEOUT_S: Final = 0.5
SOCKET_TIMEOUT_S: Final = 1.0
HEALTH_CHECK_INTERVAL_S: Final = 10
MAX_CONNECTIONS: Final = 64
POOL_TIMEOUT_S: Final = 1.0

#: What "Redis is unreachable" looks like (``BusyLoadingError`` is a ``ConnectionError``).
#: ``ResponseError`` (a bug, a wrong type) is deliberately not in here.
REDIS_UNAVAILABLE: Final = (RedisConnectionError, RedisTimeoutError, OSError)


def make_redis(
    url: str,
    *,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    socket_timeout_s: float = SOCKET_TIMEOUT_S,
    health_check_interval_s: int = HEALTH_CHECK_INTERVAL_S,
    max_connections: int = MAX_CONNECTIONS,
    pool_timeout_s: float = POOL_TIMEOUT_S,
) -> Redis:
    """An asyncio Redis client for ``url`` (``redis://``, ``rediss://``, ``unix://``).

    Each revocation listener holds one connection of the pool. Close the client (and its
    pool) with ``await client.aclose()``.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout_s,
        socket_connect_timeout=connect_timeout_s,
        socket_timeout=socket_timeout_s,
        health_check_interval=health_check_interval_s,
        retry=Retry(NoBackoff(), 1),
        decode_responses=True,
        # RESP2, explicitly: redis-py 8 speaks RESP3 by default, and its pub/sub parser then cuts
        # a PING reply on a subscribed connection into characters ({'type': 'i', 'channel': 'a',
        # 'data': 's'} for "ias-hb …"), so the revocation listener never saw its heartbeat and
        # reconnected every 3 s, bypassing the local key cache meanwhile.
        protocol=2,
    )
    return Redis.from_pool(pool)


def describe_redis_error(exc: BaseException) -> str:
    """A short, secret-free name for a Redis failure (for logs and metrics labels)."""
    if isinstance(exc, RedisTimeoutError):
        return "timeout"
    if isinstance(exc, RedisConnectionError | OSError):
        return "connection"
    return type(exc).__name__
