"""Fixtures shared by the component tests (on top of tests/conftest.py's services)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.cache.redis import make_redis
from ias_serve.db.engine import make_engine, make_sessionmaker
from tests.component.cli_support import Cli, Server, ch_database, running_server
from tests.component.mgmt_harness import Api, management_api
from tests.support.services import OwnValkey

SM = async_sessionmaker[AsyncSession]
_EXIT_STATUS = pytest.StashKey[int]()


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[OwnValkey]:
    v = OwnValkey(tmp_path)
    v.start()
    try:
        yield v
    finally:
        v.stop()


@pytest.fixture
async def sm(database_url: str) -> AsyncIterator[SM]:
    engine = make_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = make_redis(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


@pytest.fixture
async def names(js: JetStreamContext) -> AsyncIterator[Callable[[], tuple[str, str]]]:
    """Factory of a stream and subject of the test's own on the shared NATS (deleted after)."""
    made: list[str] = []

    def make() -> tuple[str, str]:
        tag = uuid.uuid4().hex[:10]
        made.append(f"USAGE_{tag}")
        return made[-1], f"usage.v1.{tag}"

    yield make
    for stream in made:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, clickhouse_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The apps the `ias-admin` tests of one module talk to (test_cli_*.py), with a ClickHouse
    database of their own; a module may define its own ``server`` instead."""
    with ch_database(clickhouse_dsn) as dsn:
        with running_server(database_url, redis_url, dsn, tmp_path_factory.mktemp("home")) as s:
            yield s


@pytest.fixture(scope="module")
def root(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """`ias-admin` logged in as the server's bootstrapped System Admin."""
    cli = Cli(tmp_path_factory.mktemp("root"), server.url)
    cli.login(server.admin_email, server.admin_password)
    return cli


@pytest.fixture
async def api(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The management app of one test (tests/component/mgmt_harness.py)."""
    async with management_api(database_url, redis_url, tmp_path) as a:
        yield a


# --- process exit ---------------------------------------------------------------------------
# Once every test has run and every session fixture is torn down (servers stopped, Ray shut
# down), the process ends with pytest's exit status without running CPython's finalisation.
# Seen in a full run here: all 459 tests passed, then the interpreter crashed with SIGSEGV
# while native extensions loaded by the engine tests (vLLM's torch/triton, which also report
# nanobind leaks at that moment) were torn down, turning a green run into exit code 139.


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    status = config.stash.get(_EXIT_STATUS, None)
    if status is None:
        return
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
