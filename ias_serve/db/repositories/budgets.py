"""Monthly token budgets per organisation (no row or a NULL limit: unlimited)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from ias_serve.db.models import OrgBudget
from ias_serve.db.repositories._base import Repository, savepoint


class BudgetRepository(Repository):
    async def get(self, org_id: uuid.UUID) -> OrgBudget | None:
        return await self.session.get(OrgBudget, org_id)

    async def get_limit(self, org_id: uuid.UUID) -> int | None:
        """Tokens per month; ``None`` means unlimited (also when no budget row exists)."""
        return await self.session.scalar(
            select(OrgBudget.monthly_token_limit).where(OrgBudget.org_id == org_id)
        )

    async def set_limit(
        self, org_id: uuid.UUID, monthly_token_limit: int | None, *, updated_by: uuid.UUID | None = None
    ) -> OrgBudget:
        """Create or replace the budget (upsert). :class:`NotFound` when the org does not exist,
        :class:`ValidationFailed` for a negative limit."""
        stmt = (
            insert(OrgBudget)
            .values(org_id=org_id, monthly_token_limit=monthly_token_limit, updated_by=updated_by)
            .on_conflict_do_update(
                index_elements=[OrgBudget.org_id],
                set_={
                    "monthly_token_limit": monthly_token_limit,
                    "updated_by": updated_by,
                    "updated_at": func.now(),
                },
            )
            .returning(OrgBudget)
            .execution_options(populate_existing=True)
        )
        async with savepoint(self.session):
            budget = (await self.session.scalars(stmt)).one()
        return budget

    async def list_all(self) -> list[OrgBudget]:
        """Every budget row (to warm the gateway's budget cache)."""
        return list(await self.session.scalars(select(OrgBudget).order_by(OrgBudget.org_id)))
