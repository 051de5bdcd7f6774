"""Transaction-scoped PostgreSQL advisory locks for the identity services.

They serialise the few writes that read-then-decide across rows no unique constraint covers:
the last-Org-Admin guard (two admins removing each other at once must not leave none),
replacing an address's pending invite, and accepting an invite (single use). The lock is
released by the commit or rollback of the transaction that took it.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


def lock_key(*parts: object) -> int:
    """A signed 64-bit key (what ``pg_advisory_xact_lock(bigint)`` takes) from ``parts``."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def advisory_lock(session: AsyncSession, *parts: object) -> None:
    """Wait for, then hold until the end of the transaction, the lock named by ``parts``."""
    await session.execute(select(func.pg_advisory_xact_lock(lock_key(*parts))))
