"""Helpers of the resource tests (orgs, keys, budgets, model mappings, audit log): reading the
audit log and the state of the tables straight from PostgreSQL, to prove what a write did (or
that a refused one did nothing)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from ias_serve.db.models import (
    ApiKey,
    AuditEntry,
    ModelMapping,
    Organization,
    OrgBudget,
    OrgBudgetAlertSettings,
    OrgRateLimits,
)
from ias_serve.domain.roles import OrgRole
from tests.component.mgmt_harness import Api, User


async def audit_rows(api: Api, *, after_id: int = 0) -> list[AuditEntry]:
    """Rows with an id above ``after_id``, oldest first."""
    async with api.sm() as s:
        stmt = select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id)
        return list(await s.scalars(stmt))


async def last_audit_id(api: Api) -> int:
    async with api.sm() as s:
        return int(await s.scalar(select(func.coalesce(func.max(AuditEntry.id), 0))) or 0)


async def state(api: Api) -> dict[str, Any]:
    """A fingerprint of everything the resource endpoints can change."""
    async with api.sm() as s:
        orgs = (await s.execute(select(Organization.id, Organization.name, Organization.status))).all()
        keys = (
            await s.execute(
                select(
                    ApiKey.id,
                    ApiKey.name,
                    ApiKey.revoked_at,
                    ApiKey.expires_at,
                    ApiKey.requests_per_minute,
                    ApiKey.tokens_per_minute,
                    ApiKey.max_concurrent_requests,
                )
            )
        ).all()
        budgets = (
            await s.execute(select(OrgBudget.org_id, OrgBudget.monthly_token_limit, OrgBudget.updated_at))
        ).all()
        rate_limits = (await s.execute(select(*OrgRateLimits.__table__.columns))).all()
        alerts = (await s.execute(select(*OrgBudgetAlertSettings.__table__.columns))).all()
        models = (await s.execute(select(ModelMapping))).scalars().all()
        audit = await s.scalar(select(func.count()).select_from(AuditEntry))
    return {
        "orgs": sorted(map(tuple, orgs), key=str),
        "keys": sorted(map(tuple, keys), key=str),
        "budgets": sorted(map(tuple, budgets), key=str),
        "rate_limits": sorted(map(tuple, rate_limits), key=str),
        "budget_alerts": sorted(map(tuple, alerts), key=str),
        "models": sorted(
            (
                (
                    m.id,
                    m.name,
                    m.backend_kind,
                    m.target,
                    m.enabled,
                    m.allowed_org_ids,
                    m.price_per_million_input,
                    m.price_per_million_output,
                )
                for m in models
            ),
            key=str,
        ),
        "audit": audit,
    }


async def one_new_row(api: Api, after_id: int) -> AuditEntry:
    rows = await audit_rows(api, after_id=after_id)
    assert len(rows) == 1, [(r.action_type, r.payload) for r in rows]
    return rows[0]


@dataclass
class Team:
    """An org with an Org Admin, two Org Users, an admin of another org and a System Admin."""

    org: uuid.UUID
    other_org: uuid.UUID
    root: User
    admin: User
    user: User
    user2: User
    outsider: User  # Org Admin of other_org


async def team(api: Api) -> Team:
    org, other = await api.org(), await api.org()
    return Team(
        org=org,
        other_org=other,
        root=await api.user(system_admin=True),
        admin=await api.user(org_id=org, role=OrgRole.ORG_ADMIN),
        user=await api.user(org_id=org, role=OrgRole.ORG_USER),
        user2=await api.user(org_id=org, role=OrgRole.ORG_USER),
        outsider=await api.user(org_id=other, role=OrgRole.ORG_ADMIN),
    )


def error_code(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return str(body["error"]["code"])


async def walk(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> list[dict]:
    """Every row of a cursor-paged listing, following ``next_cursor``."""
    rows: list[dict] = []
    cursor: str | None = None
    for _ in range(10_000):
        q = dict(params) | ({"cursor": cursor} if cursor else {})
        r = await client.get(url, params=q, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        rows.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows
    raise AssertionError("paging did not end")
