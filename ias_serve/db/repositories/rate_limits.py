"""Rate limits of organisations (own limits and ceiling, ``org_rate_limits``) and of API keys
(three columns of ``api_keys``); no row or NULL: unlimited."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from ias_serve.db.models import ApiKey, OrgRateLimits
from ias_serve.db.repositories._base import Repository, savepoint
from ias_serve.domain.rate_limits import UNLIMITED, RateLimits


def org_limits(row: OrgRateLimits | None) -> RateLimits:
    """The org's own limits (as its Org Admins set them, before the ceiling)."""
    if row is None:
        return UNLIMITED
    return RateLimits(row.requests_per_minute, row.tokens_per_minute, row.max_concurrent_requests)


def org_ceiling(row: OrgRateLimits | None) -> RateLimits:
    if row is None:
        return UNLIMITED
    return RateLimits(
        row.ceiling_requests_per_minute, row.ceiling_tokens_per_minute, row.ceiling_max_concurrent_requests
    )


def key_limits(key: ApiKey) -> RateLimits:
    return RateLimits(key.requests_per_minute, key.tokens_per_minute, key.max_concurrent_requests)


def _limit_values(limits: RateLimits, prefix: str = "") -> dict[str, int | None]:
    return {f"{prefix}{name}": value for name, value in limits.as_dict().items()}


class RateLimitRepository(Repository):
    async def get_org(self, org_id: uuid.UUID) -> OrgRateLimits | None:
        return await self.session.get(OrgRateLimits, org_id)

    async def set_org(
        self,
        org_id: uuid.UUID,
        *,
        limits: RateLimits | None = None,
        ceiling: RateLimits | None = None,
        updated_by: uuid.UUID | None = None,
    ) -> OrgRateLimits:
        """Create or update the org's row (upsert): ``limits`` and/or ``ceiling`` replace the
        stored ones, what is not given stays. :class:`NotFound` when the org does not exist."""
        values: dict[str, object] = {"updated_by": updated_by}
        if limits is not None:
            values |= _limit_values(limits)
        if ceiling is not None:
            values |= _limit_values(ceiling, "ceiling_")
        stmt = (
            insert(OrgRateLimits)
            .values(org_id=org_id, **values)
            .on_conflict_do_update(
                index_elements=[OrgRateLimits.org_id], set_={**values, "updated_at": func.now()}
            )
            .returning(OrgRateLimits)
            .execution_options(populate_existing=True)
        )
        async with savepoint(self.session):
            row = (await self.session.scalars(stmt)).one()
        return row

    async def lock_key(self, key_id: uuid.UUID) -> ApiKey | None:
        """The key's row, locked until the end of the transaction (``FOR UPDATE``)."""
        stmt = (
            select(ApiKey)
            .where(ApiKey.id == key_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)

    async def set_key(self, key_id: uuid.UUID, limits: RateLimits) -> ApiKey | None:
        """Replace the key's own limits; ``None`` when there is no such key."""
        stmt = (
            update(ApiKey)
            .where(ApiKey.id == key_id)
            .values(**_limit_values(limits))
            .returning(ApiKey)
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)
