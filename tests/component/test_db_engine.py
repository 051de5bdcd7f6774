"""DSN normalisation and the async engine."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from ias_serve.db.engine import async_url, json_dumps, libpq_dsn, make_engine, make_sessionmaker, sync_url
from ias_serve.db.migrate import head_revision
from ias_serve.errors import ConfigurationError


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u:p@h:5432/db",
        "postgres://u:p@h:5432/db",
        "postgresql+asyncpg://u:p@h:5432/db",
        "postgresql+psycopg://u:p@h:5432/db",
        "postgresql+psycopg2://u:p@h:5432/db",
    ],
)
def test_normalise_drivers(dsn: str) -> None:
    a, s = async_url(dsn), sync_url(dsn)
    assert a.drivername == "postgresql+asyncpg"
    assert s.drivername == "postgresql+psycopg"
    for u in (a, s):
        assert (u.username, u.password, u.host, u.port, u.database) == ("u", "p", "h", 5432, "db")
    assert libpq_dsn(dsn) == "postgresql://u:p@h:5432/db"


def test_unix_socket_and_ssl_options() -> None:
    sock = "postgresql://postgres:@/postgres?host=/tmp/pg"
    assert async_url(sock).query == {"host": "/tmp/pg"}
    assert sync_url(sock).query == {"host": "/tmp/pg"}
    assert async_url("postgresql://h/db?sslmode=require").query == {"ssl": "require"}
    assert sync_url("postgresql+asyncpg://h/db?ssl=require").query == {"sslmode": "require"}


@pytest.mark.parametrize("dsn", ["mysql://h/db", "sqlite:///x.db", "postgresql+weird://h/db", "::nope::"])
def test_rejects_other_databases(dsn: str) -> None:
    with pytest.raises(ConfigurationError):
        async_url(dsn)


def test_json_dumps_handles_uuid_decimal_sets() -> None:
    u = uuid.UUID(int=1)
    assert json_dumps({"u": u, "d": Decimal("1.5"), "s": {"b", "a"}}) == (
        '{"u":"00000000-0000-0000-0000-000000000001","d":"1.5","s":["a","b"]}'
    )
    with pytest.raises(TypeError):
        json_dumps({"x": object()})


async def test_engine_connects_with_plain_dsn(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        sm = make_sessionmaker(engine)
        async with sm() as session:
            assert await session.scalar(text("SELECT 1")) == 1
            version = await session.scalar(text("SELECT version_num FROM alembic_version"))
            assert version == head_revision()
    finally:
        await engine.dispose()
