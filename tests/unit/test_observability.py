"""JSON logging, request-id middleware, /metrics and tracing configuration."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.util._once import Once
from prometheus_client import CollectorRegistry, Counter

from ias_serve.observability import (
    REQUEST_ID_HEADER,
    HttpMetrics,
    HttpMetricsMiddleware,
    RequestContextMiddleware,
    add_metrics_route,
    build_tracer_provider,
    configure_logging,
    configure_tracing,
    metrics_response,
    org_id_var,
    request_id_var,
    setup_observability,
)
from ias_serve.observability.logging import REDACTED, JsonFormatter, is_sensitive_key

log = logging.getLogger("ias.test.observability")
HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """JSON logging into a buffer; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def only(stream: io.StringIO, msg: str) -> dict[str, Any]:
    found = [r for r in lines(stream) if r["msg"] == msg]
    assert len(found) == 1, found
    return found[0]


# --- logging ----------------------------------------------------------------------------


def test_log_line_is_one_json_object(log_stream: io.StringIO) -> None:
    log.info("hello %s", "world", extra={"model": "test-model", "input_tokens": 7})
    (rec,) = lines(log_stream)
    assert rec["msg"] == "hello world"
    assert rec["level"] == "INFO"
    assert rec["logger"] == "ias.test.observability"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["ts"])
    assert rec["request_id"] is None and rec["trace_id"] is None
    assert "org_id" not in rec
    assert rec["model"] == "test-model" and rec["input_tokens"] == 7


def test_extra_fills_unset_context_keys_only(log_stream: io.StringIO) -> None:
    log.info("worker", extra={"request_id": "from-event", "org_id": "o-9"})
    token = request_id_var.set("from-context")
    try:
        log.info("request", extra={"request_id": "from-event"})
    finally:
        request_id_var.reset(token)
    assert only(log_stream, "worker")["request_id"] == "from-event"
    assert only(log_stream, "worker")["org_id"] == "o-9"
    assert only(log_stream, "request")["request_id"] == "from-context"


def test_configure_logging_is_idempotent(log_stream: io.StringIO) -> None:
    other = io.StringIO()
    h1 = configure_logging("INFO", stream=log_stream)
    h2 = configure_logging("WARNING", stream=other)
    assert h1 is h2
    assert sum(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers) == 1
    log.warning("once")
    log.info("filtered out")
    assert [r["msg"] for r in lines(other)] == ["once"]
    assert log_stream.getvalue() == ""


def test_exception_and_org_id(log_stream: io.StringIO) -> None:
    token = org_id_var.set("org-1")
    try:
        try:
            _ = 1 / 0
        except ZeroDivisionError:
            log.exception("boom")
    finally:
        org_id_var.reset(token)
    rec = only(log_stream, "boom")
    assert rec["level"] == "ERROR" and rec["org_id"] == "org-1"
    assert "ZeroDivisionError" in rec["exc_info"] and "Traceback" in rec["exc_info"]


def test_secret_extras_are_redacted(log_stream: io.StringIO) -> None:
    log.info(
        "login",
        extra={
            "password": "hunter2",
            "api_key": "ias-abc",
            "Authorization": "Bearer ias-abc",
            "body": {"invite_token": "t", "email": "a@b.c", "items": [{"secret": "s"}]},
            "output_tokens": 3,
        },
    )
    rec = only(log_stream, "login")
    assert "hunter2" not in json.dumps(rec) and "ias-abc" not in json.dumps(rec)
    assert rec["password"] == rec["api_key"] == rec["Authorization"] == REDACTED
    assert rec["body"] == {"invite_token": REDACTED, "email": "a@b.c", "items": [{"secret": REDACTED}]}
    assert rec["output_tokens"] == 3
    assert not is_sensitive_key("input_tokens") and is_sensitive_key("session_token")


