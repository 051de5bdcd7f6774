"""`/analytics`: usage dashboards (thin: parse → one service call → response).

Authentication: a management session (``Authorization: Bearer iass_…`` or the ``ias_session``
cookie); authorisation and the window rules live in the service (see
:mod:`ias_serve.services.analytics`).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from ias_serve.api.deps import Analytics, SessionUser
from ias_serve.domain.usage_window import DEFAULT_DAYS, MAX_DAYS
from ias_serve.protocol.analytics import MyUsagePublic, OrgUsagePublic, SystemUsagePublic

router = APIRouter(tags=["analytics"])

Days = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_DAYS,
        description=f"The last N days, today (UTC) included. Default {DEFAULT_DAYS} when neither "
        "days nor from is given.",
    ),
]
From = Annotated[
    date | None,
    Query(alias="from", description="First day (ISO date, UTC), instead of days."),
]
To = Annotated[
    date | None,
    Query(description=f"Last day, included (default: today); from..to spans at most {MAX_DAYS} days."),
]

_ERRORS = {
    400: {"description": "A parameter is malformed (e.g. days=0, from=not-a-date)."},
    401: {"description": "No valid session (missing, unknown, expired or revoked)."},
    422: {"description": "Parameters contradict each other (from after to, days with from, range too long)."},
    503: {"description": "The usage store (or this service) is unavailable."},
}


@router.get(
    "/org/{org_id}",
    summary="An organisation's usage: totals, by model, by user, daily, budget this month",
    responses={**_ERRORS, 404: {"description": "No such organisation, or not a member of it."}},
)
async def org_usage(
    org_id: uuid.UUID,
    analytics: Analytics,
    principal: SessionUser,
    days: Days = None,
    from_: From = None,
    to: To = None,
) -> OrgUsagePublic:
    return await analytics.org_usage(principal, org_id, days=days, start=from_, end=to)


@router.get(
    "/me", summary="The caller's own usage: totals, by model, by key, by org, daily", responses=_ERRORS
)
async def my_usage(
    analytics: Analytics, principal: SessionUser, days: Days = None, from_: From = None, to: To = None
) -> MyUsagePublic:
    return await analytics.my_usage(principal, days=days, start=from_, end=to)


@router.get(
    "/system",
    summary="Usage across all organisations (System Admins only)",
    responses={**_ERRORS, 403: {"description": "Not a System Admin."}},
)
async def system_usage(
    analytics: Analytics, principal: SessionUser, days: Days = None, from_: From = None, to: To = None
) -> SystemUsagePublic:
    return await analytics.system_usage(principal, days=days, start=from_, end=to)
