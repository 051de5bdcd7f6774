"""`/api/org`: organisations (see :mod:`ias_serve.services.management.orgs` for the rules)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from ias_serve.api.deps import Management, SessionUser, WritingUser
from ias_serve.domain.paging import DEFAULT_LIMIT, MAX_LIMIT
from ias_serve.domain.roles import Status
from ias_serve.protocol.management.orgs import OrgCreate, OrgDeleted, OrgPublic, OrgsPublic, OrgUpdate
from ias_serve.protocol.management.resource_base import error_responses
from ias_serve.services.management.orgs import OrgService

router = APIRouter(tags=["organisations"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page (omit for the first).")
]
_NOT_SYSADMIN = "Not a System Admin (or a cookie session without the CSRF header)."


@router.post(
    "/org",
    status_code=201,
    summary="Create an organisation (System Admin), optionally with a monthly token budget",
    responses=error_responses(403, 409, s403=_NOT_SYSADMIN, s409="An organisation with this name exists."),
)
async def create_org(body: OrgCreate, principal: WritingUser, ctx: Management) -> OrgPublic:
    return await OrgService(ctx).create(principal, body)


@router.get(
    "/org",
    summary="Organisations: all for a System Admin, else the caller's own; by name, paged",
    responses=error_responses(),
)
async def list_orgs(
    principal: SessionUser,
    ctx: Management,
    status: Annotated[Status | None, Query(description="active | disabled")] = None,
    name: Annotated[
        str | None, Query(max_length=200, description="Case-insensitive part of the name.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> OrgsPublic:
    return await OrgService(ctx).list(principal, status=status, name=name, limit=limit, cursor=cursor)


@router.get(
    "/org/{org_id}",
    summary="One organisation (System Admin: any; members: their own)",
    responses=error_responses(404),
)
async def get_org(org_id: uuid.UUID, principal: SessionUser, ctx: Management) -> OrgPublic:
    return await OrgService(ctx).get(principal, org_id)


@router.patch(
    "/org/{org_id}",
    summary="Rename, disable or enable an organisation (System Admin)",
    description="Disabling takes effect in the gateway at once: every replica drops the org's cached "
    "keys and answers its keys with 403 `org_disabled` (within 1 s); enabling restores them.",
    responses=error_responses(403, 404, 409, s403=_NOT_SYSADMIN, s409="Another organisation has this name."),
)
async def update_org(
    org_id: uuid.UUID, body: OrgUpdate, principal: WritingUser, ctx: Management
) -> OrgPublic:
    return await OrgService(ctx).update(principal, org_id, body)


@router.delete(
    "/org/{org_id}",
    summary="Delete a disabled organisation and what belonged only to it (System Admin)",
    description="Removes its memberships, invites, API keys and budget, and the users who belong to "
    "no other organisation; its audit trail stays (plus an `org_deleted` row), and so does its "
    "recorded usage. An active organisation answers 409 `org_not_disabled`: disable it first.",
    responses=error_responses(
        403, 404, 409, s403=_NOT_SYSADMIN, s409="The organisation is not disabled (`org_not_disabled`)."
    ),
)
async def delete_org(org_id: uuid.UUID, principal: WritingUser, ctx: Management) -> OrgDeleted:
    return await OrgService(ctx).delete(principal, org_id)
