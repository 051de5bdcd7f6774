"""`analytics` Serve app (`/analytics`): the usage dashboards API.

Where the usage data is read depends on the ClickHouse DSN (ARCHITECTURE §2):

* ``http(s)://…`` (a ClickHouse server): this replica reads it itself
  (:class:`~ias_serve.analytics.reader.LocalUsageReader`);
* ``chdb:///dir`` (embedded): chDB allows one process per data directory and the
  ``UsageRecorder`` of the ``usage`` app owns it, so this replica must not open it: every read
  goes to the recorder's ``read`` method through a Serve handle (:class:`HandleUsageReader`).

Without ``IAS_DATABASE_URL`` (no sessions to authenticate against) the dashboard routes answer
503 and health/metrics still work.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application
from ray.serve.handle import DeploymentHandle

from deployments.common import AppArgs, parse_args
from ias_serve.analytics.reader import AsyncUsageReader, LocalUsageReader, check_query
from ias_serve.api.apps import create_analytics_app
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.observability import setup_observability
from ias_serve.services.analytics import AnalyticsService
from ias_serve.services.sessions import SessionAuthenticator
from ias_serve.settings import Settings, get_settings
from ias_serve.stack.state import clickhouse_dsn

log = logging.getLogger(__name__)

USAGE_APP = "usage"
RECORDER = "UsageRecorder"


class AnalyticsArgs(AppArgs):
    """`args:` of the analytics app in serve_config.yaml."""


class HandleUsageReader:
    """:class:`AsyncUsageReader` through the recorder: ``UsageRecorder.read(query, **params)``
    of the ``usage`` app, which runs the query on the chDB directory it owns. The handle is
    looked up on first use (the usage app may be deployed after this one)."""

    def __init__(self, app_name: str = USAGE_APP, deployment: str = RECORDER) -> None:
        self._app_name = app_name
        self._deployment = deployment
        self._handle: DeploymentHandle | None = None

    async def read(self, query: str, /, **params: Any) -> Any:
        check_query(query)
        if self._handle is None:
            self._handle = serve.get_deployment_handle(self._deployment, app_name=self._app_name)
        return await self._handle.read.remote(query, **params)


def build_analytics_service(settings: Settings) -> tuple[AnalyticsService, SessionAuthenticator] | None:
    """The service and the session authenticator this replica serves with; ``None`` without a
    database (no sessions to check)."""
    if not settings.database_url:
        log.warning("IAS_DATABASE_URL is not set: the analytics routes answer 503")
        return None
    dsn = clickhouse_dsn(settings)
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=4)
    sessionmaker = make_sessionmaker(engine)
    reader: AsyncUsageReader
    closers: list[Any] = [engine.dispose]
    if dsn.startswith("chdb://"):
        reader = HandleUsageReader()
    else:
        local = LocalUsageReader(dsn)
        reader = local
        closers.insert(0, local.close)
    return AnalyticsService(reader, sessionmaker, closers=closers), SessionAuthenticator(sessionmaker)


@serve.deployment(name="AnalyticsIngress")
@serve.ingress()
class AnalyticsIngress:
    def __init__(self, args: AnalyticsArgs, settings: Settings | None = None) -> None:
        settings = settings or get_settings()  # explicit settings: tests; production reads IAS_*
        setup_observability("analytics", settings.log_level)
        self.args = args
        self.built = build_analytics_service(settings)

    def __serve_build_asgi_app__(self) -> FastAPI:
        # built after __init__, on the replica: the app's lifespan closes the service
        service, sessions = self.built if self.built is not None else (None, None)
        return create_analytics_app(analytics=service, sessions=sessions, behind_serve=True)


def build_app(args: dict[str, Any]) -> Application:
    return AnalyticsIngress.bind(parse_args(AnalyticsArgs, args, "analytics"))
