"""Organisations."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from ias_serve.db.models import Organization
from ias_serve.db.repositories._base import UNSET, Repository, Unset, page
from ias_serve.domain.roles import Status
from ias_serve.domain.validation import clean_name
from ias_serve.errors import NotFound


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
