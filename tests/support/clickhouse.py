"""ClickHouse databases of a test's own inside the session's ClickHouse (chDB: one process per
directory, so tests separate by database, not by directory)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from ias_serve.analytics import apply_schema, get_client


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name`` (``?database=`` for chDB, the path for a server)."""
    parts = urlsplit(dsn)
    if parts.scheme == "chdb":
        return urlunsplit((parts.scheme, parts.netloc, parts.path, f"database={name}", ""))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@contextmanager
def own_database(clickhouse_dsn: str, prefix: str, *, migrate: bool = True) -> Iterator[str]:
    """A fresh database (migrated unless ``migrate=False``), dropped afterwards; yields its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    dsn = with_database(clickhouse_dsn, name)
    if migrate:
        client = get_client(dsn)
        try:
            apply_schema(client)
        finally:
            client.close()
    try:
        yield dsn
    finally:
        client = get_client(dsn)
        try:
            client.command(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            client.close()
