"""Model mappings: public model name → Serve engine deployment or remote OpenAI-compatible URL.

* Create, read one, change, remove: :data:`Action.MANAGE_MODEL_MAPPINGS` (System Admins;
  others 403).
* List: a System Admin gets every mapping in full (``org_id``: those that org may use);
  anyone else gets the *names* of the enabled models that their organisations may use
  (``org_id``: of that one org, 404 when not a member) — what ``/v1/models`` shows their keys,
  without backends or prices.
* ``allowed_org_ids`` must name existing organisations (422 with the unknown ids in
  ``details``); null = every org, [] = none.
* The gateway re-reads the mappings every ``model_cache_ttl_s`` (5 s by default): that is how
  long a change takes to apply to inference calls.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ias_serve.db.models import ModelMapping
from ias_serve.db.repositories import ModelMappingRepository, OrgRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.model_mappings import BackendKind
from ias_serve.domain.policy import Action, authorize
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.validation import InvalidValue
from ias_serve.errors import NotFound
from ias_serve.protocol.management.models import (
    ModelCreate,
    ModelNamePublic,
    ModelPublic,
    ModelsPublic,
    ModelUpdate,
)
from ias_serve.services.management.context import ManagementContext

_AUDITED_FIELDS = (
    "name",
    "backend_kind",
    "target",
    "enabled",
    "allowed_org_ids",
    "price_per_million_input",
    "price_per_million_output",
)


def model_public(m: ModelMapping) -> ModelPublic:
    serve = m.backend_kind is BackendKind.SERVE
    return ModelPublic(
        id=m.id,
        name=m.name,
        backend_kind=m.backend_kind,
        serve=m.target if serve else None,
        remote_url=None if serve else m.target,
        enabled=m.enabled,
        allowed_org_ids=m.allowed_org_ids,
        price_per_million_input=m.price_per_million_input,
        price_per_million_output=m.price_per_million_output,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


async def _check_orgs(session: AsyncSession, org_ids: list[uuid.UUID] | None) -> None:
    if not org_ids:
        return
    missing = set(org_ids) - await OrgRepository(session).existing_ids(set(org_ids))
    if missing:
        unknown = sorted(str(i) for i in missing)
        raise InvalidValue(
            f"unknown organisation id(s) in allowed_org_ids: {', '.join(unknown[:5])}",
            param="allowed_org_ids",
            details={"unknown_org_ids": unknown},
        )


class ModelService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx

    async def create(self, principal: SessionPrincipal, body: ModelCreate) -> ModelPublic:
        authorize(principal, Action.MANAGE_MODEL_MAPPINGS)
        kind, target = body.backend
        payload = body.model_dump(mode="json", exclude_unset=True)
        async with self.ctx.audited(principal.user_id, AuditAction.MODEL_ADDED, payload=payload) as w:
            await _check_orgs(w.session, body.allowed_org_ids)
            row = await ModelMappingRepository(w.session).create(
                body.name,
                kind,
                target,
                enabled=body.enabled,
                allowed_org_ids=body.allowed_org_ids,
                price_per_million_input=body.price_per_million_input,
                price_per_million_output=body.price_per_million_output,
            )
            w.payload["id"] = row.id
        return model_public(row)

    async def list(self, principal: SessionPrincipal, *, org_id: uuid.UUID | None = None) -> ModelsPublic:
        async with self.ctx.reading() as session:
            repo = ModelMappingRepository(session)
            if principal.is_system_admin:
                if org_id is not None:
                    await OrgRepository(session).require(org_id)
                    rows = await repo.list_for_org(org_id)
                else:
                    rows = await repo.list_mappings()
                full = [model_public(m) for m in rows]
                return ModelsPublic(data=list(full), count=len(full))
            if org_id is not None:
                authorize(principal, Action.VIEW_ORG_USAGE, org_id=org_id)  # member, or 404
                rows = await repo.list_for_org(org_id)
            else:
                rows = await repo.list_for_orgs(principal.org_ids)
        names = [ModelNamePublic(name=m.name) for m in rows]
        return ModelsPublic(data=list(names), count=len(names))

    async def get(self, principal: SessionPrincipal, model_id: uuid.UUID) -> ModelPublic:
        authorize(principal, Action.MANAGE_MODEL_MAPPINGS)
        async with self.ctx.reading() as session:
            return model_public(await ModelMappingRepository(session).require(model_id))

    async def update(
        self, principal: SessionPrincipal, model_id: uuid.UUID, body: ModelUpdate
    ) -> ModelPublic:
        """Change the given fields; the audit payload has the previous values of what changed."""
        authorize(principal, Action.MANAGE_MODEL_MAPPINGS)
        changes: dict[str, Any] = body.model_dump(exclude_unset=True)
        if (target := changes.pop("serve", None)) is not None:
            changes.update(backend_kind=BackendKind.SERVE, target=target)
        if (target := changes.pop("remote_url", None)) is not None:
            changes.update(backend_kind=BackendKind.REMOTE_URL, target=target)
        payload = {"id": model_id, **body.model_dump(mode="json", exclude_unset=True)}
        async with self.ctx.audited(principal.user_id, AuditAction.MODEL_UPDATED, payload=payload) as w:
            repo = ModelMappingRepository(w.session)
            current = await repo.require(model_id)
            w.payload["previous"] = {f: getattr(current, f) for f in _AUDITED_FIELDS if f in changes}
            if "allowed_org_ids" in changes:
                await _check_orgs(w.session, changes["allowed_org_ids"])
            row = await repo.update(model_id, **changes)
        return model_public(row)

    async def delete(self, principal: SessionPrincipal, model_id: uuid.UUID) -> None:
        authorize(principal, Action.MANAGE_MODEL_MAPPINGS)
        async with self.ctx.audited(
            principal.user_id, AuditAction.MODEL_REMOVED, payload={"id": model_id}
        ) as w:
            repo = ModelMappingRepository(w.session)
            current = await repo.require(model_id)
            w.payload.update(name=current.name, backend_kind=current.backend_kind, target=current.target)
            if not await repo.delete(model_id):  # removed concurrently
                raise NotFound("model mapping not found", param="id")
