"""Prometheus metrics of the gateway (registered on the registry given, default: the process')."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry if registry is not None else REGISTRY
        self.requests = Counter(
            "ias_gateway_requests_total",
            "Admitted inference requests by model and outcome",
            ["model", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "ias_gateway_request_seconds",
            "Request start to last byte",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "ias_gateway_ttft_seconds",
            "Request start to first streamed byte",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "ias_gateway_tokens_total", "Tokens metered", ["org_id", "model", "direction"], registry=r
        )
        self.budget_rejections = Counter(
            "ias_gateway_budget_rejections_total",
            "Requests refused for an exhausted budget",
            ["model"],
            registry=r,
        )
        self.rate_limit_rejections = Counter(
            "ias_gateway_rate_limit_rejections_total",
            "Requests refused by a key's or an org's rate limit, by limit type (requests, tokens)",
            ["model", "type"],
            registry=r,
        )
        self.auth_failures = Counter(
            "ias_gateway_auth_failures_total", "Refused API keys by reason", ["reason"], registry=r
        )

    def observe(
        self,
        model: str,
        org_id: str,
        status: str,
        latency_s: float,
        ttft_s: float | None,
        tin: int,
        tout: int,
    ) -> None:
        self.requests.labels(model, status).inc()
        self.latency.labels(model).observe(latency_s)
        if ttft_s is not None:
            self.ttft.labels(model).observe(ttft_s)
        self.tokens.labels(org_id, model, "input").inc(tin)
        self.tokens.labels(org_id, model, "output").inc(tout)
