"""The analytics Serve app module without a Ray cluster: which reader each DSN gets, the
app built from the ingress, the handle reader's allow-list."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployments.analytics import HandleUsageReader, build_analytics_service, build_app
from ias_serve.analytics.reader import LocalUsageReader
from ias_serve.settings import Settings


async def test_reader_per_dsn(tmp_path: Path, database_url: str) -> None:
    assert build_analytics_service(Settings(home=tmp_path)) is None  # no database: routes say 503
    # no IAS_CLICKHOUSE_URL: the embedded default of `ias up`, a chDB directory under IAS_HOME
    embedded = build_analytics_service(Settings(home=tmp_path, database_url=database_url))
    server = build_analytics_service(
        Settings(home=tmp_path, database_url=database_url, clickhouse_url="http://127.0.0.1:9/ias")
    )
    assert embedded is not None and server is not None
    try:
        assert isinstance(embedded[0]._reader, HandleUsageReader)  # never opens chDB itself
        assert isinstance(server[0]._reader, LocalUsageReader)
    finally:
        await embedded[0].aclose()
        await server[0].aclose()


async def test_handle_reader_refuses_unknown_queries_before_any_call() -> None:
    with pytest.raises(ValueError, match="unknown usage query"):
        await HandleUsageReader().read("drop_everything")


def test_build_app_validates_args() -> None:
    from ray.serve import Application

    assert isinstance(build_app({}), Application)
