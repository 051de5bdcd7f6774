"""`/api` invites: invite into an org (`POST /org/{id}/user`), list, revoke, re-send; the
public look-up and accept of a token (`/invite/{token}`); the outbox (`/outbox`).

See :mod:`ias_serve.services.management.invites` for the rules.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from ias_serve.api.deps import Management, SessionUser, WritingUser
from ias_serve.api.management.auth import address_of, rate_limited, set_session_cookies
from ias_serve.cache.login_limit import LoginRateLimited
from ias_serve.protocol.management.auth import SessionPublic
from ias_serve.protocol.management.invites import (
    InviteAccept,
    InviteCreate,
    InviteInfo,
    InviteSent,
    InvitesPublic,
    OutboxPublic,
)
from ias_serve.protocol.management.resource_base import ErrorPublic, error_responses
from ias_serve.services.management.invites import InviteService

router = APIRouter(tags=["invites"])

_WRITE = error_responses(
    403, 404, s403="Not an Org Admin of this org (or cookie session without CSRF header)."
)
_GONE = {
    410: {"model": ErrorPublic, "description": "Used, revoked or expired (invite_used/_revoked/_expired)."}
}
_TOKEN_404 = "Unknown token (invite_not_found)."


@router.post(
    "/org/{org_id}/user",
    status_code=201,
    summary="Invite a user into the org by e-mail (replaces a pending invite of the same address)",
    responses=error_responses(
        403, 404, 409, s403=_WRITE[403]["description"], s409="The address is already a member."
    ),
)
async def invite_user(
    org_id: uuid.UUID, body: InviteCreate, principal: WritingUser, ctx: Management
) -> InviteSent:
    return await InviteService(ctx).invite(principal, org_id, body)


@router.get("/org/{org_id}/invite", summary="The org's pending invites", responses=error_responses(403, 404))
async def list_invites(org_id: uuid.UUID, principal: SessionUser, ctx: Management) -> InvitesPublic:
    return await InviteService(ctx).list_pending(principal, org_id)


@router.delete(
    "/org/{org_id}/invite/{invite_id}",
    status_code=204,
    summary="Revoke a pending invite (its link stops working)",
    responses=error_responses(403, 404, 409, s409="Already used or revoked (invite_not_pending)."),
)
async def revoke_invite(
    org_id: uuid.UUID, invite_id: uuid.UUID, principal: WritingUser, ctx: Management
) -> Response:
    await InviteService(ctx).revoke(principal, org_id, invite_id)
    return Response(status_code=204)


@router.post(
    "/org/{org_id}/invite/{invite_id}/resend",
    summary="Re-send an invite: new token (the old link dies), new expiry, the e-mail again",
    responses=error_responses(403, 404, 409, s409="Already used or revoked (invite_not_pending)."),
)
async def resend_invite(
    org_id: uuid.UUID, invite_id: uuid.UUID, principal: WritingUser, ctx: Management
) -> InviteSent:
    return await InviteService(ctx).resend(principal, org_id, invite_id)


@router.get(
    "/invite/{token}",
    summary="Public: what an invite offers (org, role, who invited, expiry)",
    responses={**error_responses(404, s404=_TOKEN_404), **_GONE},
)
async def invite_info(token: str, ctx: Management) -> InviteInfo:
    return await InviteService(ctx).info(token)


@router.post(
    "/invite/{token}/accept",
    response_model=SessionPublic,
    summary="Public: accept an invite (new account: name + password; existing: its password) and log in",
    responses={
        **error_responses(
            403,
            404,
            409,
            s401="Existing account: wrong password.",
            s403="The account is disabled.",
            s404=_TOKEN_404,
            s409="Already a member of the org.",
            s422="Password breaks the policy, or a new account without a name.",
        ),
        **_GONE,
        429: {"description": "Too many password attempts for an existing account; see Retry-After."},
    },
)
async def accept_invite(
    token: str, body: InviteAccept, request: Request, response: Response, ctx: Management
) -> Any:
    try:
        session = await InviteService(ctx).accept(
            token, name=body.name, password=body.password.get_secret_value(), address=address_of(request, ctx)
        )
    except LoginRateLimited as exc:
        return rate_limited(exc)
    set_session_cookies(response, ctx, session)
    return session


@router.get(
    "/outbox",
    summary="System Admins: e-mails kept in IAS_HOME/outbox (no SMTP configured), newest first",
    responses=error_responses(403, s403="Not a System Admin."),
)
async def outbox(
    principal: SessionUser,
    ctx: Management,
    to: Annotated[str | None, Query(max_length=254, description="Only mails to this address.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> OutboxPublic:
    return await InviteService(ctx).outbox(principal, to=to, limit=limit)
