"""FastAPI dependencies as `Annotated` aliases, one place for all routers."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from ias_serve.domain.principal import ApiKeyPrincipal, SessionPrincipal
from ias_serve.domain.tokens import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from ias_serve.errors import PermissionDenied, ServiceUnavailable
from ias_serve.observability.logging import request_id_var
from ias_serve.services.analytics import AnalyticsService
from ias_serve.services.gateway import GatewayService
from ias_serve.services.management.context import ManagementContext
from ias_serve.services.sessions import SessionAuthenticator


async def _gateway(request: Request) -> GatewayService:  # async: no threadpool hop
    svc = getattr(request.app.state, "gateway", None)
    if svc is None:
        raise ServiceUnavailable("the inference gateway is not configured in this process")
    return svc


async def _principal(
    gateway: Annotated[GatewayService, Depends(_gateway)],
    authorization: Annotated[str | None, Header()] = None,
) -> ApiKeyPrincipal:
    return await gateway.principal(authorization)


async def _request_id() -> str:
    rid = request_id_var.get()
    if rid is None:  # pragma: no cover - RequestContextMiddleware always sets it
        raise RuntimeError("request id middleware missing")
    return rid


Gateway = Annotated[GatewayService, Depends(_gateway)]
Principal = Annotated[ApiKeyPrincipal, Depends(_principal)]
RequestId = Annotated[str, Depends(_request_id)]


# --- session-authenticated REST APIs (analytics; the management API reuses these) -------------


async def _sessions(request: Request) -> SessionAuthenticator:
    auth = getattr(request.app.state, "sessions", None)
    if auth is None:
        raise ServiceUnavailable("session authentication is not configured in this process")
    return auth


# security schemes (they document both ways in OpenAPI); auto_error=False: the authenticator
# answers 401 in the API's own error shape
_session_bearer = HTTPBearer(
    auto_error=False, scheme_name="session", description="Session token (iass_…) from the login."
)
_session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, scheme_name="session_cookie", description="The portal's cookie."
)


async def _session_principal(
    sessions: Annotated[SessionAuthenticator, Depends(_sessions)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_session_bearer)],
    cookie: Annotated[str | None, Depends(_session_cookie)],
) -> SessionPrincipal:
    """The Bearer header wins over the cookie when both are sent."""
    return await sessions.authenticate(bearer.credentials if bearer is not None else cookie)


async def _analytics(request: Request) -> AnalyticsService:
    svc = getattr(request.app.state, "analytics", None)
    if svc is None:
        raise ServiceUnavailable("the analytics service is not configured in this process")
    return svc


SessionUser = Annotated[SessionPrincipal, Depends(_session_principal)]
"""The caller of a session-authenticated route (401 without a valid session)."""
Analytics = Annotated[AnalyticsService, Depends(_analytics)]


# --- the management API ----------------------------------------------------------------------


async def _management(request: Request) -> ManagementContext:
    ctx = getattr(request.app.state, "management", None)
    if ctx is None:
        raise ServiceUnavailable("the management API is not configured in this process")
    return ctx


async def _writing_principal(
    request: Request,
    sessions: Annotated[SessionAuthenticator, Depends(_sessions)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_session_bearer)],
    cookie: Annotated[str | None, Depends(_session_cookie)],
) -> SessionPrincipal:
    """:data:`SessionUser` for writes. Authenticated by the portal's cookie, the request must
    also carry the CSRF token (double submit: header == the readable cookie set at login);
    a Bearer token (CLI, scripts) needs none, a cross-site page cannot set that header."""
    if bearer is not None:
        return await sessions.authenticate(bearer.credentials)
    principal = await sessions.authenticate(cookie)
    sent, expected = request.headers.get(CSRF_HEADER), request.cookies.get(CSRF_COOKIE)
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise PermissionDenied(f"missing or wrong {CSRF_HEADER} header (cookie sessions)", code="csrf_failed")
    return principal


Management = Annotated[ManagementContext, Depends(_management)]
WritingUser = Annotated[SessionPrincipal, Depends(_writing_principal)]
"""The caller of a session-authenticated write (401 without a session, 403 without the CSRF
header when the session comes from the cookie)."""
