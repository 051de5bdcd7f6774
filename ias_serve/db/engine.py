"""Async engine and session factory, and DSN normalisation.

Accepted DSNs: ``postgresql://``, ``postgres://``, ``postgresql+asyncpg://``,
``postgresql+psycopg://`` (and ``+psycopg2``), TCP or unix socket (``?host=/socket/dir``).
libpq's ``sslmode`` and asyncpg's ``ssl`` query options are translated for each driver.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from ias_serve.errors import ConfigurationError

_PG_SCHEMES = {"postgresql", "postgres"}
_PG_DRIVERS = {"", "asyncpg", "psycopg", "psycopg2", "psycopg_async", "pg8000"}


def _parse(url: str | URL) -> URL:
    if isinstance(url, URL):
        u = url
    else:
        raw = url.strip()
        if raw.startswith("postgres://"):
            raw = "postgresql://" + raw[len("postgres://") :]
        try:
            u = make_url(raw)
        except Exception as exc:  # sqlalchemy.exc.ArgumentError and friends
            raise ConfigurationError(f"not a database URL: {exc}") from None
    backend, _, driver = u.drivername.partition("+")
    if backend not in _PG_SCHEMES or driver not in _PG_DRIVERS:
        raise ConfigurationError(f"not a PostgreSQL URL: {u.render_as_string(hide_password=True)}")
    return u


def async_url(url: str | URL) -> URL:
    """The DSN for SQLAlchemy + asyncpg (``postgresql+asyncpg://``)."""
    u = _parse(url).set(drivername="postgresql+asyncpg")
    query = dict(u.query)
    if "sslmode" in query:  # libpq spelling → asyncpg's
        query["ssl"] = query.pop("sslmode")
    return u.set(query=query)


def sync_url(url: str | URL) -> URL:
    """The DSN for SQLAlchemy + psycopg 3 (``postgresql+psycopg://``), used by Alembic."""
    u = _parse(url).set(drivername="postgresql+psycopg")
    query = dict(u.query)
    if "ssl" in query:  # asyncpg spelling → libpq's
        query["sslmode"] = query.pop("ssl")
    return u.set(query=query)


def libpq_dsn(url: str | URL) -> str:
    """A plain ``postgresql://`` DSN for psycopg/libpq (``psycopg.connect``)."""
    return sync_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_dumps(value: Any) -> str:
    """JSON encoder of the engine (JSONB columns): UUIDs, decimals, dates are accepted."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An async engine (asyncpg) for ``url``. ``kwargs`` go to ``create_async_engine``.

    Defaults: ``pool_pre_ping=True`` (survive a database restart), ``pool_size=5``,
    ``max_overflow=10``. Dispose it (``await engine.dispose()``) when done.
    """
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": 5,
        "max_overflow": 10,
        "json_serializer": json_dumps,
    }
    options.update(kwargs)
    return create_async_engine(async_url(url), **options)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory: ``async with sm() as s, s.begin(): ...``.

    ``expire_on_commit=False``: rows stay readable after commit without a lazy load (which
    would need I/O and fails under asyncio).
    """
    return async_sessionmaker(engine, expire_on_commit=False)
