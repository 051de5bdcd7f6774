"""`start_metrics_server`: the own Prometheus port of a gateway replica or the usage recorder."""

from __future__ import annotations

import logging

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from ias_serve.observability.metrics import start_metrics_server
from ias_serve.stack.embedded import free_port


def test_serves_the_registry_and_a_taken_port_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    Counter("ias_test_things", "Things counted", registry=registry).inc(3)
    port = free_port()
    assert start_metrics_server(port, "test", registry) is True
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "ias_test_things_total 3.0" in body

    with caplog.at_level(logging.WARNING, logger="ias_serve.observability.metrics"):
        assert start_metrics_server(port, "second", CollectorRegistry()) is False
    assert f"second metrics port {port} unavailable" in caplog.text
    assert "ias_test_things_total 3.0" in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
