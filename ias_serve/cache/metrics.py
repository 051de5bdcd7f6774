"""Prometheus metrics of the gateway's caches (authentication and budgets).

Nothing is registered at import time: each class registers its metrics into the registry it
is given, or into a private one when given none (so a component built without metrics, or two
components in one test, never collide on the process-wide registry). An authenticator and a
budget store may share one registry; two authenticators may not (duplicate names).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter

NAMESPACE: Final = "ias"


def _sample(registry: CollectorRegistry, name: str, labels: dict[str, str] | None = None) -> float:
    """Current value of a counter sample (tests, diagnostics); 0 when never incremented."""
    return registry.get_sample_value(f"{NAMESPACE}_{name}_total", labels or {}) or 0.0


class _Metrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)

    def value(self, name: str, **labels: str) -> float:
        """``value("auth_lookups", layer="redis")``: a counter's current value (0 if unseen)."""
        return _sample(self.registry, name, labels)


class AuthMetrics(_Metrics):
    """``ias_auth_*``: failures by reason, answers by cache layer, Redis errors, flushes."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        r = self.registry
        self.failures = Counter(
            "auth_failures",
            "API key authentications refused, by reason "
            "(missing, malformed, unknown, expired, org_disabled, unavailable).",
            ("reason",),
            namespace=NAMESPACE,
            registry=r,
        )
        self.lookups = Counter(
            "auth_lookups",
            "API key lookups by the layer that answered (local, redis, postgres).",
            ("layer",),
            namespace=NAMESPACE,
            registry=r,
        )
        self.redis_errors = Counter(
            "auth_redis_errors",
            "Redis failures seen by the authenticator, by operation.",
            ("op",),
            namespace=NAMESPACE,
            registry=r,
        )
        self.invalidations = Counter(
            "auth_invalidations_received",
            "Cache invalidations received on the revocation channel, by kind (key, org, all).",
            ("kind",),
            namespace=NAMESPACE,
            registry=r,
        )
        self.listener_reconnects = Counter(
            "auth_listener_connects",
            "Times the revocation listener (re)subscribed; every connect empties the local cache.",
            namespace=NAMESPACE,
            registry=r,
        )
        self.last_used_flushes = Counter(
            "auth_last_used_flushes",
            "Batched UPDATEs of api_keys.last_used_at, by result (ok, error).",
            ("result",),
            namespace=NAMESPACE,
            registry=r,
        )


class BudgetMetrics(_Metrics):
    """``ias_budget_*``: reservations by outcome, Redis errors, settle failures, limit loads."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        r = self.registry
        self.reservations = Counter(
            "budget_reservations",
            "Budget reservations by outcome (reserved, rejected, rate_limited, unavailable, fail_open).",
            ("outcome",),
            namespace=NAMESPACE,
            registry=r,
        )
        self.redis_errors = Counter(
            "budget_redis_errors",
            "Redis failures seen by the budget store, by operation.",
            ("op",),
            namespace=NAMESPACE,
            registry=r,
        )
        self.settle_failures = Counter(
            "budget_settle_failures",
            "Reservations that could not be settled to the real token count.",
            namespace=NAMESPACE,
            registry=r,
        )
        self.limit_loads = Counter(
            "budget_limit_loads",
            "Monthly limits loaded from the limit source (PostgreSQL) into Redis, by result.",
            ("result",),
            namespace=NAMESPACE,
            registry=r,
        )
