"""Prometheus helpers: the ``/metrics`` endpoint and HTTP request metrics.

Nothing here registers a metric at import time. Every metric object is created by a
constructor that takes the ``CollectorRegistry`` to register into (the process-wide
``prometheus_client.REGISTRY`` in an app, a fresh registry in a test), so two apps or two
tests never collide on a metric name.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Seconds; an inference request spans milliseconds (cache hit, 4xx) to minutes (long stream).
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
UNMATCHED_ROUTE: Final = "<unmatched>"

log = logging.getLogger(__name__)


def metrics_response(registry: CollectorRegistry = REGISTRY, accept: str | None = None) -> Response:
    """The registry's samples in Prometheus text format (OpenMetrics when ``accept`` asks)."""
    encoder, content_type = choose_encoder(accept or "")
    return Response(content=encoder(registry), media_type=content_type)


def add_metrics_route(app: Starlette, registry: CollectorRegistry = REGISTRY, path: str = "/metrics") -> None:
    """Serve ``GET path`` from ``registry`` on a FastAPI/Starlette app (hidden from OpenAPI)."""

    def metrics(request: Request) -> Response:  # sync: Starlette runs it in its thread pool
        return metrics_response(registry, request.headers.get("accept"))

    app.add_route(path, metrics, methods=["GET"], include_in_schema=False)


def start_metrics_server(port: int, what: str, registry: CollectorRegistry = REGISTRY) -> bool:
    """Serve ``registry`` on a Prometheus port of its own (a Serve replica has no HTTP port of its
    own otherwise). A port already taken (a second replica or stack on the machine) is logged and
    the process goes on without it; returns whether the endpoint is up."""
    try:
        start_http_server(port, registry=registry)
    except OSError as e:
        log.warning("%s metrics port %d unavailable (%s)", what, port, e)
        return False
    return True


class HttpMetrics:
    """Request count and latency by route template, method and status."""

    def __init__(self, registry: CollectorRegistry, namespace: str = "ias") -> None:
        self.requests = Counter(
            "http_requests",
            "HTTP requests by route template, method and status code.",
            ("route", "method", "status"),
            namespace=namespace,
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration, to the last byte of the response body.",
            ("route", "method", "status"),
            namespace=namespace,
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        labels = (route, method, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)


def _route_template(scope: Scope) -> str:
    """The matched route's path template (bounded label values), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Pure ASGI middleware feeding :class:`HttpMetrics`; streaming responses are timed to
    their last chunk. Add with ``app.add_middleware(HttpMetricsMiddleware, metrics=...)``."""

    def __init__(
        self, app: ASGIApp, metrics: HttpMetrics, exclude_paths: frozenset[str] = frozenset({"/metrics"})
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.exclude_paths = exclude_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exclude_paths:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_tracking(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        finally:
            self.metrics.observe(
                _route_template(scope), scope.get("method", ""), status, time.perf_counter() - start
            )
