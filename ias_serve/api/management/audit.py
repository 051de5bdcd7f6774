"""`/api/org/{id}/audit_log` and `/api/audit_log` (rules: :mod:`ias_serve.services.management.audit`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ias_serve.api.deps import Management, SessionUser
from ias_serve.api.management.orgs import Cursor, Limit
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.paging import DEFAULT_LIMIT
from ias_serve.protocol.management.audit import AuditLogPublic
from ias_serve.protocol.management.resource_base import error_responses
from ias_serve.services.management.audit import AuditFilter, AuditService

router = APIRouter(tags=["audit log"])

ActionType = Annotated[AuditAction | None, Query(description="Only this action type.")]
Actor = Annotated[uuid.UUID | None, Query(description="Only actions performed by this user.")]
Since = Annotated[
    datetime | None, Query(description="From this instant, inclusive (ISO 8601; UTC if no offset).")
]
Until = Annotated[datetime | None, Query(description="Before this instant, exclusive.")]


def _filter(
    action_type: ActionType = None,
    user_id: Actor = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> AuditFilter:
    return AuditFilter(action_type, user_id, since, until, limit, cursor)


Filter = Annotated[AuditFilter, Depends(_filter)]


@router.get(
    "/org/{org_id}/audit_log",
    summary="The org's audit log, newest first, filtered and cursor-paged (Org Admin, System Admin)",
    responses=error_responses(
        403, 404, s403="Not an Org Admin of this org.", s404="No such organisation, or not a member of it."
    ),
)
async def org_audit_log(
    org_id: uuid.UUID, principal: SessionUser, ctx: Management, q: Filter
) -> AuditLogPublic:
    return await AuditService(ctx).list_org(principal, org_id, q)


@router.get(
    "/audit_log",
    summary="Every organisation's audit log, global changes included (System Admin)",
    responses=error_responses(403, s403="Not a System Admin."),
)
async def audit_log(
    principal: SessionUser,
    ctx: Management,
    q: Filter,
    org_id: Annotated[uuid.UUID | None, Query(description="Only this organisation's rows.")] = None,
) -> AuditLogPublic:
    return await AuditService(ctx).list_all(principal, q, org_id=org_id)
