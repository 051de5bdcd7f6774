"""`/api/org/{id}/budget/alerts`: budget alert thresholds, webhook and this month's alerts
(rules: :mod:`ias_serve.services.management.budget_alerts`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from ias_serve.api.deps import Management, SessionUser, WritingUser
from ias_serve.protocol.management.budget_alerts import (
    BudgetAlertsPublic,
    BudgetAlertsUpdate,
    BudgetAlertsWithSecret,
)
from ias_serve.protocol.management.resource_base import error_responses
from ias_serve.services.management.budget_alerts import BudgetAlertService

router = APIRouter(tags=["budgets"])

_S403 = "Not an Org Admin of this org (or a cookie session without the CSRF header)."
_S404 = "No such organisation, or not a member of it."


@router.get(
    "/org/{org_id}/budget/alerts",
    summary="The org's budget alert thresholds, webhook and this month's alerts (Org Admin, System Admin)",
    responses=error_responses(403, 404, s403="Not an Org Admin of this org.", s404=_S404),
)
async def get_budget_alerts(org_id: uuid.UUID, principal: SessionUser, ctx: Management) -> BudgetAlertsPublic:
    return await BudgetAlertService(ctx).get(principal, org_id)


@router.put(
    "/org/{org_id}/budget/alerts",
    summary="Set the org's budget alert thresholds and webhook (Org Admin, System Admin)",
    description="`thresholds`: percentages of the month's budget (1-100, at most 10, no repeats; "
    "[] = off). Crossing one sends one e-mail to the org's Org Admins and, with `webhook_url`, "
    'one signed POST (`X-IAS-Signature: sha256=HMAC-SHA256(secret, "{X-IAS-Timestamp}.{body}")`), '
    "once per threshold per month. The answer carries `webhook_secret` only when one was just "
    "generated (the first webhook URL, or `rotate_secret: true`).",
    responses=error_responses(
        403,
        404,
        s400="Malformed body: unknown field, a threshold that is not a whole number 1-100, more "
        "than 10 or a repeat, a webhook_url that is not http(s) with a host (the field is named).",
        s403=_S403,
        s404=_S404,
    ),
)
async def set_budget_alerts(
    org_id: uuid.UUID, body: BudgetAlertsUpdate, principal: WritingUser, ctx: Management
) -> BudgetAlertsWithSecret | BudgetAlertsPublic:
    return await BudgetAlertService(ctx).set(principal, org_id, body)