def test_trace_id_inside_an_active_span(log_stream: io.StringIO) -> None:
    tracer = TracerProvider().get_tracer(__name__)  # local: the global provider stays as is
    with tracer.start_as_current_span("op") as span:
        log.info("in span")
    log.info("after span")
    want = trace.format_trace_id(span.get_span_context().trace_id)
    assert only(log_stream, "in span")["trace_id"] == want
    assert HEX32.fullmatch(want)
    assert only(log_stream, "after span")["trace_id"] is None


# --- request-id middleware --------------------------------------------------------------


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.get("/hello")
    async def hello(request: Request, delay: float = 0.0) -> dict[str, str]:
        await asyncio.sleep(delay)
        log.info("in endpoint")
        return {"request_id": request.state.request_id}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[str]:
            for i in range(3):
                await asyncio.sleep(0)
                log.info("chunk", extra={"i": i})
                yield f"data: {i}\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_request_id_from_header_reaches_logs_and_response(log_stream: io.StringIO) -> None:
    async with _client(_app()) as client:
        r = await client.get("/hello", headers={"X-Request-ID": "abc-123.X_y"})
    assert r.headers[REQUEST_ID_HEADER] == "abc-123.X_y"
    assert r.json() == {"request_id": "abc-123.X_y"}
    assert only(log_stream, "in endpoint")["request_id"] == "abc-123.X_y"
    assert request_id_var.get() is None  # reset after the request


async def test_request_id_generated_when_absent(log_stream: io.StringIO) -> None:
    async with _client(_app()) as client:
        r1 = await client.get("/hello")
        r2 = await client.get("/hello")
    rid = r1.headers[REQUEST_ID_HEADER]
    assert HEX32.fullmatch(rid) and rid != r2.headers[REQUEST_ID_HEADER]
    got = [x["request_id"] for x in lines(log_stream) if x["msg"] == "in endpoint"]
    assert got == [rid, r2.headers[REQUEST_ID_HEADER]]


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "<script>", "a/b", ""])
async def test_invalid_request_id_is_replaced(log_stream: io.StringIO, bad: str) -> None:
    async with _client(_app()) as client:
        r = await client.get("/hello", headers={"X-Request-ID": bad})
    rid = r.headers[REQUEST_ID_HEADER]
    assert rid != bad and HEX32.fullmatch(rid)
    assert only(log_stream, "in endpoint")["request_id"] == rid


async def test_request_id_in_streaming_response(log_stream: io.StringIO) -> None:
    async with _client(_app()) as client:
        r = await client.get("/stream", headers={"X-Request-ID": "stream-1"})
    assert r.headers[REQUEST_ID_HEADER] == "stream-1"
    assert r.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
    recs = [x for x in lines(log_stream) if x["msg"] == "chunk"]
    assert [(x["i"], x["request_id"]) for x in recs] == [(0, "stream-1"), (1, "stream-1"), (2, "stream-1")]


async def test_concurrent_requests_keep_their_own_id(log_stream: io.StringIO) -> None:
    async with _client(_app()) as client:
        # the first request logs last: ids must not bleed between interleaved requests
        await asyncio.gather(
            client.get("/hello", params={"delay": 0.05}, headers={"X-Request-ID": "slow"}),
            client.get("/hello", headers={"X-Request-ID": "fast"}),
        )
    assert [x["request_id"] for x in lines(log_stream) if x["msg"] == "in endpoint"] == ["fast", "slow"]


def test_middleware_with_starlette_test_client(log_stream: io.StringIO) -> None:
    from starlette.testclient import TestClient

    with TestClient(_app()) as client:
        r = client.get("/hello", headers={"X-Request-ID": "tc-1"})
    assert r.headers[REQUEST_ID_HEADER] == "tc-1"
    assert only(log_stream, "in endpoint")["request_id"] == "tc-1"


# --- metrics ----------------------------------------------------------------------------


async def test_metrics_endpoint_serves_registry() -> None:
    registry = CollectorRegistry()
    Counter("ias_test_widgets", "Widgets made.", ("kind",), registry=registry).labels("a").inc(3)
    app = FastAPI()
    add_metrics_route(app, registry)
    async with _client(app) as client:
        r = await client.get("/metrics")
        om = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'ias_test_widgets_total{kind="a"} 3.0' in r.text
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF")
    assert "/metrics" not in app.openapi()["paths"]


