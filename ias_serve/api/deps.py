"""FastAPI dependencies as `Annotated` aliases, one place for all routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from ias_serve.domain.principal import ApiKeyPrincipal
from ias_serve.errors import ServiceUnavailable
from ias_serve.observability.logging import request_id_var
from ias_serve.services.gateway import GatewayService


async def _gateway(request: Request) -> GatewayService:  # async: no threadpool hop
    svc = getattr(request.app.state, "gateway", None)
    if svc is None:
        raise ServiceUnavailable("the inference gateway is not configured in this process")
    return svc


async def _principal(
    gateway: Annotated[GatewayService, Depends(_gateway)],
    authorization: Annotated[str | None, Header()] = None,
) -> ApiKeyPrincipal:
    return await gateway.principal(authorization)


async def _request_id() -> str:
    rid = request_id_var.get()
    if rid is None:  # pragma: no cover - RequestContextMiddleware always sets it
        raise RuntimeError("request id middleware missing")
    return rid


Gateway = Annotated[GatewayService, Depends(_gateway)]
Principal = Annotated[ApiKeyPrincipal, Depends(_principal)]
RequestId = Annotated[str, Depends(_request_id)]
