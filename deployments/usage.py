"""`usage` Serve app: the UsageRecorder actor (no HTTP route).

One replica, always: it is the only writer of ``usage_events`` (the exactly-once insert checks
for stored request ids before inserting, which holds with one writer) and acknowledges with
``AckPolicy.ALL``. Serve restarts it when it dies; JetStream keeps what it had not
acknowledged.

Methods callable through a handle:

* ``read(query, **params)`` — the analytics app's queries when ClickHouse is embedded (chDB
  allows one process per directory, and this process owns it);
* ``reconcile()`` — raise the Redis budget counters to the usage recorded (on demand);
* ``status()`` — counters, lag and the last reconciliation (`ias status`).

Metrics: ``ias_usage_recorder_*`` on a Prometheus endpoint of its own (``metrics_port``; the
replica has no HTTP route to put ``/metrics`` on).

With embedded ClickHouse (chDB) and ``sql_port`` set, it also serves a read-only ClickHouse
HTTP interface on 127.0.0.1 (:mod:`ias_serve.analytics.sql_http`): the only way to query the
embedded ClickHouse directly from outside this process (the E2E harness does).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field
from ray import serve
from ray.serve import Application

from deployments.common import AppArgs, parse_args
from ias_serve.analytics.client import get_client
from ias_serve.analytics.reader import LocalUsageReader
from ias_serve.analytics.sql_http import ReadOnlyQueries, SqlHttpServer
from ias_serve.analytics.store import UsageStore
from ias_serve.cache import make_redis
from ias_serve.cache.budget_reconcile import BudgetReconciler
from ias_serve.errors import ConfigurationError
from ias_serve.observability import setup_observability
from ias_serve.observability.metrics import start_metrics_server
from ias_serve.queue.consumer import ConsumerSettings, UsageConsumer
from ias_serve.services.usage_metrics import RecorderMetrics
from ias_serve.services.usage_recorder import RecorderConfig, UsageRecorderService
from ias_serve.settings import Settings, get_settings
from ias_serve.stack.state import clickhouse_dsn

log = logging.getLogger(__name__)


class UsageArgs(AppArgs):
    """`args:` of the usage app in serve_config.yaml."""

    batch_size: int = Field(default=5000, ge=1, le=100_000, description="Max events per insert.")
    max_wait_s: float = Field(default=1.0, gt=0, le=60, description="Max wait to fill a batch.")
    reconcile_interval_s: float = Field(
        default=300.0, ge=0, description="Budget reconciliation period (0: start-up and on demand only)."
    )
    ack_wait_s: float = Field(
        default=60.0, ge=1, le=3600, description="How long JetStream waits for an ack before redelivering."
    )
    metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Prometheus port of the recorder's metrics (0: off)."
    )
    sql_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of the read-only ClickHouse HTTP interface on 127.0.0.1, with embedded "
        "chDB only (0: off; ignored with a ClickHouse server, which has its own). "
        "IAS_CLICKHOUSE_SQL_PORT overrides it.",
    )


@serve.deployment(name="UsageRecorder", num_replicas=1, max_ongoing_requests=64)
class UsageRecorder:
    # Serve runs an async constructor on the replica's user event loop, where the methods run
    async def __init__(self, args: UsageArgs, settings: Settings | None = None) -> None:  # type: ignore[misc]
        settings = settings or get_settings()
        setup_observability("usage", settings.log_level)
        if not settings.nats_url:
            raise ConfigurationError("the usage recorder needs IAS_NATS_URL")
        dsn = clickhouse_dsn(settings)
        metrics = RecorderMetrics()
        if args.metrics_port:  # e.g. two stacks on one machine: record without the endpoint
            start_metrics_server(args.metrics_port, "recorder", metrics.registry)
        self.recorder = UsageRecorderService(
            consumer=UsageConsumer(
                settings.nats_url,
                ConsumerSettings(
                    stream=settings.usage_stream, subject=settings.usage_subject, ack_wait_s=args.ack_wait_s
                ),
            ),
            store=UsageStore(dsn),
            reconciler=BudgetReconciler(make_redis(settings.redis_url)) if settings.redis_url else None,
            metrics=metrics,
            config=RecorderConfig(
                batch_size=args.batch_size,
                max_wait_s=args.max_wait_s,
                reconcile_interval_s=args.reconcile_interval_s,
            ),
        )
        # analytics reads in the embedded mode (an http DSN: analytics replicas connect directly)
        self.reader = LocalUsageReader(dsn) if dsn.startswith("chdb://") else None
        self.sql: SqlHttpServer | None = None
        sql_port = settings.clickhouse_sql_port if settings.clickhouse_sql_port is not None else args.sql_port
        if sql_port and self.reader is not None:
            try:
                queries = ReadOnlyQueries(lambda: get_client(dsn))
                self.sql = SqlHttpServer(queries, port=sql_port).start()
                log.info("read-only ClickHouse HTTP interface on http://127.0.0.1:%d", sql_port)
            except OSError as e:
                log.warning("ClickHouse SQL port %d unavailable (%s)", sql_port, e)
        await self.recorder.start()  # returns at once: NATS and ClickHouse may still be away

    async def check_health(self) -> None:
        if not self.recorder.running:
            raise RuntimeError("the usage recorder's loops stopped")

    async def read(self, query: str, **params: Any) -> Any:
        if self.reader is None:
            raise ConfigurationError("ClickHouse is a server: analytics replicas query it directly")
        return await self.reader.read(query, **params)

    async def reconcile(self) -> dict[str, Any]:
        r = await self.recorder.reconcile()
        return {"period": r.period, "orgs": r.orgs, "raised": {str(k): list(v) for k, v in r.raised.items()}}

    async def status(self) -> dict[str, Any]:
        return self.recorder.status()

    async def __del__(self) -> None:  # Serve calls it on graceful shutdown
        await self.recorder.stop()
        if self.sql is not None:
            self.sql.stop()
        if self.reader is not None:
            self.reader.close()


def build_app(args: dict[str, Any]) -> Application:
    return UsageRecorder.bind(parse_args(UsageArgs, args, "usage"))
