"""`/api/org/{id}/budget`: monthly token budgets (rules: :mod:`ias_serve.services.management.budgets`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from ias_serve.api.deps import Management, SessionUser, WritingUser
from ias_serve.protocol.management.budgets import BudgetPublic, BudgetUpdate
from ias_serve.protocol.management.resource_base import error_responses
from ias_serve.services.management.budgets import BudgetService

router = APIRouter(tags=["budgets"])


@router.get(
    "/org/{org_id}/budget",
    summary="The org's monthly token limit and this month's usage (members and System Admins)",
    responses=error_responses(404, s404="No such organisation, or not a member of it."),
)
async def get_budget(org_id: uuid.UUID, principal: SessionUser, ctx: Management) -> BudgetPublic:
    return await BudgetService(ctx).get(principal, org_id)


@router.put(
    "/org/{org_id}/budget",
    summary="Set the org's monthly token limit (Org Admin, System Admin); applies at once",
    description='`monthly_token_limit`: a whole number, a human amount ("500M", "2B") or '
    '"unlimited" / null. The gateway checks the next request against it; usage so far this month '
    "counts (over the limit: 429 `insufficient_quota`).",
    responses=error_responses(
        403,
        404,
        s403="Not an Org Admin of this org (or a cookie session without the CSRF header).",
        s404="No such organisation, or not a member of it.",
    ),
)
async def set_budget(
    org_id: uuid.UUID, body: BudgetUpdate, principal: WritingUser, ctx: Management
) -> BudgetPublic:
    return await BudgetService(ctx).set(principal, org_id, body)
