"""`/api/org/{id}/key`: API keys (see :mod:`ias_serve.services.management.keys` for the rules)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from ias_serve.api.deps import Management, SessionUser, WritingUser
from ias_serve.api.management.orgs import Cursor, Limit
from ias_serve.domain.key_lifecycle import KeyStatus
from ias_serve.domain.paging import DEFAULT_LIMIT
from ias_serve.protocol.management.keys import KeyCreate, KeyCreatedPublic, KeyPublic, KeysPublic
from ias_serve.protocol.management.resource_base import error_responses
from ias_serve.services.management.keys import KeyService

router = APIRouter(tags=["api keys"])


@router.post(
    "/org/{org_id}/key",
    status_code=201,
    summary="Create an API key for yourself in this org: the full key is in this answer only",
    responses=error_responses(
        403,
        404,
        409,
        s403="System Admins cannot create keys (or a cookie session without the CSRF header).",
        s404="No such organisation, or not a member of it.",
        s409="An active key of yours has this name (key_name_taken), or the org is disabled (org_disabled).",
    ),
)
async def create_key(
    org_id: uuid.UUID, body: KeyCreate, principal: WritingUser, ctx: Management
) -> KeyCreatedPublic:
    return await KeyService(ctx).create(principal, org_id, body)


@router.get(
    "/org/{org_id}/key",
    summary="The org's API keys (Org User: only their own), newest first, paged; never the key",
    responses=error_responses(404, s404="No such organisation, or not a member of it."),
)
async def list_keys(
    org_id: uuid.UUID,
    principal: SessionUser,
    ctx: Management,
    owner: Annotated[
        str | None, Query(max_length=64, description="`me` or a user id: only that owner's keys.")
    ] = None,
    status: Annotated[KeyStatus | None, Query(description="active | revoked | expired")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> KeysPublic:
    return await KeyService(ctx).list(
        principal, org_id, owner=owner, status=status, limit=limit, cursor=cursor
    )


@router.delete(
    "/org/{org_id}/key/{key_id}",
    summary="Revoke an API key: refused by every gateway replica within 1 s",
    description="Your own key, or (Org Admin, System Admin) any key of the org. A key you may not "
    "revoke answers 404, like one that does not exist.",
    responses=error_responses(
        403,
        404,
        409,
        s403="Cookie session without the CSRF header.",
        s404="No such key in this org, or not yours to manage.",
        s409="Already revoked (key_already_revoked).",
    ),
)
async def revoke_key(
    org_id: uuid.UUID, key_id: uuid.UUID, principal: WritingUser, ctx: Management
) -> KeyPublic:
    return await KeyService(ctx).revoke(principal, org_id, key_id)
