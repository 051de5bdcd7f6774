"""OpenTelemetry tracing from the standard ``OTEL_*`` environment.

* Resource: ``service.name`` = the app's name, plus ``OTEL_RESOURCE_ATTRIBUTES``.
* Sampler: ``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG`` (SDK default: parent-based,
  always on).
* Export: an OTLP/HTTP span exporter behind a ``BatchSpanProcessor`` only when
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (the
  exporter itself reads ``OTEL_EXPORTER_OTLP_*`` headers, timeout, compression, TLS) and
  ``OTEL_TRACES_EXPORTER`` is not ``none``. Otherwise spans exist (trace ids in logs, context
  propagation) but go nowhere and no network is touched.
* ``OTEL_SDK_DISABLED=true``: no exporter, and the SDK hands out no-op tracers.
"""

from __future__ import annotations

import logging
import os
from typing import Final

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_log = logging.getLogger(__name__)

_ENDPOINT_VARS: Final = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def otlp_export_enabled() -> bool:
    """Whether the environment asks for OTLP span export."""
    if _env_true("OTEL_SDK_DISABLED"):
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(os.environ.get(v, "").strip() for v in _ENDPOINT_VARS)


def build_tracer_provider(service_name: str) -> TracerProvider:
    """A new provider configured from the environment (does not touch the global one)."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    if otlp_export_enabled():
        # imported here: the exporter pulls in requests/protobuf, needless without export
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _log.debug("OTLP trace export enabled for %s", service_name)
    return provider


def configure_tracing(service_name: str) -> TracerProvider:
    """Install the global tracer provider once per process and return it.

    OpenTelemetry allows setting the global provider only once. A second call returns the
    SDK provider already installed (first service name wins) instead of building another
    one with a second exporter. If something else already installed a non-SDK provider, a
    new provider is returned without being made global (use ``provider.get_tracer``).
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = build_tracer_provider(service_name)
    if isinstance(current, trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
        if trace.get_tracer_provider() is provider:
            return provider
    _log.warning(
        "a global tracer provider of another kind is already set; %s spans use a local provider",
        service_name,
    )
    return provider
