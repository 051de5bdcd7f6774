"""Alembic environment of IAS (sync, psycopg 3).

Connection, in order: ``config.attributes["connection"]`` (set by
:mod:`ias_serve.db.migrate`, which also holds the transaction and an advisory lock),
``-x url=…``, ``sqlalchemy.url`` of the ini file, ``IAS_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from ias_serve.db.engine import sync_url
from ias_serve.db.models import Base
from ias_serve.errors import ConfigurationError

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from ias_serve.settings import get_settings

        url = get_settings().database_url
    if not url:
        raise ConfigurationError("no database URL: set IAS_DATABASE_URL or pass -x url=postgresql://…")
    return sync_url(url).render_as_string(hide_password=False)


def _configure(**kwargs: object) -> None:
    context.configure(target_metadata=target_metadata, compare_type=True, **kwargs)  # type: ignore[arg-type]


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
