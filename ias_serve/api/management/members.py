"""`/api/org/{id}/user`: the members of an org — list, change role, remove (see
:mod:`ias_serve.services.management.members`; inviting is `POST` on the same path, in
:mod:`ias_serve.api.management.invites`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from ias_serve.api.deps import Management, SessionUser, WritingUser
from ias_serve.protocol.management.members import MemberPublic, MemberRemoved, MembersPublic, MemberUpdate
from ias_serve.protocol.management.resource_base import error_responses
from ias_serve.services.management.members import MemberService

router = APIRouter(tags=["members"])

_403 = "Not an Org Admin of this org (Org Users cannot list or manage members)."
_409 = "The org would lose its last Org Admin (last_org_admin)."


@router.get("/org/{org_id}/user", summary="The org's members", responses=error_responses(403, 404, s403=_403))
async def list_members(
    org_id: uuid.UUID,
    principal: SessionUser,
    ctx: Management,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> MembersPublic:
    return await MemberService(ctx).list_members(principal, org_id, limit=limit, offset=offset)


@router.patch(
    "/org/{org_id}/user/{user_id}",
    summary="Change a member's role",
    responses=error_responses(403, 404, 409, s403=_403, s409=_409),
)
async def change_role(
    org_id: uuid.UUID, user_id: uuid.UUID, body: MemberUpdate, principal: WritingUser, ctx: Management
) -> MemberPublic:
    return await MemberService(ctx).change_role(principal, org_id, user_id, body.role)


@router.delete(
    "/org/{org_id}/user/{user_id}",
    summary="Remove a member (revokes their keys in the org; their sessions when no org is left)",
    responses=error_responses(403, 404, 409, s403=_403, s409=_409),
)
async def remove_member(
    org_id: uuid.UUID, user_id: uuid.UUID, principal: WritingUser, ctx: Management
) -> MemberRemoved:
    return await MemberService(ctx).remove(principal, org_id, user_id)
