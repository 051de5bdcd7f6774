"""Prometheus metrics of the usage publisher, registered into a registry the caller gives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from nats.errors import ConnectionClosedError, ConnectionReconnectingError, OutboundBufferLimitError
from nats.js.errors import APIError, NoStreamResponseError, ServiceUnavailableError
from prometheus_client import CollectorRegistry, Counter, Gauge

PUBLISH_RESULTS: Final = ("stored", "duplicate")
FAILURE_REASONS: Final = ("timeout", "disconnected", "no_stream", "unavailable", "api_error", "other")
DROP_REASONS: Final = ("overflow", "shutdown", "closed", "unserializable")


def failure_reason(exc: BaseException | None) -> str:
    """The ``reason`` label of a failed publish attempt (None: no acknowledgement in time)."""
    if exc is None or isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionClosedError | ConnectionReconnectingError | OutboundBufferLimitError):
        return "disconnected"
    if isinstance(exc, NoStreamResponseError):
        return "no_stream"
    if isinstance(exc, ServiceUnavailableError):
        return "unavailable"
    if isinstance(exc, APIError):
        return "api_error"
    return "other"


class UsagePublishMetrics:
    """``ias_usage_publish_*``: backlog, outcomes, failed attempts, drops, connection state.

    Every label value is created up front, so each series exists (at 0) from the start and an
    alert on ``increase(ias_usage_publish_dropped_total[5m]) > 0`` works without a first drop.
    """

    def __init__(
        self, registry: CollectorRegistry, backlog: Callable[[], float], namespace: str = "ias"
    ) -> None:
        self.backlog = Gauge(
            "usage_publish_backlog",
            "Usage events not yet acknowledged by JetStream (buffered + in flight).",
            namespace=namespace,
            registry=registry,
        )
        self.backlog.set_function(backlog)
        self.published = Counter(
            "usage_publish_published",
            "Usage events acknowledged by JetStream, by result "
            "(duplicate: a retry of an event JetStream had already stored under its request id).",
            ("result",),
            namespace=namespace,
            registry=registry,
        )
        self.failures = Counter(
            "usage_publish_failures",
            "Failed publish attempts of usage events, by reason; each failed event is retried.",
            ("reason",),
            namespace=namespace,
            registry=registry,
        )
        self.dropped = Counter(
            "usage_publish_dropped",
            "Usage events given up, by reason (overflow: retry buffer full, the oldest event was "
            "dropped; shutdown: still undelivered when the publisher closed; closed: published "
            "after close; unserializable: not a valid UsageEvent).",
            ("reason",),
            namespace=namespace,
            registry=registry,
        )
        self.connected = Gauge(
            "usage_publish_connected",
            "1 while the usage publisher is connected to NATS, else 0.",
            namespace=namespace,
            registry=registry,
        )
        for r in PUBLISH_RESULTS:
            self.published.labels(r)
        for r in FAILURE_REASONS:
            self.failures.labels(r)
        for r in DROP_REASONS:
            self.dropped.labels(r)
