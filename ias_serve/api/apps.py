"""App factories of the HTTP Serve apps.

The management logic lands with its own issue; until then that app serves its health endpoint
and Prometheus metrics only (see the README).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException

from ias_serve import __version__
from ias_serve.api.analytics import router as analytics_router
from ias_serve.api.gateway import router as gateway_router
from ias_serve.api.health import health_router
from ias_serve.api.management import ROUTERS as MANAGEMENT_ROUTERS
from ias_serve.errors import BadRequest, IASError
from ias_serve.observability.metrics import add_metrics_route
from ias_serve.observability.middleware import RequestContextMiddleware
from ias_serve.observability.tracing import otlp_export_enabled
from ias_serve.services.analytics import AnalyticsService
from ias_serve.services.gateway import GatewayService
from ias_serve.services.management.budget_alert_dispatcher import running_budget_alerts
from ias_serve.services.management.context import ManagementContext
from ias_serve.services.sessions import SessionAuthenticator

log = logging.getLogger(__name__)

_HTTP_CODES = {400: "invalid_request", 401: "unauthenticated", 403: "permission_denied", 404: "not_found"}
_HTTP_CODES |= {405: "method_not_allowed", 413: "request_too_large", 415: "unsupported_media_type"}


def _base_app(
    name: str,
    title: str,
    *,
    openai_errors: bool,
    behind_serve: bool,
    lifespan: Any = None,
    registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    @asynccontextmanager
    async def with_frozen_heap(app_: FastAPI) -> AsyncIterator[None]:
        # Everything built at start-up (imports, the app, connection pools) moves to the
        # permanent generation: full collections then skip it. Measured (bench/management.py):
        # without it, full collections paused pages of 500 rows for 150-250 ms; with it the
        # slowest page was 29 ms.
        gc.collect()
        gc.freeze()
        if lifespan is None:
            yield
        else:
            async with lifespan(app_):
                yield

    app = FastAPI(
        title=title,
        version=__version__,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=with_frozen_heap,
        # FastAPI's own OpenTelemetry spans only when spans are exported: otherwise the SDK
        # provider we install (for trace ids in logs) would make FastAPI wrap every request
        # and every streamed chunk for nothing
        telemetry={"tracing": otlp_export_enabled(), "metrics": False, "logs": False},
    )
    app.add_middleware(RequestContextMiddleware, echo_header=not behind_serve)
    app.include_router(health_router(name))
    add_metrics_route(app, registry)

    def render(
        exc: IASError, status: int | None = None, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        body = exc.openai_body() if openai_errors else exc.rest_body()
        return JSONResponse(body, status_code=status or exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own answers (unknown path 404, 405, a body that is not UTF-8: 400) in
        # the API's error shape instead of {"detail": ...}
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        err = IASError(str(exc.detail), code=code)
        if exc.status_code < 500:
            err.openai_type = "invalid_request_error"  # type: ignore[misc]
        return render(err, exc.status_code, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(IASError)
    async def _ias_error(_: Request, exc: IASError) -> JSONResponse:
        return render(exc, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors() or [{"loc": (), "msg": "invalid request", "type": "invalid"}]
        err = errors[0]
        param = ".".join(str(p) for p in err["loc"][1:]) or None
        details = [
            {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e.get("type")} for e in errors[:20]
        ]
        return render(
            BadRequest(
                f"invalid request: {param}: {err['msg']}",
                param=param,
                code="invalid_request",
                details=details,
            )
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")  # the trace goes to the log, never to the client
        return render(IASError("internal error; the request id identifies it in the logs"))

    return app


def create_gateway_app(
    *,
    gateway: GatewayService | None = None,
    behind_serve: bool = False,
    registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    """`/v1`: the OpenAI-compatible inference API. Without a `gateway` only health and metrics
    answer (the inference routes say 503)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if gateway is not None:
            await gateway.start()
        try:
            yield
        finally:
            if gateway is not None:
                await gateway.stop()

    app = _base_app(
        "gateway",
        "IAS inference gateway (OpenAI-compatible)",
        openai_errors=True,
        behind_serve=behind_serve,
        lifespan=lifespan,
        registry=registry,
    )
    app.state.gateway = gateway
    app.include_router(gateway_router)
    return app


def create_management_app(
    *,
    management: ManagementContext | None = None,
    sessions: SessionAuthenticator | None = None,
    behind_serve: bool = False,
    registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    """`/api`: the Core Management REST API. Without `management` (or `sessions`) only health
    and metrics answer (the other routes say 503). With `management`, its lifespan runs the
    budget alert dispatcher in the background (``services/management/budget_alert_dispatcher.py``)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if management is None:
            yield
            return
        async with running_budget_alerts(management, registry=registry):
            yield

    app = _base_app(
        "management",
        "IAS management API",
        openai_errors=False,
        behind_serve=behind_serve,
        lifespan=lifespan,
        registry=registry,
    )
    app.state.management = management
    app.state.sessions = sessions
    for router in MANAGEMENT_ROUTERS:
        app.include_router(router)
    return app


def create_analytics_app(
    *,
    analytics: AnalyticsService | None = None,
    sessions: SessionAuthenticator | None = None,
    behind_serve: bool = False,
    registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    """`/analytics`: usage dashboards API. Without `analytics` (or `sessions`) only health and
    metrics answer (the dashboard routes say 503). The lifespan closes the service on shutdown
    (its reader's clients, its database engine)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if analytics is not None:
                await analytics.aclose()

    app = _base_app(
        "analytics",
        "IAS analytics API",
        openai_errors=False,
        behind_serve=behind_serve,
        lifespan=lifespan,
        registry=registry,
    )
    app.state.analytics = analytics
    app.state.sessions = sessions
    app.include_router(analytics_router)
    return app
