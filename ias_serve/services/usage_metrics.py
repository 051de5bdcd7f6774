"""Prometheus metrics of the usage recorder (``ias_usage_recorder_*``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ias_serve.protocol.usage import InvalidUsageEvent

_BATCH_BUCKETS = (1, 10, 50, 100, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)
_INSERT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RecorderMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, namespace: str = "ias") -> None:
        self.registry = registry or CollectorRegistry()
        kw = {"namespace": namespace, "registry": self.registry}
        self.batch_size = Histogram(
            "usage_recorder_batch_size",
            "Messages per batch taken from JetStream.",
            buckets=_BATCH_BUCKETS,
            **kw,
        )
        self.insert_seconds = Histogram(
            "usage_recorder_insert_seconds",
            "Time of one successful ClickHouse insert (duplicate check included).",
            buckets=_INSERT_BUCKETS,
            **kw,
        )
        self.events = Counter(
            "usage_recorder_events",
            "Usage events handled, by outcome: inserted (new), duplicate (already stored: a "
            "redelivery), dead_lettered.",
            ["outcome"],
            **kw,
        )
        self.dead_lettered = Counter(
            "usage_recorder_dead_lettered", "Invalid events sent to the dead-letter subject.", ["kind"], **kw
        )
        self.insert_failures = Counter(
            "usage_recorder_insert_failures", "Failed ClickHouse inserts (retried until they succeed).", **kw
        )
        self.lag = Gauge(
            "usage_recorder_lag",
            "Usage events in JetStream not yet recorded (not delivered + delivered, unacknowledged).",
            **kw,
        )
        self.last_insert = Gauge(
            "usage_recorder_last_insert_timestamp_seconds", "Unix time of the last successful insert.", **kw
        )
        self.reconciliations = Counter(
            "usage_recorder_reconciliations",
            "Budget reconciliations from ClickHouse, by result.",
            ["result"],
            **kw,
        )
        self.budgets_raised = Counter(
            "usage_recorder_budget_counters_raised",
            "Redis budget counters found below the recorded usage and raised to it.",
            **kw,
        )
        for outcome in ("inserted", "duplicate", "dead_lettered"):
            self.events.labels(outcome)
        for kind in InvalidUsageEvent.KINDS:
            self.dead_lettered.labels(kind)
        for result in ("ok", "error"):
            self.reconciliations.labels(result)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A sample's current value (tests, status output); 0 when absent."""
        v = self.registry.get_sample_value(f"ias_{name}", labels or {})
        return 0.0 if v is None else v
