"""Helpers of the `ias-admin` component tests (this module holds no tests).

The server is the real thing over real HTTP: the management app (built by
``build_management`` like the deployment) mounted at ``/api`` and the analytics app at
``/analytics`` in one Starlette root, on uvicorn in a thread, against the session's PostgreSQL,
Valkey and chDB (a ClickHouse database of its own). The first System Admin comes from the same
bootstrap ``ias up`` runs. The CLI runs through typer's ``CliRunner``, each person with a
config directory of their own (``XDG_CONFIG_HOME``), as on their own machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import Mount
from typer.testing import CliRunner, Result

from cli.main import app as cli_app
from ias_serve.analytics.reader import LocalUsageReader
from ias_serve.api.apps import create_analytics_app, create_management_app
from ias_serve.db.bootstrap import ensure_default_models, ensure_system_admin
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.services.analytics import AnalyticsService
from ias_serve.services.management.factory import build_management
from ias_serve.services.sessions import SessionAuthenticator
from ias_serve.settings import Settings
from ias_serve.stack.embedded import free_port
from tests.component.gateway_harness import serve_in_thread
from tests.support.clickhouse import own_database

PASSWORD = "correct horse battery staple"


@dataclass
class Server:
    url: str
    settings: Settings
    admin_email: str
    admin_password: str
    ch_dsn: str


@contextmanager
def ch_database(clickhouse_dsn: str) -> Iterator[str]:
    """A migrated ClickHouse database of the module's own (dropped after)."""
    with own_database(clickhouse_dsn, "ias_cli") as dsn:
        yield dsn


def root_app(settings: Settings, ch_dsn: str) -> Starlette:
    """`/api` + `/analytics` as Serve routes them, each app's lifespan run by the root's."""
    assert settings.database_url
    ctx, sessions, close = build_management(settings, registry=CollectorRegistry())
    management = create_management_app(management=ctx, sessions=sessions, registry=CollectorRegistry())
    engine = make_engine(settings.database_url)
    sm = make_sessionmaker(engine)
    reader = LocalUsageReader(ch_dsn)
    analytics = create_analytics_app(
        analytics=AnalyticsService(reader, sm, closers=[reader.close, engine.dispose]),
        sessions=SessionAuthenticator(sm),
        registry=CollectorRegistry(),
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            async with (
                management.router.lifespan_context(management),
                analytics.router.lifespan_context(analytics),
            ):
                yield
        finally:
            await close()

    return Starlette(
        routes=[Mount("/api", app=management), Mount("/analytics", app=analytics)], lifespan=lifespan
    )


def bootstrap(database_url: str) -> tuple[str, str]:
    """What `ias up` does on the first run: the first System Admin and the shipped models."""
    email, password = f"root-{uuid.uuid4().hex[:8]}@example.com", f"root passphrase {uuid.uuid4().hex[:8]}"

    async def run() -> None:
        engine = make_engine(database_url)
        try:
            sm = make_sessionmaker(engine)
            assert await ensure_system_admin(sm, email, password) is True
            await ensure_default_models(sm)
        finally:
            await engine.dispose()

    asyncio.run(run())
    return email, password


@contextmanager
def running_server(
    database_url: str, redis_url: str, ch_dsn: str, home: Path, **overrides: Any
) -> Iterator[Server]:
    """The server on a free port; invite links point at it (portal and API on one ingress, as
    `ias up` serves them)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        **{
            "database_url": database_url,
            "redis_url": redis_url,
            "home": home,
            "portal_url": url,
            "login_max_per_address": 100_000,  # every CLI call comes from 127.0.0.1
            **overrides,
        }
    )
    email, password = bootstrap(database_url)
    with serve_in_thread(root_app(settings, ch_dsn), port):
        yield Server(url, settings, email, password, ch_dsn)


# --- the CLI --------------------------------------------------------------------------------------

CLEAN_ENV = {"IAS_URL": None, "IAS_TOKEN": None, "IAS_PROFILE": None, "IAS_ORG": None, "COLUMNS": "200"}


class Cli:
    """`ias-admin` as one person runs it: their own config directory (their machine)."""

    def __init__(self, config_home: Path, url: str | None = None) -> None:
        self.config_home = config_home
        self.url = url
        config_home.mkdir(parents=True, exist_ok=True)
        self.runner = CliRunner()

    @property
    def credentials(self) -> Path:
        return self.config_home / "ias" / "credentials"

    def run(self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
        full_env = {**CLEAN_ENV, "XDG_CONFIG_HOME": str(self.config_home), **(env or {})}
        result = self.runner.invoke(cli_app, list(args), input=input, env=full_env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(
                f"ias-admin {' '.join(args)} raised {result.exception!r}"
            ) from result.exception
        return result

    def ok(self, *args: str, **kw: Any) -> Result:
        r = self.run(*args, **kw)
        assert r.exit_code == 0, (args, r.exit_code, r.stdout, r.stderr)
        return r

    def json(self, *args: str, **kw: Any) -> Any:
        r = self.ok(*args, "--json", **kw)
        return json.loads(r.stdout)

    def fails(self, exit_code: int, *args: str, code: str | None = None, **kw: Any) -> Result:
        """Runs, expects ``exit_code`` and (``code``) the line ``error: <code>: …`` on stderr."""
        r = self.run(*args, **kw)
        assert r.exit_code == exit_code, (args, r.exit_code, r.stdout, r.stderr)
        if code is not None:
            assert f"error: {code}: " in r.stderr, r.stderr
        return r

    def login(self, email: str, password: str, *extra: str) -> Result:
        assert self.url is not None
        return self.ok(
            "login", "--url", self.url, "--email", email, "--password-stdin", *extra, input=password + "\n"
        )


def file_mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def tag() -> str:
    """A short random suffix for names that must not collide between tests."""
    return uuid.uuid4().hex[:6]


def invited(server: Server, root: Cli, org: str, role: str, home: Path) -> Cli:
    """Someone invited into ``org`` by the System Admin (``root``) who accepted through the CLI."""
    email = f"p-{tag()}@example.com"
    link = root.json("user", "invite", email, "--org", org, "--role", role)["link"]
    cli = Cli(home, server.url)
    cli.ok("invite", "accept", link, "--url", server.url, "--name", "P", "--password-stdin", input=PASSWORD)
    return cli
