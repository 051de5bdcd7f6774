"""`/api/auth`: log in, log out, who am I, change the password (see
:mod:`ias_serve.services.management.auth`).

A login (and an accepted invite) answers the session token in the body *and* sets two cookies
for the portal: ``ias_session`` (HttpOnly, SameSite=Strict, Path=/) and ``ias_csrf`` (readable
by the page, random; a cookie-authenticated write must echo it in ``X-CSRF-Token``).
``Secure`` comes from ``IAS_SESSION_COOKIE_SECURE``.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ias_serve.api.deps import Management, SessionUser, WritingUser
from ias_serve.cache.login_limit import LoginRateLimited, client_address
from ias_serve.domain.tokens import CSRF_COOKIE, SESSION_COOKIE
from ias_serve.protocol.management.auth import (
    LoginCreate,
    MePublic,
    PasswordChange,
    PasswordChanged,
    SessionPublic,
)
from ias_serve.protocol.management.resource_base import error_responses
from ias_serve.services.management.auth import AuthService
from ias_serve.services.management.context import ManagementContext

router = APIRouter(prefix="/auth", tags=["auth"])

_429 = {429: {"description": "Too many attempts (per account or per client address); see Retry-After."}}


def address_of(request: Request, ctx: ManagementContext) -> str:
    """The client address login attempts are counted against."""
    header = ctx.settings.client_address_header
    peer = request.client.host if request.client is not None else None
    return client_address(peer, request.headers.get(header) if header else None)


def set_session_cookies(response: Response, ctx: ManagementContext, session: SessionPublic) -> None:
    max_age = ctx.settings.session_ttl_s
    secure = ctx.settings.session_cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE, secrets.token_urlsafe(32), max_age=max_age, path="/", secure=secure, samesite="strict"
    )


def clear_session_cookies(response: Response, ctx: ManagementContext) -> None:
    secure = ctx.settings.session_cookie_secure
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="strict")


def rate_limited(exc: LoginRateLimited) -> JSONResponse:
    """429 with ``Retry-After`` (the app's generic error handler sets no headers)."""
    return JSONResponse(
        exc.rest_body(), status_code=exc.status, headers={"Retry-After": str(exc.retry_after_s)}
    )


@router.post(
    "/login",
    response_model=SessionPublic,
    summary="Log in with e-mail and password: a session token (also set as cookies)",
    responses={
        **error_responses(s401="Wrong e-mail address or password (one answer for both)."),
        **_429,
    },
)
async def login(body: LoginCreate, request: Request, response: Response, ctx: Management) -> Any:
    try:
        session = await AuthService(ctx).login(
            body.email, body.password.get_secret_value(), address=address_of(request, ctx)
        )
    except LoginRateLimited as exc:
        return rate_limited(exc)
    set_session_cookies(response, ctx, session)
    return session


@router.post(
    "/logout",
    status_code=204,
    summary="End the caller's session and clear the cookies",
    responses=error_responses(403, s403="Cookie session without the X-CSRF-Token header."),
)
async def logout(principal: WritingUser, ctx: Management) -> Response:
    await AuthService(ctx).logout(principal)
    response = Response(status_code=204)
    clear_session_cookies(response, ctx)
    return response


@router.get(
    "/me",
    summary="The caller: account, memberships with roles, System Admin flag",
    responses=error_responses(),
)
async def me(principal: SessionUser, ctx: Management) -> MePublic:
    return await AuthService(ctx).me(principal)


@router.post(
    "/password",
    response_model=PasswordChanged,
    summary="Change the caller's password (ends the caller's other sessions)",
    responses={
        **error_responses(
            403,
            s400="Malformed request, or the current password is wrong (code wrong_password).",
            s403="Cookie session without the X-CSRF-Token header.",
            s422="The new password breaks the policy (length, contains the e-mail address).",
        ),
        **_429,
    },
)
async def change_password(
    body: PasswordChange, request: Request, principal: WritingUser, ctx: Management
) -> Any:
    try:
        return await AuthService(ctx).change_password(
            principal,
            body.current_password.get_secret_value(),
            body.new_password.get_secret_value(),
            address=address_of(request, ctx),
        )
    except LoginRateLimited as exc:
        return rate_limited(exc)
