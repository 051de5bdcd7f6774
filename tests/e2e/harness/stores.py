"""The real databases, read directly (never through the APIs under test).

* :class:`Postgres`: ``IAS_E2E_DATABASE_URL`` (a read-only user is enough), with psycopg.
* :class:`ClickHouse`: ``IAS_E2E_CLICKHOUSE_URL``, ClickHouse's own HTTP interface
  (``http(s)://user:password@host:8123/database``). Against ``ias up`` this is the usage
  recorder's read-only interface over the embedded chDB (:mod:`ias_serve.analytics.sql_http`),
  which answers the same requests. Hand-written on httpx rather than clickhouse-connect: that
  client needs much more of the server than a query (settings, native formats), and these few
  lines keep every request readable in the failure report.

Every lookup is recorded in the test's :class:`~tests.e2e.harness.trace.Trace`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
import psycopg
from psycopg.rows import dict_row

from tests.e2e.harness.trace import Trace


class Postgres:
    def __init__(self, url: str, trace: Trace) -> None:
        self.url = url
        self.trace = trace

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with psycopg.connect(self.url, autocommit=True, row_factory=dict_row) as conn:
            found = list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]
        self.trace.lookup("PostgreSQL", sql, params, found)
        return found

    def count(self, sql: str, **params: Any) -> int:
        return int(next(iter(self.rows(sql, **params)[0].values())))


class ClickHouse:
    def __init__(self, url: str, trace: Trace) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("IAS_E2E_CLICKHOUSE_URL must be http(s)://[user:password@]host:port/database")
        self.database = unquote(parts.path.strip("/")) or "ias"
        self.base = urlunsplit((parts.scheme, f"{parts.hostname}:{parts.port or 8123}", "/", "", ""))
        auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        self.http = httpx.Client(base_url=self.base, auth=auth, timeout=30)
        self.trace = trace

    def close(self) -> None:
        self.http.close()

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """``sql`` (with ``{name:Type}`` placeholders) as JSON rows."""
        found = self._query(sql, params)
        self.trace.lookup("ClickHouse", sql, params, found)
        return found

    def _query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        query = {"database": self.database, **{f"param_{k}": str(v) for k, v in params.items()}}
        r = self.http.post("/", params=query, content=f"{sql} FORMAT JSON".encode())
        if r.status_code != 200:
            self.trace.lookup("ClickHouse (error)", sql, params, [{"status": r.status_code, "body": r.text}])
            raise AssertionError(f"ClickHouse answered {r.status_code}: {r.text.strip()[:500]}")
        return list(r.json()["data"])

    def wait_for(
        self,
        sql: str,
        done: Callable[[list[dict[str, Any]]], bool],
        *,
        timeout: float = 10.0,
        what: str = "rows",
        **params: Any,
    ) -> tuple[list[dict[str, Any]], float]:
        """Poll until ``done(rows)``; returns the rows and the seconds it took. Fails with the
        last rows seen after ``timeout`` seconds."""
        started, polls = time.monotonic(), 0
        while True:
            found, polls = self._query(sql, params), polls + 1
            waited = time.monotonic() - started
            if done(found) or waited > timeout:
                self.trace.lookup(f"ClickHouse ({polls} polls, {waited:.2f} s)", sql, params, found)
            if done(found):
                return found, waited
            if waited > timeout:
                raise AssertionError(
                    f"ClickHouse: {what} not there within {timeout:.0f} s; last seen {found}"
                )
            time.sleep(0.1)
