"""UsagePublisher's request-path side without a server: the bounded buffer, its metrics, and
the pure pieces (stream configuration, backoff). Delivery is tested against real NATS in
tests/component/test_queue_publisher.py."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from nats.errors import ConnectionClosedError, OutboundBufferLimitError
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType
from nats.js.errors import APIError, NoStreamResponseError, ServiceUnavailableError
from prometheus_client import CollectorRegistry

from ias_serve.protocol.usage import UsageEvent
from ias_serve.queue.backoff import Backoff
from ias_serve.queue.jetstream import UsageStreamLimits, usage_stream_config
from ias_serve.queue.metrics import FAILURE_REASONS, failure_reason
from ias_serve.queue.publisher import UsagePublisher

NOWHERE = "nats://127.0.0.1:1"  # never connected: start() is not called


def event() -> UsageEvent:
    return UsageEvent(
        request_id=f"req-{uuid.uuid4().hex}",
        ts=datetime.now(UTC),
        org_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        key_id=uuid.uuid4(),
        model="test-model",
        input_tokens=3,
        output_tokens=4,
        latency_ms=5,
    )


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels or None)


def test_every_metric_series_exists_at_zero_on_the_given_registry() -> None:
    registry = CollectorRegistry()
    UsagePublisher(NOWHERE, registry=registry)
    assert value(registry, "ias_usage_publish_backlog") == 0
    assert value(registry, "ias_usage_publish_connected") == 0
    assert value(registry, "ias_usage_publish_published_total", result="stored") == 0
    assert value(registry, "ias_usage_publish_failures_total", reason="timeout") == 0
    assert value(registry, "ias_usage_publish_dropped_total", reason="overflow") == 0


def test_two_publishers_without_a_registry_do_not_collide() -> None:
    UsagePublisher(NOWHERE)
    UsagePublisher(NOWHERE)


def test_a_full_buffer_keeps_max_buffer_events_and_counts_each_drop() -> None:
    registry = CollectorRegistry()
    pub = UsagePublisher(NOWHERE, max_buffer=10, registry=registry)
    for _ in range(25):
        pub.publish(event())
    assert pub.backlog == 10
    assert value(registry, "ias_usage_publish_backlog") == 10
    assert value(registry, "ias_usage_publish_dropped_total", reason="overflow") == 15


def test_publish_never_raises_on_what_is_not_a_usage_event() -> None:
    registry = CollectorRegistry()
    pub = UsagePublisher(NOWHERE, registry=registry)
    pub.publish(cast(Any, {"request_id": "r1"}))
    pub.publish(cast(Any, None))
    assert pub.backlog == 0
    assert value(registry, "ias_usage_publish_dropped_total", reason="unserializable") == 2


def test_publish_is_cheap() -> None:
    pub = UsagePublisher(NOWHERE, max_buffer=1_000)
    events = [event() for _ in range(5_000)]
    started = time.perf_counter()
    for ev in events:
        pub.publish(ev)
    per_call = (time.perf_counter() - started) / len(events)
    assert per_call < 500e-6, f"{per_call * 1e6:.0f} µs per publish()"  # ~5 µs measured; only a bound


@pytest.mark.parametrize(
    "kwargs", [{"max_buffer": 0}, {"max_inflight": 0}, {"publish_timeout_s": 0}, {"backoff_initial_s": 0}]
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        UsagePublisher(NOWHERE, **kwargs)


def test_stream_configuration() -> None:
    cfg = usage_stream_config("USAGE", "usage.v1", UsageStreamLimits(duplicate_window_s=600))
    assert cfg.name == "USAGE" and cfg.subjects == ["usage.v1"]
    assert (cfg.storage, cfg.retention, cfg.discard) == (
        StorageType.FILE,
        RetentionPolicy.LIMITS,
        DiscardPolicy.OLD,
    )
    assert cfg.duplicate_window == 600 and cfg.max_age == 7 * 24 * 3600
    assert cfg.as_dict()["duplicate_window"] == 600 * 10**9  # nanoseconds on the wire
    kept = usage_stream_config("USAGE", "usage.v1", extra_subjects=("usage.v1", "usage.v2"))
    assert kept.subjects == ["usage.v1", "usage.v2"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duplicate_window_s": 0},
        {"duplicate_window_s": 3600, "max_age_s": 60},
        {"max_bytes": 0},
        {"max_bytes": -2},
        {"num_replicas": 0},
    ],
)
def test_stream_limits_that_jetstream_would_refuse_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        UsageStreamLimits(**kwargs)


def test_backoff_doubles_up_to_its_cap_with_jitter_and_resets() -> None:
    b = Backoff(0.1, 1.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(8)]
    caps = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, caps, strict=True))
    b.reset()
    assert 0.05 <= b.next_delay() <= 0.1
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (None, "timeout"),
        (TimeoutError(), "timeout"),
        (ConnectionClosedError(), "disconnected"),
        (OutboundBufferLimitError(), "disconnected"),
        (NoStreamResponseError(), "no_stream"),
        (ServiceUnavailableError(code=503), "unavailable"),
        (APIError(code=400, description="bad"), "api_error"),
        (RuntimeError(), "other"),
    ],
)
def test_failed_attempts_are_labelled_from_a_bounded_set(exc: BaseException | None, reason: str) -> None:
    assert failure_reason(exc) == reason
    assert reason in FAILURE_REASONS
