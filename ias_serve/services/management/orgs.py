"""Organisations: create, list, read, rename, disable / enable.

* Create, rename, disable, enable: :data:`Action.MANAGE_ORGS` (System Admins; others 403).
* Read one: :data:`Action.VIEW_ORG_USAGE` (System Admin: any; members of the org, either role;
  an outsider gets 404, as for an org that does not exist).
* List: a System Admin sees every organisation; anyone else the ones they belong to.
* Delete: :data:`Action.MANAGE_ORGS`, and only a disabled org (409 ``org_not_disabled``
  otherwise: disabling first is the safety catch, and stops its keys at once). Removes what
  belonged to the org only (see :meth:`OrgRepository.delete`), keeps its audit trail, drops its
  gateway cache entries and budget counters in Redis after the commit.
* Disabling (or enabling) an org invalidates its keys in every gateway replica's cache after
  the commit (``RedisKeyStore.invalidate_org``), so its keys are refused (403 ``org_disabled``)
  within the revocation bound; a lost invalidation is caught up by the gateway's TTLs.
"""

from __future__ import annotations

import uuid

from ias_serve.db.models import Organization
from ias_serve.db.repositories import BudgetRepository, OrgRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.budget import parse_token_amount
from ias_serve.domain.paging import contains_control, org_cursor, parse_org_cursor
from ias_serve.domain.policy import Action, authorize
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.roles import Status
from ias_serve.domain.validation import InvalidValue
from ias_serve.errors import Conflict
from ias_serve.protocol.management.orgs import OrgCreate, OrgDeleted, OrgPublic, OrgsPublic, OrgUpdate
from ias_serve.services.management.after_commit import best_effort
from ias_serve.services.management.context import ManagementContext


def org_public(org: Organization, monthly_token_limit: int | None) -> OrgPublic:
    return OrgPublic(
        id=org.id,
        name=org.name,
        status=org.status,
        monthly_token_limit=monthly_token_limit,
        created_at=org.created_at,
        updated_at=org.updated_at,
    )


class OrgService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx

    async def create(self, principal: SessionPrincipal, body: OrgCreate) -> OrgPublic:
        """With ``monthly_token_limit`` in the body the org gets a budget row (in the same
        transaction and audit row); without, it is unlimited."""
        authorize(principal, Action.MANAGE_ORGS)
        with_budget = "monthly_token_limit" in body.model_fields_set
        limit = parse_token_amount(body.monthly_token_limit) if with_budget else None
        payload = body.model_dump(mode="json", exclude_unset=True)
        async with self.ctx.audited(principal.user_id, AuditAction.ORG_CREATED, payload=payload) as w:
            org = await OrgRepository(w.session).create(body.name)
            w.org_id = org.id
            w.payload["org_id"] = org.id
            if with_budget:
                await BudgetRepository(w.session).set_limit(org.id, limit, updated_by=principal.user_id)
                w.payload["monthly_token_limit"] = limit
        if with_budget and self.ctx.budgets is not None:
            await best_effort("publishing the new org's budget", self.ctx.budgets.set_limit(org.id, limit))
        return org_public(org, limit)

    async def list(
        self,
        principal: SessionPrincipal,
        *,
        status: Status | None = None,
        name: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> OrgsPublic:
        if name is not None and contains_control(name):
            raise InvalidValue("name must not contain control characters", param="name")
        after = parse_org_cursor(cursor) if cursor else None
        ids = None if principal.is_system_admin else principal.org_ids
        filters = {"ids": ids, "status": status, "name_contains": name or None}
        async with self.ctx.reading() as session:
            repo = OrgRepository(session)
            rows = await repo.list_page(**filters, after=after, limit=limit + 1)
            count = await repo.count_matching(**filters)
        more, rows = len(rows) > limit, rows[:limit]
        return OrgsPublic(
            data=[org_public(org, lim) for org, _, lim in rows],
            count=count,
            next_cursor=org_cursor(rows[-1][1], rows[-1][0].id) if more else None,
        )

    async def get(self, principal: SessionPrincipal, org_id: uuid.UUID) -> OrgPublic:
        authorize(principal, Action.VIEW_ORG_USAGE, org_id=org_id)
        async with self.ctx.reading() as session:
            org = await OrgRepository(session).require(org_id)
            limit = await BudgetRepository(session).get_limit(org_id)
        return org_public(org, limit)

    async def update(self, principal: SessionPrincipal, org_id: uuid.UUID, body: OrgUpdate) -> OrgPublic:
        """Rename and/or change the status; the audit payload has the previous values too."""
        authorize(principal, Action.MANAGE_ORGS)
        changes = body.model_dump(exclude_unset=True)
        payload = {"org_id": org_id, **changes}
        async with self.ctx.audited(
            principal.user_id, AuditAction.ORG_UPDATED, org_id=org_id, payload=payload
        ) as w:
            repo = OrgRepository(w.session)
            current = await repo.require(org_id)
            w.payload["previous"] = {field: getattr(current, field) for field in changes}
            org = await repo.update(org_id, **changes)
            limit = await BudgetRepository(w.session).get_limit(org_id)
        if "status" in changes and self.ctx.keys is not None:
            await best_effort(
                f"invalidating the cached keys of org {org_id}", self.ctx.keys.invalidate_org(org_id)
            )
        return org_public(org, limit)

    async def delete(self, principal: SessionPrincipal, org_id: uuid.UUID) -> OrgDeleted:
        authorize(principal, Action.MANAGE_ORGS)
        async with self.ctx.audited(
            principal.user_id, AuditAction.ORG_DELETED, org_id=org_id, payload={"org_id": org_id}
        ) as w:
            repo = OrgRepository(w.session)
            org = await repo.require(org_id)
            if org.status != Status.DISABLED:
                raise Conflict(
                    "disable the organisation before deleting it (PATCH status: disabled)",
                    code="org_not_disabled",
                    param="org_id",
                )
            gone = await repo.delete(org_id)
            w.payload.update(
                name=gone.name,
                members_removed=gone.members,
                users_deleted=[str(u) for u in gone.users_deleted],
                keys_deleted=gone.keys,
                invites_deleted=gone.invites,
                model_allow_lists_changed=gone.model_allow_lists,
            )
        if self.ctx.keys is not None:  # every replica forgets the org's cached keys (as on disable)
            await best_effort(
                f"dropping the cached keys of deleted org {org_id}", self.ctx.keys.invalidate_org(org_id)
            )
        if self.ctx.budgets is not None:
            await best_effort(
                f"dropping the budget counters of deleted org {org_id}", self.ctx.budgets.forget(org_id)
            )
        return OrgDeleted(
            id=org_id,
            name=gone.name,
            members_removed=gone.members,
            users_deleted=len(gone.users_deleted),
            keys_deleted=gone.keys,
            invites_deleted=gone.invites,
        )
