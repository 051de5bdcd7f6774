"""`/api/org/{id}/rate-limits` and `/api/org/{id}/key/{key_id}/rate-limits`: requests/minute,
tokens/minute and concurrent requests (rules: :mod:`ias_serve.services.management.rate_limits`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from ias_serve.api.deps import Management, SessionUser, WritingUser
from ias_serve.protocol.management.rate_limits import (
    KeyRateLimitsPublic,
    OrgRateLimitsPublic,
    RateLimitsUpdate,
)
from ias_serve.protocol.management.resource_base import error_responses
from ias_serve.services.management.rate_limits import RateLimitService

router = APIRouter(tags=["rate limits"])

_BODY_DOC = (
    "Each of `requests_per_minute`, `tokens_per_minute`, `max_concurrent_requests`: a whole "
    "number >= 1, or null (a field left out is null): unlimited. The gateway applies the change "
    "to the next request (over a limit: 429 `rate_limit_exceeded`)."
)
_S400 = (
    "Malformed body: unknown field, a value that is not a whole number in range (the field is "
    "named); or a value above the org's ceiling (code `above_ceiling`)."
)


@router.get(
    "/org/{org_id}/rate-limits",
    summary="The org's rate limits, their ceiling and what applies (members and System Admins)",
    responses=error_responses(404, s404="No such organisation, or not a member of it."),
)
async def get_org_rate_limits(
    org_id: uuid.UUID, principal: SessionUser, ctx: Management
) -> OrgRateLimitsPublic:
    return await RateLimitService(ctx).get_org(principal, org_id)


@router.put(
    "/org/{org_id}/rate-limits",
    summary="Set the org's rate limits, within its ceiling (Org Admin, System Admin); applies at once",
    description=_BODY_DOC + " They apply to all the org's keys together.",
    responses=error_responses(
        403,
        404,
        s400=_S400,
        s403="Not an Org Admin of this org (or a cookie session without the CSRF header).",
        s404="No such organisation, or not a member of it.",
    ),
)
async def set_org_rate_limits(
    org_id: uuid.UUID, body: RateLimitsUpdate, principal: WritingUser, ctx: Management
) -> OrgRateLimitsPublic:
    return await RateLimitService(ctx).set_org(principal, org_id, body)


@router.put(
    "/org/{org_id}/rate-limits/ceiling",
    summary="Set the most the org's and its keys' rate limits may be (System Admin); applies at once",
    description=_BODY_DOC + " A ceiling below existing limits is allowed: it caps them.",
    responses=error_responses(
        403,
        404,
        s403="Not a System Admin (or a cookie session without the CSRF header).",
        s404="No such organisation.",
    ),
)
async def set_org_rate_limit_ceiling(
    org_id: uuid.UUID, body: RateLimitsUpdate, principal: WritingUser, ctx: Management
) -> OrgRateLimitsPublic:
    return await RateLimitService(ctx).set_ceiling(principal, org_id, body)


@router.get(
    "/org/{org_id}/key/{key_id}/rate-limits",
    summary="An API key's rate limits and what applies (its owner, Org Admins, System Admins)",
    responses=error_responses(404, s404="No such key in this org, or not yours to see."),
)
async def get_key_rate_limits(
    org_id: uuid.UUID, key_id: uuid.UUID, principal: SessionUser, ctx: Management
) -> KeyRateLimitsPublic:
    return await RateLimitService(ctx).get_key(principal, org_id, key_id)


@router.put(
    "/org/{org_id}/key/{key_id}/rate-limits",
    summary="Set an API key's rate limits, within the org's ceiling (Org Admin, System Admin)",
    description=_BODY_DOC + " The org's own limits apply as well.",
    responses=error_responses(
        403,
        404,
        409,
        s400=_S400,
        s403="Not an Org Admin of this org, Org Users included for their own keys (or a cookie "
        "session without the CSRF header).",
        s404="No such organisation or key, or not a member of the org.",
        s409="The key is revoked (key_revoked).",
    ),
)
async def set_key_rate_limits(
    org_id: uuid.UUID, key_id: uuid.UUID, body: RateLimitsUpdate, principal: WritingUser, ctx: Management
) -> KeyRateLimitsPublic:
    return await RateLimitService(ctx).set_key(principal, org_id, key_id, body)
