"""Rate limits of organisations and API keys: read and set (requests/minute, tokens/minute,
concurrent requests; null = unlimited).

* Org limits, read: :data:`Action.VIEW_ORG_USAGE` — System Admin: any org; members, either
  role; outsiders 404 (as the budget).
* Org limits, set: :data:`Action.SET_ORG_BUDGET` — System Admin: any; Org Admin: own; Org
  User 403. A value above the org's ceiling: 400 ``above_ceiling`` (the field named).
* Ceiling, set: System Admins only (:data:`Action.MANAGE_ORGS`); Org Admins and Org Users
  403. Lowering it below existing limits is allowed: the effective limits are capped by it.
* Key limits, read: :func:`~ias_serve.domain.policy.can_manage_key` — the key's owner, the
  org's Org Admins, System Admins; anyone else 404 (like a missing key).
* Key limits, set: :data:`Action.SET_ORG_BUDGET` — Org Admin of the org, System Admin; Org
  Users 403 (even on their own key). Above the ceiling: 400 ``above_ceiling``; a revoked key:
  409 ``key_revoked``.

Every set is one audited transaction (``rate_limits_changed``, payload ``{"scope", "key_id"?,
"old", "new"}``) holding the org's rate-limit advisory lock, so concurrent writers of one org
take turns (the old values in the audit row are exact). After the commit the
gateway's cached principals are dropped (the org's keys, or the one key) through
:class:`~ias_serve.cache.key_store.RedisKeyStore`, so the next request is checked against the
new limits; if that is lost, the gateway catches up within its key cache TTL.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from ias_serve.db.models import ApiKey, OrgRateLimits
from ias_serve.db.repositories import ApiKeyRepository, OrgRepository, RateLimitRepository
from ias_serve.db.repositories.rate_limits import key_limits, org_ceiling, org_limits
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.policy import Action, authorize, can_manage_key
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.rate_limits import RateLimits
from ias_serve.errors import BadRequest, Conflict, NotFound
from ias_serve.protocol.management.rate_limits import (
    KeyRateLimitsPublic,
    OrgRateLimitsPublic,
    RateLimitsUpdate,
    RateLimitValues,
)
from ias_serve.services.management._locks import advisory_lock
from ias_serve.services.management.after_commit import best_effort
from ias_serve.services.management.context import ManagementContext

Scope = Literal["org", "ceiling", "key"]


def org_public(org_id: uuid.UUID, row: OrgRateLimits | None) -> OrgRateLimitsPublic:
    limits, ceiling = org_limits(row), org_ceiling(row)
    return OrgRateLimitsPublic(
        org_id=org_id,
        limits=RateLimitValues.of(limits),
        ceiling=RateLimitValues.of(ceiling),
        effective=RateLimitValues.of(limits.capped(ceiling)),
        updated_at=row.updated_at if row is not None else None,
        updated_by=row.updated_by if row is not None else None,
    )


def key_public(key: ApiKey, ceiling: RateLimits) -> KeyRateLimitsPublic:
    limits = key_limits(key)
    return KeyRateLimitsPublic(
        key_id=key.id,
        org_id=key.org_id,
        limits=RateLimitValues.of(limits),
        effective=RateLimitValues.of(limits.capped(ceiling)),
    )


def _check_ceiling(limits: RateLimits, ceiling: RateLimits) -> None:
    name = limits.exceeds(ceiling)
    if name is not None:
        bound = getattr(ceiling, name)
        raise BadRequest(
            f"{name} above the organisation's ceiling ({getattr(limits, name)} > {bound}); "
            "a System Admin may raise the ceiling",
            param=name,
            code="above_ceiling",
            details=[{"loc": ["body", name], "msg": f"at most {bound}", "type": "above_ceiling"}],
        )


def _payload(
    scope: Scope, old: RateLimits, new: RateLimits, key_id: uuid.UUID | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"scope": scope}
    if key_id is not None:
        payload["key_id"] = key_id
    return payload | {"old": old.as_dict(), "new": new.as_dict()}


def _key_not_found() -> NotFound:
    return NotFound("API key not found", param="key_id")


class RateLimitService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx

    # --- org ---------------------------------------------------------------------------------

    async def get_org(self, principal: SessionPrincipal, org_id: uuid.UUID) -> OrgRateLimitsPublic:
        authorize(principal, Action.VIEW_ORG_USAGE, org_id=org_id)
        async with self.ctx.reading() as session:
            await OrgRepository(session).require(org_id)
            row = await RateLimitRepository(session).get_org(org_id)
        return org_public(org_id, row)

    async def set_org(
        self, principal: SessionPrincipal, org_id: uuid.UUID, body: RateLimitsUpdate
    ) -> OrgRateLimitsPublic:
        authorize(principal, Action.SET_ORG_BUDGET, org_id=org_id)
        return await self._write_org(principal, org_id, "org", body.to_domain())

    async def set_ceiling(
        self, principal: SessionPrincipal, org_id: uuid.UUID, body: RateLimitsUpdate
    ) -> OrgRateLimitsPublic:
        # a System Admin's decision: 403 for everyone else, before the org is looked at
        authorize(principal, Action.MANAGE_ORGS, org_id=org_id)
        return await self._write_org(principal, org_id, "ceiling", body.to_domain())

    async def _write_org(
        self, principal: SessionPrincipal, org_id: uuid.UUID, scope: Scope, new: RateLimits
    ) -> OrgRateLimitsPublic:
        async with self.ctx.audited(principal.user_id, AuditAction.RATE_LIMITS_CHANGED, org_id=org_id) as w:
            await OrgRepository(w.session).require(org_id)
            await advisory_lock(w.session, "rate_limits", org_id)
            repo = RateLimitRepository(w.session)
            current = await repo.get_org(org_id)
            if scope == "org":
                old = org_limits(current)
                _check_ceiling(new, org_ceiling(current))
                row = await repo.set_org(org_id, limits=new, updated_by=principal.user_id)
            else:
                old = org_ceiling(current)
                row = await repo.set_org(org_id, ceiling=new, updated_by=principal.user_id)
            w.payload.update(_payload(scope, old, new))
        if self.ctx.keys is not None:
            await best_effort(
                f"dropping the cached keys of org {org_id} (rate limits changed)",
                self.ctx.keys.invalidate_org(org_id),
            )
        return org_public(org_id, row)

    # --- key ---------------------------------------------------------------------------------

    async def get_key(
        self, principal: SessionPrincipal, org_id: uuid.UUID, key_id: uuid.UUID
    ) -> KeyRateLimitsPublic:
        async with self.ctx.reading() as session:
            key = await ApiKeyRepository(session).get(key_id)
            if key is None or key.org_id != org_id:
                raise _key_not_found()
            if not can_manage_key(principal, org_id=org_id, owner_id=key.user_id):
                raise _key_not_found()
            ceiling = org_ceiling(await RateLimitRepository(session).get_org(org_id))
        return key_public(key, ceiling)

    async def set_key(
        self, principal: SessionPrincipal, org_id: uuid.UUID, key_id: uuid.UUID, body: RateLimitsUpdate
    ) -> KeyRateLimitsPublic:
        authorize(principal, Action.SET_ORG_BUDGET, org_id=org_id)
        new = body.to_domain()
        async with self.ctx.audited(principal.user_id, AuditAction.RATE_LIMITS_CHANGED, org_id=org_id) as w:
            await advisory_lock(w.session, "rate_limits", org_id)
            repo = RateLimitRepository(w.session)
            key = await repo.lock_key(key_id)
            if key is None or key.org_id != org_id:
                raise _key_not_found()
            if key.revoked_at is not None:
                raise Conflict("the API key is revoked", param="key_id", code="key_revoked")
            ceiling = org_ceiling(await repo.get_org(org_id))
            _check_ceiling(new, ceiling)
            old = key_limits(key)
            updated = await repo.set_key(key_id, new)
            if updated is None:  # pragma: no cover - the row is locked since lock_key
                raise _key_not_found()
            w.payload.update(_payload("key", old, new, key_id))
        if self.ctx.keys is not None:
            await best_effort(
                f"dropping the cached key {key_id} (rate limits changed)",
                self.ctx.keys.invalidate_key(updated.key_hash),
            )
        return key_public(updated, ceiling)
