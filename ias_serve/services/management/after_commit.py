"""Effects of a committed write on the gateway's Redis: best effort, never failing the request.

The change is in PostgreSQL already (the source of truth); the gateway converges on its own
within its TTLs when an effect is lost (key entries ``key_redis_ttl_s``, budget limits
``budget_limit_ttl_s``), so a failure is logged, not raised.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

_log = logging.getLogger(__name__)


async def best_effort(what: str, pending: Awaitable[object] | None) -> bool:
    """Await ``pending`` (``None``: nothing configured, e.g. no Redis); True when it ran."""
    if pending is None:
        return False
    try:
        await pending
    except Exception as exc:  # an effect must never turn a committed write into an error
        _log.warning("%s failed after the commit (the gateway catches up within its TTL): %s", what, exc)
        return False
    return True
