"""Login sessions: log in, log out, who am I, change the password.

* Login answers one 401 (``invalid_credentials``) for an unknown address, a wrong password,
  an account without a password and a disabled account; an unknown address is verified
  against a dummy argon2id hash, so both take the same time. Every attempt first passes the
  Redis rate limits (per account, per client address; :mod:`ias_serve.cache.login_limit`).
* A session token (``iass_…``, 256 bits) is returned once; only its SHA-256 is stored. It
  expires after ``IAS_SESSION_TTL_S``; logout revokes it; a password change revokes the
  user's other sessions.
* Audited: ``login`` (a successful one: a session row was written), ``logout``,
  ``password_changed``. A refused login writes nothing (an attacker must not be able to fill
  the audit log).
* argon2id runs in a worker thread: a verification takes tens of milliseconds of CPU and must
  not stall the event loop.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ias_serve.cache.login_limit import LoginLimiter
from ias_serve.db.models import User
from ias_serve.db.repositories import MembershipRepository, OrgRepository, SessionRepository, UserRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.emails import normalize_email
from ias_serve.domain.passwords import hash_password, needs_rehash, validate_new_password, verify_password
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.roles import Status
from ias_serve.domain.tokens import IssuedToken, TokenKind, issue_token
from ias_serve.domain.validation import InvalidValue
from ias_serve.errors import BadRequest, Unauthenticated
from ias_serve.protocol.management.auth import (
    MembershipPublic,
    MePublic,
    PasswordChanged,
    SessionPublic,
    UserPublic,
)
from ias_serve.services.management.context import ManagementContext

INVALID_CREDENTIALS = "wrong e-mail address or password"


def make_limiter(ctx: ManagementContext) -> LoginLimiter:
    """The login limiter on the context's Redis (the gateway key cache's client); none without Redis."""
    s = ctx.settings
    return LoginLimiter(
        ctx.keys.redis if ctx.keys is not None else None,
        window_s=s.login_window_s,
        max_per_account=s.login_max_per_account,
        max_per_address=s.login_max_per_address,
    )


def user_public(user: User) -> UserPublic:
    return UserPublic(id=user.id, email=user.email, name=user.name, is_system_admin=user.is_system_admin)


async def verify(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


async def hash_new(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


class AuthService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx
        self.limiter = make_limiter(ctx)

    async def login(self, email: str, password: str, *, address: str) -> SessionPublic:
        await self.limiter.hit(email=email, address=address)
        try:
            address_ok: str | None = normalize_email(email)
        except InvalidValue:
            address_ok = None
        user: User | None = None
        if address_ok is not None:
            async with self.ctx.reading() as db:
                user = await UserRepository(db).get_by_email(address_ok)
        ok = await verify(user.password_hash if user is not None else None, password)
        if not ok or user is None or user.status != Status.ACTIVE:
            raise Unauthenticated(INVALID_CREDENTIALS, code="invalid_credentials")
        rehash = await hash_new(password) if user.password_hash and needs_rehash(user.password_hash) else None

        async with self.ctx.audited(user.id, AuditAction.LOGIN, payload={"email": user.email}) as w:
            issued, session_id = await open_session(w.session, self.ctx, user.id)
            if rehash is not None:
                await UserRepository(w.session).set_password_hash(user.id, rehash)
            w.payload["session_id"] = session_id
        await self.limiter.clear_account(email)
        return SessionPublic(token=issued.token, expires_at=issued.expires_at, user=user_public(user))

    async def logout(self, principal: SessionPrincipal) -> bool:
        """Revoke the caller's session; True when it was live."""
        async with self.ctx.audited(
            principal.user_id, AuditAction.LOGOUT, payload={"session_id": principal.session_id}
        ) as w:
            if principal.session_id is None:
                return False
            return await SessionRepository(w.session).revoke(principal.session_id)

    async def me(self, principal: SessionPrincipal) -> MePublic:
        async with self.ctx.reading() as db:
            user = await UserRepository(db).require(principal.user_id)
            orgs = OrgRepository(db)
            memberships: list[MembershipPublic] = []
            for m in await MembershipRepository(db).list_for_user(principal.user_id):
                org = await orgs.get(m.org_id)
                if org is not None:
                    memberships.append(
                        MembershipPublic(
                            org_id=org.id, org_name=org.name, role=m.role, joined_at=m.created_at
                        )
                    )
            session = None
            if principal.session_id is not None:
                session = await SessionRepository(db).get(principal.session_id)
        return MePublic(
            user=user_public(user),
            is_system_admin=user.is_system_admin,
            memberships=memberships,
            session_expires_at=session.expires_at if session is not None else None,
        )

    async def change_password(
        self, principal: SessionPrincipal, current: str, new: str, *, address: str
    ) -> PasswordChanged:
        """Check the current password (rate-limited like a login), apply the policy to the new
        one, store it and revoke every other session of the user (this one stays)."""
        await self.limiter.hit(email=principal.email, address=address)
        async with self.ctx.reading() as db:
            user = await UserRepository(db).require(principal.user_id)
        if not await verify(user.password_hash, current):
            raise BadRequest("the current password is wrong", param="current_password", code="wrong_password")
        new_hash = await hash_new(validate_new_password(new, email=user.email))
        async with self.ctx.audited(principal.user_id, AuditAction.PASSWORD_CHANGED) as w:
            await UserRepository(w.session).set_password_hash(user.id, new_hash)
            revoked = await SessionRepository(w.session).revoke_all_for_user(
                user.id, except_id=principal.session_id
            )
            w.payload["sessions_revoked"] = revoked
        await self.limiter.clear_account(principal.email)
        return PasswordChanged(sessions_revoked=revoked)


async def open_session(
    db: AsyncSession, ctx: ManagementContext, user_id: uuid.UUID
) -> tuple[IssuedToken, uuid.UUID]:
    """Create a login session for ``user_id`` in the open transaction ``db``."""
    issued = issue_token(TokenKind.SESSION, ctx.settings.session_ttl_s, now=ctx.clock())
    row = await SessionRepository(db).create(
        user_id=user_id, token_hash=issued.token_hash, expires_at=issued.expires_at
    )
    return issued, row.id
