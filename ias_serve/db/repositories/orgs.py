"""Organisations."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, exists, func, select, tuple_, update
from sqlalchemy.orm import aliased

from ias_serve.db.models import ApiKey, Invite, Membership, ModelMapping, Organization, OrgBudget, User
from ias_serve.db.repositories._base import UNSET, Repository, Unset, page
from ias_serve.domain.roles import Status
from ias_serve.domain.validation import clean_name
from ias_serve.errors import NotFound


@dataclass(frozen=True, slots=True)
class OrgDeletion:
    """What deleting an organisation removed with it."""

    name: str
    members: int
    invites: int
    keys: int
    users_deleted: list[uuid.UUID]
    model_allow_lists: int


class OrgRepository(Repository):
    async def create(self, name: str, *, status: Status = Status.ACTIVE) -> Organization:
        """Raises :class:`Conflict` when the name exists (case-insensitively)."""
        org = Organization(name=clean_name(name), status=status)
        await self._add(org)
        return org

    async def get(self, org_id: uuid.UUID) -> Organization | None:
        return await self.session.get(Organization, org_id)

    async def require(self, org_id: uuid.UUID) -> Organization:
        org = await self.get(org_id)
        if org is None:
            raise NotFound("organisation not found", param="org_id")
        return org

    async def get_by_name(self, name: str) -> Organization | None:
        stmt = select(Organization).where(func.lower(Organization.name) == func.lower(name.strip()))
        return await self.session.scalar(stmt)

    async def list_orgs(
        self, *, status: Status | None = None, limit: int = 100, offset: int = 0
    ) -> list[Organization]:
        lim, off = page(limit, offset)
        stmt = select(Organization).order_by(func.lower(Organization.name), Organization.id)
        if status is not None:
            stmt = stmt.where(Organization.status == status)
        return list(await self.session.scalars(stmt.limit(lim).offset(off)))

    async def count(self, *, status: Status | None = None) -> int:
        stmt = select(func.count()).select_from(Organization)
        if status is not None:
            stmt = stmt.where(Organization.status == status)
        return int(await self.session.scalar(stmt) or 0)

    async def update(
        self, org_id: uuid.UUID, *, name: str | Unset = UNSET, status: Status | Unset = UNSET
    ) -> Organization:
        """Change the given fields; raises :class:`NotFound` / :class:`Conflict`."""
        values: dict[str, object] = {}
        if name is not UNSET:
            values["name"] = clean_name(name)
        if status is not UNSET:
            values["status"] = status
        if not values:
            return await self.require(org_id)
        return await self._update_by_id(
            Organization, org_id, values, NotFound("organisation not found", param="org_id")
        )

    async def delete(self, org_id: uuid.UUID) -> OrgDeletion:
        """Delete the organisation and what belonged to it only: memberships, invites, API keys
        and budget (foreign-key cascades), the users who are members of no other organisation
        and are not System Admins (their sessions cascade), and its id in model allow-lists.
        ``audit_log`` keeps its rows (it has no foreign keys). Raises :class:`NotFound`."""
        org = await self.session.get(Organization, org_id, with_for_update=True)
        if org is None:
            raise NotFound("organisation not found", param="org_id")
        other = aliased(Membership)
        only_here = (
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.org_id == org_id,
                User.is_system_admin.is_(False),
                ~exists().where(other.user_id == Membership.user_id, other.org_id != org_id),
            )
        )
        count = func.count()
        deletion = OrgDeletion(
            name=org.name,
            members=int(await self.session.scalar(select(count).where(Membership.org_id == org_id)) or 0),
            invites=int(await self.session.scalar(select(count).where(Invite.org_id == org_id)) or 0),
            keys=int(await self.session.scalar(select(count).where(ApiKey.org_id == org_id)) or 0),
            users_deleted=list(await self.session.scalars(only_here)),
            model_allow_lists=int(
                (
                    await self.session.execute(
                        update(ModelMapping)
                        .where(ModelMapping.allowed_org_ids.contains([org_id]))
                        .values(allowed_org_ids=func.array_remove(ModelMapping.allowed_org_ids, org_id))
                    )
                ).rowcount
                or 0
            ),
        )
        await self.session.execute(delete(Organization).where(Organization.id == org_id))
        if deletion.users_deleted:
            await self.session.execute(delete(User).where(User.id.in_(deletion.users_deleted)))
        self.session.expunge(org)
        return deletion

    # --- keyset listing of the management API (GET /api/org) -----------------------------

    @staticmethod
    def _matching(
        ids: Collection[uuid.UUID] | None, status: Status | None, name_contains: str | None
    ) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if ids is not None:
            where.append(Organization.id.in_(list(ids)))
        if status is not None:
            where.append(Organization.status == status)
        if name_contains:
            where.append(Organization.name.icontains(name_contains, autoescape=True))
        return where

    async def list_page(
        self,
        *,
        ids: Collection[uuid.UUID] | None = None,
        status: Status | None = None,
        name_contains: str | None = None,
        after: tuple[str, uuid.UUID] | None = None,
        limit: int = 50,
    ) -> list[tuple[Organization, str, int | None]]:
        """``(org, lower(name), monthly token limit)`` ordered by ``(lower(name), id)``, after
        the keyset ``after`` (a previous row's ``(lower(name), id)``). ``ids``: only those
        orgs; ``name_contains``: case-insensitive substring (wildcards are literal)."""
        lim, _ = page(limit)
        name_key = func.lower(Organization.name)
        stmt = (
            select(Organization, name_key, OrgBudget.monthly_token_limit)
            .outerjoin(OrgBudget, OrgBudget.org_id == Organization.id)
            .where(*self._matching(ids, status, name_contains))
            .order_by(name_key, Organization.id)
            .limit(lim)
        )
        if after is not None:
            stmt = stmt.where(tuple_(name_key, Organization.id) > tuple_(after[0], after[1]))
        rows = await self.session.execute(stmt)
        return [(org, key, limit_) for org, key, limit_ in rows.all()]

    async def count_matching(
        self,
        *,
        ids: Collection[uuid.UUID] | None = None,
        status: Status | None = None,
        name_contains: str | None = None,
    ) -> int:
        stmt = (
            select(func.count()).select_from(Organization).where(*self._matching(ids, status, name_contains))
        )
        return int(await self.session.scalar(stmt) or 0)

    async def existing_ids(self, ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``ids`` are organisations (to validate a model's allow-list)."""
        if not ids:
            return set()
        return set(await self.session.scalars(select(Organization.id).where(Organization.id.in_(list(ids)))))
