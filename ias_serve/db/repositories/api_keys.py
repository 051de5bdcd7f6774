"""API keys (stored as SHA-256 hex; the secret is shown once by the service and never stored)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_, update

from ias_serve.db.models import ApiKey, Membership, Organization, OrgRateLimits, User
from ias_serve.db.repositories._base import Repository, page
from ias_serve.domain.key_lifecycle import KeyStatus
from ias_serve.domain.principal import ApiKeyPrincipal
from ias_serve.domain.rate_limits import RateLimits, effective_rate_limits
from ias_serve.domain.roles import Status
from ias_serve.domain.validation import clean_name


def _now(now: datetime | None) -> ColumnElement[datetime] | datetime:
    return func.now() if now is None else now


def _live(now: datetime | None) -> ColumnElement[bool]:
    return and_(ApiKey.revoked_at.is_(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > _now(now)))


class ApiKeyRepository(Repository):
    async def create(
        self,
        *,
        key_hash: str,
        prefix: str,
        user_id: uuid.UUID,
        org_id: uuid.UUID,
        name: str = "",
        expires_at: datetime | None = None,
    ) -> ApiKey:
        """:class:`Conflict` on a duplicate hash; :class:`NotFound` when user or org is missing."""
        key = ApiKey(
            key_hash=key_hash,
            prefix=prefix,
            name=clean_name(name, allow_empty=True),
            user_id=user_id,
            org_id=org_id,
            expires_at=expires_at,
        )
        await self._add(key)
        return key

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        return await self.session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))

    async def find_valid_by_hash(self, key_hash: str, *, now: datetime | None = None) -> ApiKey | None:
        """The key when it may call inference right now: not revoked, not expired, its org and
        its user active, and the user still a member of the org (one index probe + PK joins)."""
        stmt = (
            select(ApiKey)
            .join(Organization, Organization.id == ApiKey.org_id)
            .join(User, User.id == ApiKey.user_id)
            .join(Membership, and_(Membership.user_id == ApiKey.user_id, Membership.org_id == ApiKey.org_id))
            .where(
                ApiKey.key_hash == key_hash,
                _live(now),
                Organization.status == Status.ACTIVE,
                User.status == Status.ACTIVE,
            )
        )
        return await self.session.scalar(stmt)

    async def find_principal_by_hash(
        self, key_hash: str, *, now: datetime | None = None
    ) -> ApiKeyPrincipal | None:
        """What the gateway caches for a key: ``None`` unless the key is live (not revoked, not
        expired), its user active and still a member of the org. Unlike
        :meth:`find_valid_by_hash` a key of a *disabled* org is returned, with
        ``org_active=False``, so the caller can answer 403 instead of 401.

        The principal carries the effective rate limits (the key's and the org's, each capped
        by the org's ceiling), read in the same query (one more PK join)."""
        r = OrgRateLimits
        stmt = (
            select(
                ApiKey.id,
                ApiKey.org_id,
                ApiKey.user_id,
                ApiKey.expires_at,
                Organization.status,
                ApiKey.requests_per_minute.label("key_rpm"),
                ApiKey.tokens_per_minute.label("key_tpm"),
                ApiKey.max_concurrent_requests.label("key_conc"),
                r.requests_per_minute.label("org_rpm"),
                r.tokens_per_minute.label("org_tpm"),
                r.max_concurrent_requests.label("org_conc"),
                r.ceiling_requests_per_minute.label("cap_rpm"),
                r.ceiling_tokens_per_minute.label("cap_tpm"),
                r.ceiling_max_concurrent_requests.label("cap_conc"),
            )
            .join(Organization, Organization.id == ApiKey.org_id)
            .join(User, User.id == ApiKey.user_id)
            .join(Membership, and_(Membership.user_id == ApiKey.user_id, Membership.org_id == ApiKey.org_id))
            .outerjoin(r, r.org_id == ApiKey.org_id)
            .where(ApiKey.key_hash == key_hash, _live(now), User.status == Status.ACTIVE)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        if row is None:
            return None
        return ApiKeyPrincipal(
            key_id=row.id,
            key_hash=key_hash,
            org_id=row.org_id,
            user_id=row.user_id,
            org_active=row.status == Status.ACTIVE,
            expires_at=row.expires_at,
            rate_limits=effective_rate_limits(
                RateLimits(row.key_rpm, row.key_tpm, row.key_conc),
                RateLimits(row.org_rpm, row.org_tpm, row.org_conc),
                RateLimits(row.cap_rpm, row.cap_tpm, row.cap_conc),
            ),
        )

    async def list_for_org(
        self,
        org_id: uuid.UUID,
        *,
        user_id: uuid.UUID | None = None,
        include_revoked: bool = True,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ApiKey]:
        """Keys of an org (``user_id``: only that user's), newest first."""
        lim, off = page(limit, offset)
        stmt = select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
        if user_id is not None:
            stmt = stmt.where(ApiKey.user_id == user_id)
        if not include_revoked:
            stmt = stmt.where(ApiKey.revoked_at.is_(None))
        return list(await self.session.scalars(stmt.limit(lim).offset(off)))

    async def list_for_user(self, user_id: uuid.UUID, *, include_revoked: bool = True) -> list[ApiKey]:
        stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
        if not include_revoked:
            stmt = stmt.where(ApiKey.revoked_at.is_(None))
        return list(await self.session.scalars(stmt))

    async def revoke(self, key_id: uuid.UUID, *, now: datetime | None = None) -> ApiKey | None:
        """Revoke a key; ``None`` when it does not exist or was already revoked."""
        stmt = (
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=_now(now))
            .returning(ApiKey)
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)

    async def revoke_for_member(
        self, user_id: uuid.UUID, org_id: uuid.UUID, *, now: datetime | None = None
    ) -> list[str]:
        """Revoke a user's live keys in one org (user removed); returns their hashes, so the
        caller can drop them from the gateway's cache."""
        stmt = (
            update(ApiKey)
            .where(ApiKey.user_id == user_id, ApiKey.org_id == org_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=_now(now))
            .returning(ApiKey)
            .execution_options(populate_existing=True)
        )
        return [k.key_hash for k in await self.session.scalars(stmt)]

    async def live_hashes(
        self, *, org_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
    ) -> list[str]:
        """Hashes of the live keys of an org and/or a user (cache invalidation on disabling)."""
        stmt = select(ApiKey.key_hash).where(_live(None))
        if org_id is not None:
            stmt = stmt.where(ApiKey.org_id == org_id)
        if user_id is not None:
            stmt = stmt.where(ApiKey.user_id == user_id)
        return list(await self.session.scalars(stmt))

    async def touch_last_used(self, key_ids: list[uuid.UUID], *, at: datetime | None = None) -> int:
        """Set ``last_used_at`` (never moving it backwards) for a batch of keys."""
        if not key_ids:
            return 0
        ts = _now(at)
        stmt = (
            update(ApiKey)
            .where(
                ApiKey.id.in_(key_ids),
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < ts),
            )
            .values(last_used_at=ts)
            .returning(ApiKey)
            .execution_options(populate_existing=True)
        )
        return len((await self.session.scalars(stmt)).all())

    # --- the management API's key listing and creation (keyset paging) ---------------------

    @staticmethod
    def _matching(
        org_id: uuid.UUID, user_id: uuid.UUID | None, status: KeyStatus | None, now: datetime
    ) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [ApiKey.org_id == org_id]
        if user_id is not None:
            where.append(ApiKey.user_id == user_id)
        if status is KeyStatus.ACTIVE:
            where.append(_live(now))
        elif status is KeyStatus.REVOKED:
            where.append(ApiKey.revoked_at.is_not(None))
        elif status is KeyStatus.EXPIRED:
            where.extend([ApiKey.revoked_at.is_(None), ApiKey.expires_at <= now])
        return where

    async def list_page(
        self,
        org_id: uuid.UUID,
        *,
        now: datetime,
        user_id: uuid.UUID | None = None,
        status: KeyStatus | None = None,
        after: tuple[datetime, uuid.UUID] | None = None,
        limit: int = 50,
    ) -> list[tuple[ApiKey, str]]:
        """``(key, owner e-mail)`` of an org, newest first (``(created_at, id)`` descending),
        after the keyset ``after`` (the last row's ``(created_at, id)``). ``status`` is judged
        at ``now`` (see :func:`ias_serve.domain.key_lifecycle.key_status`)."""
        lim, _ = page(limit)
        stmt = (
            select(ApiKey, User.email)
            .join(User, User.id == ApiKey.user_id)
            .where(*self._matching(org_id, user_id, status, now))
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
            .limit(lim)
        )
        if after is not None:
            stmt = stmt.where(tuple_(ApiKey.created_at, ApiKey.id) < tuple_(after[0], after[1]))
        rows = await self.session.execute(stmt)
        return [(key, email) for key, email in rows.all()]

    async def count_matching(
        self,
        org_id: uuid.UUID,
        *,
        now: datetime,
        user_id: uuid.UUID | None = None,
        status: KeyStatus | None = None,
    ) -> int:
        stmt = select(func.count()).select_from(ApiKey).where(*self._matching(org_id, user_id, status, now))
        return int(await self.session.scalar(stmt) or 0)

    async def live_name_taken(
        self, org_id: uuid.UUID, user_id: uuid.UUID, name: str, *, now: datetime
    ) -> bool:
        """Whether the owner already has a live key of that name in the org (case-insensitive)."""
        stmt = select(ApiKey.id).where(
            ApiKey.org_id == org_id,
            ApiKey.user_id == user_id,
            func.lower(ApiKey.name) == func.lower(name),
            _live(now),
        )
        return (await self.session.scalar(stmt.limit(1))) is not None
