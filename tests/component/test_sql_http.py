"""The read-only ClickHouse HTTP interface over the embedded chDB (what the E2E harness and an
operator use to query ClickHouse directly under `ias up`), on the session's real chDB, through
the harness's own ClickHouse client — the one it uses against a ClickHouse server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from ias_serve.analytics import get_client
from ias_serve.analytics.sql_http import ReadOnlyQueries, SqlHttpServer
from tests.e2e.harness.stores import ClickHouse
from tests.e2e.harness.trace import Trace
from tests.support.clickhouse import own_database


@pytest.fixture
def served(clickhouse_dsn: str) -> Iterator[tuple[str, str]]:
    with own_database(clickhouse_dsn, "sqlhttp", migrate=False) as dsn:
        setup = get_client(dsn)
        setup.command("CREATE TABLE t (id UUID, name String, n UInt32) ENGINE = MergeTree ORDER BY id")
        setup.command(
            "INSERT INTO t VALUES ('6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b', 'a', 1), "
            "('0b9e7c1e-4a5f-4c1a-9d0e-5f1b2a3c4d5e', 'b', 2)"
        )
        server = SqlHttpServer(ReadOnlyQueries(lambda: get_client(dsn))).start()
        try:
            yield f"http://127.0.0.1:{server.port}", setup.database
        finally:
            server.stop()
            setup.close()


def test_queries_with_typed_parameters_through_the_harness_client(served: tuple[str, str]) -> None:
    url, database = served
    trace = Trace()
    ch = ClickHouse(f"{url}/{database}", trace)
    try:
        rows = ch.rows(
            "SELECT name, n FROM t WHERE id = {id:UUID}", id="6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b"
        )
        assert rows == [{"name": "a", "n": 1}]
        # (a ClickHouse server quotes 64-bit integers in JSON, chDB does not: callers use int())
        assert [int(r["c"]) for r in ch.rows("SELECT count() AS c FROM t WHERE n > {n:UInt32}", n=0)] == [2]
        assert "SELECT name, n FROM t" in trace.render() and '"name": "a"' in trace.render()
        with pytest.raises(AssertionError, match="ClickHouse answered 400"):
            ch.rows("SELECT nope FROM t")
    finally:
        ch.close()


def test_clickhouse_http_conventions(served: tuple[str, str]) -> None:
    url, database = served
    assert httpx.get(f"{url}/ping").text == "Ok.\n"
    # ?query=, a POST body, default_format when the query names none, TabSeparated otherwise
    r = httpx.get(url, params={"query": "SELECT name FROM t ORDER BY n", "database": database})
    assert r.status_code == 200 and r.text == "a\nb\n"
    r = httpx.post(url, params={"default_format": "JSONEachRow"}, content=b"SELECT n FROM t ORDER BY n")
    assert r.text == '{"n":1}\n{"n":2}\n'
    r = httpx.post(
        url, params={"default_format": "JSONEachRow"}, content=b"SELECT n FROM t ORDER BY n FORMAT CSV"
    )
    assert r.text == "1\n2\n"
    # errors in ClickHouse's words, with its code in a header
    r = httpx.post(url, content=b"SELECT nope FROM t")
    assert r.status_code == 400 and "Code: 47" in r.text and r.headers["x-clickhouse-exception-code"] == "47"
    r = httpx.get(url, params={"query": "SELECT 1", "database": f"other_{uuid.uuid4().hex[:6]}"})
    assert r.status_code == 400 and r.headers["x-clickhouse-exception-code"] == "81"
    assert httpx.get(url).status_code == 400  # no query
    assert httpx.get(f"{url}/play").status_code == 404


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES ('9a9e7c1e-4a5f-4c1a-9d0e-5f1b2a3c4d5e', 'c', 3)",
        "ALTER TABLE t DELETE WHERE n = 1",
        "DROP TABLE t",
        "CREATE TABLE u (x UInt8) ENGINE = Memory",
        "SET readonly = 0",
    ],
)
def test_nothing_can_be_written(served: tuple[str, str], sql: str) -> None:
    url, _ = served
    r = httpx.post(url, content=sql.encode())
    assert r.status_code == 400 and r.headers["x-clickhouse-exception-code"] == "164", r.text  # READONLY
    assert httpx.get(url, params={"query": "SELECT count() FROM t"}).text == "2\n"
