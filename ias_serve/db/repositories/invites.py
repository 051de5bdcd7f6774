"""Invitations to join an organisation (the token itself is never stored, only its hash)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update

from ias_serve.db.models import Invite
from ias_serve.db.repositories._base import Repository, page
from ias_serve.domain.emails import normalize_email
from ias_serve.domain.roles import OrgRole


def _now(now: datetime | None) -> ColumnElement[datetime] | datetime:
    return func.now() if now is None else now


def _pending(now: datetime | None) -> ColumnElement[bool]:
    return and_(Invite.accepted_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > _now(now))


class InviteRepository(Repository):
    async def create(
        self,
        *,
        org_id: uuid.UUID,
        email: str,
        role: OrgRole,
        token_hash: str,
        expires_at: datetime,
        invited_by: uuid.UUID | None = None,
    ) -> Invite:
        invite = Invite(
            org_id=org_id,
            email=normalize_email(email),
            role=role,
            token_hash=token_hash,
            expires_at=expires_at,
            invited_by=invited_by,
        )
        await self._add(invite)
        return invite

    async def get(self, invite_id: uuid.UUID) -> Invite | None:
        return await self.session.get(Invite, invite_id)

    async def get_by_token_hash(self, token_hash: str) -> Invite | None:
        return await self.session.scalar(select(Invite).where(Invite.token_hash == token_hash))

    async def get_pending_by_token_hash(
        self, token_hash: str, *, now: datetime | None = None
    ) -> Invite | None:
        """The invite if it is neither accepted, revoked nor expired (``now``: default DB time)."""
        stmt = select(Invite).where(Invite.token_hash == token_hash, _pending(now))
        return await self.session.scalar(stmt)

    async def list_for_org(
        self,
        org_id: uuid.UUID,
        *,
        pending_only: bool = False,
        now: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Invite]:
        lim, off = page(limit, offset)
        stmt = select(Invite).where(Invite.org_id == org_id).order_by(Invite.created_at.desc(), Invite.id)
        if pending_only:
            stmt = stmt.where(_pending(now))
        return list(await self.session.scalars(stmt.limit(lim).offset(off)))

    async def accept(
        self, invite_id: uuid.UUID, *, user_id: uuid.UUID, now: datetime | None = None
    ) -> Invite | None:
        """Mark a pending invite accepted, atomically (a second accept gets ``None``)."""
        stmt = (
            update(Invite)
            .where(Invite.id == invite_id, _pending(now))
            .values(accepted_at=_now(now), accepted_by=user_id)
            .returning(Invite)
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)

    async def revoke(self, invite_id: uuid.UUID, *, now: datetime | None = None) -> Invite | None:
        """Revoke a not yet accepted invite; ``None`` when there is none (or it was accepted)."""
        stmt = (
            update(Invite)
            .where(Invite.id == invite_id, Invite.accepted_at.is_(None), Invite.revoked_at.is_(None))
            .values(revoked_at=_now(now))
            .returning(Invite)
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)

    async def revoke_pending_for_email(
        self, org_id: uuid.UUID, email: str, *, now: datetime | None = None
    ) -> int:
        """Revoke the pending invites of an address to an org (before sending a new one)."""
        stmt = (
            update(Invite)
            .where(Invite.org_id == org_id, Invite.email == normalize_email(email), _pending(now))
            .values(revoked_at=_now(now))
            .returning(Invite)
            .execution_options(populate_existing=True)
        )
        return len((await self.session.scalars(stmt)).all())

    async def reissue(self, invite_id: uuid.UUID, *, token_hash: str, expires_at: datetime) -> Invite | None:
        """Give a not yet accepted, not revoked invite a new token and expiry (re-send; the old
        token stops working). ``None`` when there is no such invite."""
        stmt = (
            update(Invite)
            .where(Invite.id == invite_id, Invite.accepted_at.is_(None), Invite.revoked_at.is_(None))
            .values(token_hash=token_hash, expires_at=expires_at)
            .returning(Invite)
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)
