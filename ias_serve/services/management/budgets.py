"""Monthly token budgets of organisations: read (with this month's usage) and set.

* Read: :data:`Action.VIEW_ORG_USAGE` — System Admin: any org; members, either role (the
  budget is part of what an Org User sees of the org's usage); outsiders 404.
* Set: :data:`Action.SET_ORG_BUDGET` — System Admin: any; Org Admin: own; Org User 403.
  PostgreSQL first (audited, old and new limit in the payload), then the limit is published to
  the gateway's Redis (``BudgetStore.set_limit``), so the next reservation is checked against
  it; if that publication is lost, the gateway re-reads the limit within
  ``budget_limit_ttl_s``.
* Month-to-date usage comes from the gateway's Redis counter (``BudgetStore.used``); when
  Redis cannot be read the figure is ``null`` rather than an error.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from ias_serve.db.models import OrgBudget
from ias_serve.db.repositories import BudgetRepository, OrgRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.budget import format_token_amount, parse_token_amount, period_key, remaining_tokens
from ias_serve.domain.policy import Action, authorize
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.protocol.management.budgets import BudgetPublic, BudgetUpdate
from ias_serve.services.management.after_commit import best_effort
from ias_serve.services.management.context import ManagementContext

_log = logging.getLogger(__name__)


class BudgetService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx

    async def get(self, principal: SessionPrincipal, org_id: uuid.UUID) -> BudgetPublic:
        authorize(principal, Action.VIEW_ORG_USAGE, org_id=org_id)
        async with self.ctx.reading() as session:
            await OrgRepository(session).require(org_id)
            budget = await BudgetRepository(session).get(org_id)
        return await self._public(org_id, budget)

    async def set(self, principal: SessionPrincipal, org_id: uuid.UUID, body: BudgetUpdate) -> BudgetPublic:
        authorize(principal, Action.SET_ORG_BUDGET, org_id=org_id)
        limit = parse_token_amount(body.monthly_token_limit)
        payload = body.model_dump(mode="json")
        async with self.ctx.audited(
            principal.user_id, AuditAction.BUDGET_CHANGED, org_id=org_id, payload=payload
        ) as w:
            await OrgRepository(w.session).require(org_id)
            repo = BudgetRepository(w.session)
            old = await repo.get_limit(org_id)
            budget = await repo.set_limit(org_id, limit, updated_by=principal.user_id)
            w.payload.update(old_limit=old, new_limit=limit)
        if self.ctx.budgets is not None:
            await best_effort(
                f"publishing the budget of org {org_id}", self.ctx.budgets.set_limit(org_id, limit)
            )
        return await self._public(org_id, budget)

    async def _public(self, org_id: uuid.UUID, budget: OrgBudget | None) -> BudgetPublic:
        now = self.ctx.clock()
        limit = budget.monthly_token_limit if budget is not None else None
        used = await self._used(org_id, now)
        return BudgetPublic(
            org_id=org_id,
            monthly_token_limit=limit,
            monthly_token_limit_display=format_token_amount(limit),
            updated_at=budget.updated_at if budget is not None else None,
            updated_by=budget.updated_by if budget is not None else None,
            period=period_key(now),
            used_this_month=used,
            remaining_this_month=remaining_tokens(limit, used) if used is not None else None,
        )

    async def _used(self, org_id: uuid.UUID, now: datetime) -> int | None:
        if self.ctx.budgets is None:
            return None
        try:
            return await self.ctx.budgets.used(org_id, now=now)
        except Exception as exc:  # a dashboard figure: never fail the read for it
            _log.warning("cannot read the month's usage of org %s: %s", org_id, exc)
            return None
