"""ClickHouse client factory: one code path for embedded chDB and a ClickHouse server.

``get_client("chdb:///abs/dir")`` opens the in-process chDB engine (clickhouse-connect's chDB
backend); ``get_client("http://user:pw@host:8123/ias")`` talks to a server over HTTP. Both
return a ``clickhouse_connect`` ``Client`` bound to the IAS database (``ias`` unless the DSN
names another one), created when missing, so every query text is identical on both.

chDB facts (clickhouse-connect 1.12 + chdb-core 26.9, checked here):

* one engine per process, one data directory per engine; another process on the same
  directory fails with "Cannot lock file …/status";
* within a process, any number of clients may share that engine: each owns its own
  connection handle (USE/SET state is per client) and sees the others' writes; closing one
  leaves the others working. So no client cache is needed: call ``get_client`` per user;
* while a client is open, opening a *different* directory in the same process raises
  ``ProgrammingError`` ("EmbeddedServer already initialized with path …"); once all are
  closed another directory can be opened.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from ias_serve.errors import ConfigurationError

DEFAULT_DATABASE: Final = "ias"
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def database_of(dsn: str) -> str:
    """The IAS database a DSN designates.

    ``chdb:///dir`` → ``ias`` (or ``?database=name``); ``http(s)://…/name`` → ``name``
    (``ias`` without a path).
    """
    parts = urlsplit(dsn)
    if parts.scheme == "chdb":
        name = dict(parse_qsl(parts.query)).get("database") or DEFAULT_DATABASE
    elif parts.scheme in ("http", "https"):
        name = unquote(parts.path.strip("/").split("/")[0]) or DEFAULT_DATABASE
    else:
        raise ConfigurationError("ClickHouse DSN must start with chdb://, http:// or https://")
    if not _DB_NAME.match(name):
        raise ConfigurationError(f"invalid ClickHouse database name {name!r}")
    return name


def _chdb_path(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.netloc or not parts.path.startswith("/"):
        raise ConfigurationError("a chDB DSN is chdb:///absolute/directory")
    return unquote(parts.path)


def get_client(dsn: str) -> Client:
    """A client bound to the IAS database of ``dsn``, which is created if missing.

    The caller owns the client (``client.close()``). Credentials in the DSN are never logged.
    Creating the database needs the CREATE DATABASE grant only when it does not exist yet.
    """
    database = database_of(dsn)
    parts = urlsplit(dsn)
    if parts.scheme == "chdb":
        client = clickhouse_connect.get_client(interface="chdb", path=_chdb_path(dsn))
    else:
        # Connect without a database first: the named one may not exist yet.
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "database"])
        bare = urlunsplit((parts.scheme, parts.netloc, "", query, ""))
        client = clickhouse_connect.get_client(dsn=bare)
    try:
        # look first: a read-only user (analytics) may lack the CREATE DATABASE grant
        exists = client.query(
            "SELECT count() FROM system.databases WHERE name = {db:String}", parameters={"db": database}
        ).result_rows[0][0]
        if not exists:
            client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    except Exception:
        client.close()
        raise
    client.database = database
    return client
