"""Login sessions of the management API (only token hashes are stored)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, Update, delete, func, or_, select, update

from ias_serve.db.models import User, UserSession
from ias_serve.db.repositories._base import Repository
from ias_serve.domain.roles import Status


def _now(now: datetime | None) -> ColumnElement[datetime] | datetime:
    return func.now() if now is None else now


def _returning_rows(stmt: Update) -> Update:
    # return the rows and refresh the session's copies (an expired attribute would need a lazy
    # load, which fails under asyncio)
    return stmt.returning(UserSession).execution_options(populate_existing=True)


class SessionRepository(Repository):
    async def create(self, *, user_id: uuid.UUID, token_hash: str, expires_at: datetime) -> UserSession:
        s = UserSession(user_id=user_id, token_hash=token_hash, expires_at=expires_at)
        await self._add(s)
        return s

    async def get(self, session_id: uuid.UUID) -> UserSession | None:
        return await self.session.get(UserSession, session_id)

    async def get_by_token_hash(self, token_hash: str) -> UserSession | None:
        return await self.session.scalar(select(UserSession).where(UserSession.token_hash == token_hash))

    async def find_valid(
        self, token_hash: str, *, now: datetime | None = None
    ) -> tuple[UserSession, User] | None:
        """Session and user when the session is not revoked, not expired and the user is active."""
        stmt = (
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(
                UserSession.token_hash == token_hash,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > _now(now),
                User.status == Status.ACTIVE,
            )
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])

    async def touch(self, session_id: uuid.UUID, *, now: datetime | None = None) -> None:
        stmt = update(UserSession).where(UserSession.id == session_id).values(last_seen_at=_now(now))
        await self.session.scalars(_returning_rows(stmt))

    async def revoke(self, session_id: uuid.UUID, *, now: datetime | None = None) -> bool:
        """True when a live session was revoked (idempotent: False the second time)."""
        stmt = (
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=_now(now))
        )
        return (await self.session.scalar(_returning_rows(stmt))) is not None

    async def revoke_all_for_user(
        self, user_id: uuid.UUID, *, now: datetime | None = None, except_id: uuid.UUID | None = None
    ) -> int:
        """Revoke every live session of a user (password change, disabling), maybe but one."""
        stmt = (
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=_now(now))
        )
        if except_id is not None:
            stmt = stmt.where(UserSession.id != except_id)
        return len((await self.session.scalars(_returning_rows(stmt))).all())

    async def delete_stale(self, *, before: datetime) -> int:
        """Housekeeping: delete sessions that expired or were revoked before ``before``."""
        stmt = (
            delete(UserSession)
            .where(or_(UserSession.expires_at < before, UserSession.revoked_at < before))
            .returning(UserSession.id)
            .execution_options(synchronize_session="fetch")
        )
        return len((await self.session.scalars(stmt)).all())
