"""Reading the audit log (writing it is :meth:`ManagementContext.audited`'s job).

* ``GET /api/org/{id}/audit_log``: :data:`Action.VIEW_ORG_AUDIT_LOG` — System Admin: any org;
  Org Admin: own; Org User 403; outsiders 404.
* ``GET /api/audit_log``: the same action without an org, which only a System Admin holds
  (others 403): every row, global changes (model mappings, org-less rows) included.

Newest first by ``(ts, id)``, keyset-paged (:mod:`ias_serve.domain.paging`): a page is one
range scan of the ``(org_id, ts)`` / ``(ts)`` / ``(action_type, ts)`` index whatever its depth,
and rows written while a client pages never shift the pages. Reading is not audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from ias_serve.db.models import AuditEntry
from ias_serve.db.repositories import AuditRepository, OrgRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.paging import audit_cursor, parse_audit_cursor, time_range
from ias_serve.domain.policy import Action, authorize
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.protocol.management.audit import AuditEntryPublic, AuditLogPublic
from ias_serve.services.management.context import ManagementContext


def entry_public(entry: AuditEntry, email: str | None) -> AuditEntryPublic:
    return AuditEntryPublic(
        id=entry.id,
        ts=entry.ts,
        org_id=entry.org_id,
        user_id=entry.user_id_performing_action,
        user_email=email,
        action_type=entry.action_type,
        payload=entry.payload,
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """The filters and page of an audit listing (the same for one org and for all)."""

    action_type: AuditAction | None = None
    user_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    cursor: str | None = None


class AuditService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx

    async def list_org(
        self, principal: SessionPrincipal, org_id: uuid.UUID, q: AuditFilter
    ) -> AuditLogPublic:
        authorize(principal, Action.VIEW_ORG_AUDIT_LOG, org_id=org_id)
        return await self._page(q, org_id=org_id, require_org=True)

    async def list_all(
        self, principal: SessionPrincipal, q: AuditFilter, *, org_id: uuid.UUID | None = None
    ) -> AuditLogPublic:
        """Every organisation's rows (System Admins); ``org_id`` filters without requiring the
        org to exist any more (audit rows outlive what they mention)."""
        authorize(principal, Action.VIEW_ORG_AUDIT_LOG)
        return await self._page(q, org_id=org_id, require_org=False)

    async def _page(self, q: AuditFilter, *, org_id: uuid.UUID | None, require_org: bool) -> AuditLogPublic:
        limit = q.limit
        start, end = time_range(q.since, q.until)
        after = parse_audit_cursor(q.cursor) if q.cursor else None
        filters = {
            "org_id": org_id,
            "user_id": q.user_id,
            "action_type": q.action_type,
            "since": start,
            "until": end,
        }
        async with self.ctx.reading() as session:
            if require_org and org_id is not None:
                await OrgRepository(session).require(org_id)
            repo = AuditRepository(session)
            rows = await repo.list_page(**filters, after=after, limit=limit + 1)
            count = await repo.count_matching(**filters)
        more, rows = len(rows) > limit, rows[:limit]
        last = rows[-1][0] if rows else None
        return AuditLogPublic(
            data=[entry_public(e, email) for e, email in rows],
            count=count,
            next_cursor=audit_cursor(last.ts, last.id) if more and last is not None else None,
        )
