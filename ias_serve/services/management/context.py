"""What every management service shares: its collaborators, and the audited write.

Every management use case is a method of a plain service class taking a
:class:`ManagementContext` (no FastAPI, no Ray). Writes go through :meth:`ManagementContext.audited`:
one PostgreSQL transaction holding the change *and* its ``audit_log`` row, so a write that
fails (or is refused before it starts) leaves no row, and a row never describes a change that
did not happen.

Effects outside PostgreSQL (revoking a key in the gateways' Redis cache, publishing a new
budget limit, sending an invite e-mail) run *after* the commit, through the context's
collaborators; each is best effort with a bounded staleness (the gateway's own TTLs), and each
is logged when it fails.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.cache.budget import BudgetStore
from ias_serve.cache.key_store import RedisKeyStore
from ias_serve.db.repositories import AuditRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.settings import Settings


class Mailer(Protocol):
    """Sends one plain-text e-mail; returns how it went out: ``"smtp"`` or ``"outbox"``."""

    async def send(self, *, to: str, subject: str, body: str) -> str: ...


@dataclass(slots=True)
class AuditedWrite:
    """The open transaction of one audited write. The service sets ``org_id`` and adds to
    ``payload`` as it learns them (e.g. the id of a created row); secrets in the payload are
    redacted when the row is written."""

    session: AsyncSession
    action: AuditAction
    org_id: uuid.UUID | None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ManagementContext:
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    mailer: Mailer
    keys: RedisKeyStore | None = None
    """Gateway key cache: revoke a key / invalidate an org's keys (None: no Redis configured)."""
    budgets: BudgetStore | None = None
    """Gateway budget limits: publish a changed limit at once (None: no Redis configured)."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @asynccontextmanager
    async def audited(
        self,
        actor: uuid.UUID | None,
        action: AuditAction,
        *,
        org_id: uuid.UUID | None = None,
        payload: dict[str, Any] | None = None,
    ) -> AsyncIterator[AuditedWrite]:
        """``async with ctx.audited(user, AuditAction.KEY_CREATED, org_id=org) as w:`` — make
        the change with ``w.session``; the audit row is added last, in the same transaction."""
        async with self.sessionmaker() as session, session.begin():
            write = AuditedWrite(session, action, org_id, dict(payload or {}))
            yield write
            await AuditRepository(session).record(
                write.action, org_id=write.org_id, user_id=actor, payload=write.payload
            )

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (no audit row)."""
        async with self.sessionmaker() as session:
            yield session