def test_metrics_response_default_format() -> None:
    registry = CollectorRegistry()
    Counter("ias_test_calls", "Calls.", registry=registry).inc()
    resp = metrics_response(registry)
    assert b"ias_test_calls_total 1.0" in bytes(resp.body)


async def test_http_metrics_by_route_template() -> None:
    registry = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry))
    add_metrics_route(app, registry)

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    async with _client(app) as client:
        for path in ("/items/1", "/items/2", "/items/x", "/nope", "/metrics"):
            await client.get(path)

    def count(route: str, status: str) -> float | None:
        return registry.get_sample_value(
            "ias_http_requests_total", {"route": route, "method": "GET", "status": status}
        )

    assert count("/items/{item_id}", "200") == 2
    assert count("/items/{item_id}", "422") == 1
    assert count("<unmatched>", "404") == 1
    assert count("/metrics", "200") is None  # excluded
    assert (
        registry.get_sample_value(
            "ias_http_request_duration_seconds_count",
            {"route": "/items/{item_id}", "method": "GET", "status": "200"},
        )
        == 2
    )


# --- tracing ----------------------------------------------------------------------------

_OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
)


@pytest.fixture
def otel_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _OTEL_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def fresh_global_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test set the process-wide tracer provider; the previous one comes back after."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())


def _processors(provider: TracerProvider) -> tuple[Any, ...]:
    return tuple(provider._active_span_processor._span_processors)


def test_tracing_without_endpoint_exports_nothing(otel_env: pytest.MonkeyPatch) -> None:
    provider = build_tracer_provider("ias-test")
    assert _processors(provider) == ()
    assert provider.resource.attributes["service.name"] == "ias-test"
    with provider.get_tracer("t").start_as_current_span("s") as span:
        assert span.get_span_context().is_valid  # spans still exist for trace ids in logs
    provider.shutdown()


@pytest.mark.parametrize(
    ("var", "value", "endpoint"),
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "http://collector:4318/v1/traces"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://tempo:4318/v1/traces", "http://tempo:4318/v1/traces"),
    ],
)
def test_tracing_with_endpoint_has_otlp_exporter(
    otel_env: pytest.MonkeyPatch, var: str, value: str, endpoint: str
) -> None:
    otel_env.setenv(var, value)
    otel_env.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    provider = build_tracer_provider("ias-gateway")
    try:
        (proc,) = _processors(provider)
        assert isinstance(proc, BatchSpanProcessor)
        exporter = proc._batch_processor._exporter
        assert isinstance(exporter, OTLPSpanExporter)
        assert exporter._endpoint == endpoint
        assert provider.resource.attributes["service.name"] == "ias-gateway"
        assert provider.resource.attributes["deployment.environment"] == "test"
    finally:
        provider.shutdown()  # nothing queued: no network


@pytest.mark.parametrize(("var", "value"), [("OTEL_SDK_DISABLED", "true"), ("OTEL_TRACES_EXPORTER", "none")])
def test_tracing_disabled_by_env(otel_env: pytest.MonkeyPatch, var: str, value: str) -> None:
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    otel_env.setenv(var, value)
    provider = build_tracer_provider("ias-test")
    assert _processors(provider) == ()
    if var == "OTEL_SDK_DISABLED":
        assert isinstance(provider.get_tracer("t"), trace.NoOpTracer)
    provider.shutdown()


def test_configure_tracing_sets_global_once(otel_env: pytest.MonkeyPatch, fresh_global_tracer: None) -> None:
    first = configure_tracing("ias-a")
    assert trace.get_tracer_provider() is first
    assert configure_tracing("ias-b") is first  # no second provider, no override warning


def test_setup_observability(
    otel_env: pytest.MonkeyPatch, fresh_global_tracer: None, log_stream: io.StringIO
) -> None:
    provider = setup_observability("ias-test", "WARNING")
    assert trace.get_tracer_provider() is provider
    assert logging.getLogger().level == logging.WARNING
    assert sum(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers) == 1
