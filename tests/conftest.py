"""Session-wide real services for the test suite. Never mocks.

Each store is started on a free 127.0.0.1 port from the same wheels `ias up` uses
(`ias_serve.stack.embedded`), unless `IAS_TEST_<STORE>_URL` points at one already running:
IAS_TEST_DATABASE_URL (an admin DSN of a PostgreSQL server: the tests create and drop their
own databases on it), IAS_TEST_REDIS_URL, IAS_TEST_NATS_URL, IAS_TEST_CLICKHOUSE_URL.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ias_serve.stack.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedValkey,
    Started,
    create_database,
    free_port,
    stop_pid,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _start(cls, base: Path, **kw) -> Started:
    return cls(base / cls.name, free_port(), base / f"{cls.name}.log", **kw).start()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A 127.0.0.1 port where every connect is refused for the whole test.

    The port is held bound without listening: a port that is merely free when chosen (and
    these lie in the ephemeral range) can be taken by a listener of another process (a Ray
    worker, an embedded server) while the test runs, and a client would then wait on that
    stranger instead of being refused.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def pg_admin_url(services_dir: Path) -> Iterator[str]:
    """DSN of the `postgres` database of a real PostgreSQL server (superuser)."""
    for url in _given_or_embedded("IAS_TEST_DATABASE_URL", EmbeddedPostgres, services_dir):
        yield url if os.environ.get("IAS_TEST_DATABASE_URL") else _db_url(url, "postgres")


def _db_url(admin_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def fresh_database(pg_admin_url: str):
    """Factory: a new empty database on the test server; all are dropped at session end."""
    created: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}".lower()
        create_database(pg_admin_url, name)
        created.append(name)
        return _db_url(pg_admin_url, name)

    yield make
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def database_url(fresh_database) -> str:
    """A migrated (`alembic upgrade head`) database of its own for each test module."""
    from ias_serve.db.migrate import upgrade_head

    url = fresh_database("m")
    upgrade_head(url)
    return url


def _given_or_embedded(env_var: str, cls, services_dir: Path, **kw) -> Iterator[str]:
    if url := os.environ.get(env_var):
        yield url
        return
    srv = _start(cls, services_dir, **kw)
    try:
        yield srv.url
    finally:
        stop_pid(srv.pid, sig=cls.stop_signal)


@pytest.fixture(scope="session")
def redis_url(services_dir: Path) -> Iterator[str]:
    yield from _given_or_embedded("IAS_TEST_REDIS_URL", EmbeddedValkey, services_dir, persist=False)


@pytest.fixture(scope="session")
def nats_url(services_dir: Path) -> Iterator[str]:
    yield from _given_or_embedded("IAS_TEST_NATS_URL", EmbeddedNats, services_dir)


@pytest.fixture(scope="session")
def clickhouse_dsn(services_dir: Path) -> str:
    """`chdb:///dir` (in-process ClickHouse; one process per directory) or a server DSN."""
    if url := os.environ.get("IAS_TEST_CLICKHOUSE_URL"):
        return url
    d = services_dir / "chdb"
    d.mkdir()
    return f"chdb://{d}"


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One local Ray instance for every test marked `ray` (8 logical CPUs on 2 cores)."""
    import ray

    ray.init(
        address="local",
        num_cpus=8,
        include_dashboard=False,
        object_store_memory=256 * 1024 * 1024,
        log_to_driver=False,
        namespace="ias-tests",
    )
    try:
        yield
    finally:
        from ray import serve

        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="session")
def serve_url(ray_cluster: None) -> str:
    """Serve's HTTP proxy on a free port, started once for the session's Ray instance."""
    from ray import serve

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def local_models() -> Path:
    """The `ias-models://` models the shipped serve_config.yaml names, made ready once (in
    IAS_MODELS_DIR; the conversion runs only where they are not there yet)."""
    from ias_serve.serve_config import gateway_args
    from ias_serve.settings import Settings
    from ias_serve.stack.models import local_names, prepare

    models_dir = Settings().models_dir
    config = Path(__file__).resolve().parents[1] / "serve_config.yaml"
    prepare(local_names(gateway_args(config).model_sources()), models_dir, print)
    return models_dir
