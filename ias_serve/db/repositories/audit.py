"""The insert-only audit log: record and query, nothing else (the database forbids the rest)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_

from ias_serve.db.models import AuditEntry, User
from ias_serve.db.repositories._base import Repository, page
from ias_serve.domain.audit import AuditAction, redact


class AuditRepository(Repository):
    async def record(
        self,
        action_type: AuditAction | str,
        *,
        org_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Insert one row in the caller's transaction (commits or rolls back with the change
        it describes). Secrets in ``payload`` are redacted (:func:`ias_serve.domain.audit.redact`)."""
        entry = AuditEntry(
            org_id=org_id,
            user_id_performing_action=user_id,
            action_type=str(action_type),
            payload=redact(dict(payload or {})),
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def get(self, entry_id: int) -> AuditEntry | None:
        return await self.session.get(AuditEntry, entry_id)

    async def list_entries(
        self,
        *,
        org_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        action_type: AuditAction | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first. ``since`` inclusive, ``until`` exclusive. Page on with
        ``before_id=<id of the last row of the previous page>`` (keyset paging, stable under
        concurrent inserts). ``org_id=None`` means every organisation."""
        lim, _ = page(limit)
        where = self._matching(org_id, user_id, action_type, since, until)
        if before_id is not None:
            where.append(AuditEntry.id < before_id)
        stmt = select(AuditEntry).where(*where).order_by(AuditEntry.id.desc()).limit(lim)
        return list(await self.session.scalars(stmt))

    # --- the management API's audit listing (keyset paging on the (…, ts) indexes) ---------

    @staticmethod
    def _matching(
        org_id: uuid.UUID | None,
        user_id: uuid.UUID | None,
        action_type: AuditAction | str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if org_id is not None:
            where.append(AuditEntry.org_id == org_id)
        if user_id is not None:
            where.append(AuditEntry.user_id_performing_action == user_id)
        if action_type is not None:
            where.append(AuditEntry.action_type == str(action_type))
        if since is not None:
            where.append(AuditEntry.ts >= since)
        if until is not None:
            where.append(AuditEntry.ts < until)
        return where

    async def list_page(
        self,
        *,
        org_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        action_type: AuditAction | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: tuple[datetime, int] | None = None,
        limit: int = 50,
    ) -> list[tuple[AuditEntry, str | None]]:
        """``(entry, actor e-mail or None)``, newest first by ``(ts, id)`` (the order of the
        ``(org_id, ts)``, ``(ts)`` and ``(action_type, ts)`` indexes), after the keyset
        ``after`` (the last row's ``(ts, id)``). ``since`` inclusive, ``until`` exclusive."""
        lim, _ = page(limit)
        stmt = (
            select(AuditEntry, User.email)
            .outerjoin(User, User.id == AuditEntry.user_id_performing_action)
            .where(*self._matching(org_id, user_id, action_type, since, until))
            .order_by(AuditEntry.ts.desc(), AuditEntry.id.desc())
            .limit(lim)
        )
        if after is not None:
            stmt = stmt.where(tuple_(AuditEntry.ts, AuditEntry.id) < tuple_(after[0], after[1]))
        rows = await self.session.execute(stmt)
        return [(entry, email) for entry, email in rows.all()]

    async def count_matching(
        self,
        *,
        org_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        action_type: AuditAction | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        stmt = (
            select(func.count())
            .select_from(AuditEntry)
            .where(*self._matching(org_id, user_id, action_type, since, until))
        )
        return int(await self.session.scalar(stmt) or 0)
