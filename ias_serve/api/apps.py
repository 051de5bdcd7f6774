"""App factories of the HTTP Serve apps.

The gateway, management and analytics logic land in later issues; until then each app
serves its health endpoint and Prometheus metrics only (see the README).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ias_serve import __version__
from ias_serve.api.health import health_router
from ias_serve.errors import IASError
from ias_serve.observability.metrics import add_metrics_route
from ias_serve.observability.middleware import RequestContextMiddleware


def _base_app(name: str, title: str, *, openai_errors: bool, behind_serve: bool) -> FastAPI:
    app = FastAPI(
        title=title,
        version=__version__,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_middleware(RequestContextMiddleware, echo_header=not behind_serve)
    app.include_router(health_router(name))
    add_metrics_route(app)

    @app.exception_handler(IASError)
    async def _ias_error(_: Request, exc: IASError) -> JSONResponse:
        body = exc.openai_body() if openai_errors else exc.rest_body()
        return JSONResponse(body, status_code=exc.status)

    return app


def create_gateway_app(*, behind_serve: bool = False) -> FastAPI:
    """`/v1`: the OpenAI-compatible inference API."""
    return _base_app(
        "gateway", "IAS inference gateway (OpenAI-compatible)", openai_errors=True, behind_serve=behind_serve
    )


def create_management_app(*, behind_serve: bool = False) -> FastAPI:
    """`/api`: the Core Management REST API."""
    return _base_app("management", "IAS management API", openai_errors=False, behind_serve=behind_serve)


def create_analytics_app(*, behind_serve: bool = False) -> FastAPI:
    """`/analytics`: usage dashboards API."""
    return _base_app("analytics", "IAS analytics API", openai_errors=False, behind_serve=behind_serve)
