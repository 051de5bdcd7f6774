"""`/api/model`: model mappings (rules: :mod:`ias_serve.services.management.models`).

Changes reach inference calls when the gateway next re-reads the mappings: within
``model_cache_ttl_s`` (5 s by default).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from ias_serve.api.deps import Management, SessionUser, WritingUser
from ias_serve.protocol.management.models import ModelCreate, ModelPublic, ModelsPublic, ModelUpdate
from ias_serve.protocol.management.resource_base import error_responses
from ias_serve.services.management.models import ModelService

router = APIRouter(tags=["model mappings"])

_NOT_SYSADMIN = "Not a System Admin (or a cookie session without the CSRF header)."
_PROPAGATION = " The gateway applies the change within `model_cache_ttl_s` (5 s by default)."


@router.post(
    "/model",
    status_code=201,
    summary="Map a public model name to a Serve engine or a remote URL (System Admin)",
    description="Exactly one of `serve` (engine deployment name) and `remote_url`." + _PROPAGATION,
    responses=error_responses(403, 409, s403=_NOT_SYSADMIN, s409="A mapping with this name exists."),
)
async def create_model(body: ModelCreate, principal: WritingUser, ctx: Management) -> ModelPublic:
    return await ModelService(ctx).create(principal, body)


@router.get(
    "/model",
    summary="Models: every mapping in full (System Admin), or the names members may use",
    responses=error_responses(404, s404="org_id: no such organisation, or not a member of it."),
)
async def list_models(
    principal: SessionUser,
    ctx: Management,
    org_id: Annotated[uuid.UUID | None, Query(description="Only the models this org may use.")] = None,
) -> ModelsPublic:
    return await ModelService(ctx).list(principal, org_id=org_id)


@router.get(
    "/model/{model_id}",
    summary="One model mapping (System Admin)",
    responses=error_responses(403, 404, s403="Not a System Admin."),
)
async def get_model(model_id: uuid.UUID, principal: SessionUser, ctx: Management) -> ModelPublic:
    return await ModelService(ctx).get(principal, model_id)


@router.patch(
    "/model/{model_id}",
    summary="Change a model mapping (System Admin)",
    description="Only the fields given change; `allowed_org_ids: null` opens it to every org." + _PROPAGATION,
    responses=error_responses(403, 404, 409, s403=_NOT_SYSADMIN, s409="Another mapping has this name."),
)
async def update_model(
    model_id: uuid.UUID, body: ModelUpdate, principal: WritingUser, ctx: Management
) -> ModelPublic:
    return await ModelService(ctx).update(principal, model_id, body)


@router.delete(
    "/model/{model_id}",
    status_code=204,
    summary="Remove a model mapping (System Admin)",
    description="Calls naming it get 404 `model_not_found`." + _PROPAGATION,
    responses=error_responses(403, 404, s403=_NOT_SYSADMIN),
)
async def delete_model(model_id: uuid.UUID, principal: WritingUser, ctx: Management) -> Response:
    await ModelService(ctx).delete(principal, model_id)
    return Response(status_code=204)
