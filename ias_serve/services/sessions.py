"""Session authentication of the REST APIs (management ``/api``, analytics ``/analytics``).

A session token (``iass_…``, see :mod:`ias_serve.domain.tokens`) arrives either as
``Authorization: Bearer iass_…`` (CLI, scripts) or in the ``ias_session`` cookie (the web
portal); the header wins when both are present (``ias_serve.api.deps``). Only its SHA-256 is
looked up: one query for the session and its user (valid = not revoked, not expired, user
active) and one for the user's memberships, which the RBAC policy needs on every request.

Reading does not write ``last_seen_at``: a dashboard poll must not cost a write; the
management API's login/refresh paths keep that column.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.db.repositories import MembershipRepository, SessionRepository
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.tokens import TokenKind, hash_token, looks_like
from ias_serve.errors import Unauthenticated


class SessionAuthenticator:
    """Token → :class:`SessionPrincipal`, or :class:`Unauthenticated` (HTTP 401)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def authenticate(self, token: str | None) -> SessionPrincipal:
        if not token:
            raise Unauthenticated(
                "authentication required: send Authorization: Bearer <session token> or the "
                "ias_session cookie",
            )
        if not looks_like(TokenKind.SESSION, token.strip()):
            # an API key (ias-…) or garbage: not looked up at all
            raise Unauthenticated("not a session token", code="invalid_session")
        async with self._sessionmaker() as db:
            found = await SessionRepository(db).find_valid(hash_token(token))
            if found is None:
                raise Unauthenticated("session invalid, expired or revoked", code="invalid_session")
            session, user = found
            memberships = await MembershipRepository(db).list_for_user(user.id)
        return SessionPrincipal(
            user_id=user.id,
            email=user.email,
            is_system_admin=user.is_system_admin,
            memberships={m.org_id: m.role for m in memberships},
            name=user.name,
            session_id=session.id,
        )
