"""A read-only ClickHouse HTTP interface over the embedded chDB.

Why: with ``ias up`` ClickHouse is chDB, in the usage recorder's process; chDB allows one
process per data directory and cannot open a listener itself (shared/FACTS.md). So nothing
outside that process can query ClickHouse directly, yet the E2E harness (and an operator
with ``curl``) must. The recorder serves this, on 127.0.0.1 only, when its ``sql_port`` is set.

It speaks the part of ClickHouse's own HTTP interface that queries need, so a client written
for a ClickHouse server works on it unchanged (tests/e2e uses the same code for both):

* ``GET /ping`` → ``Ok.``;
* ``GET /?query=…`` or ``POST /`` with the query as the body (``query=`` may hold a prefix,
  as in ClickHouse); ``param_<name>=…`` fill typed placeholders ``{name:Type}``;
  ``default_format=…`` applies when the query ends without a ``FORMAT`` clause (else
  TabSeparated); ``database=`` must be the IAS database (the only one served);
* errors: HTTP 400 (500 when chDB itself is unavailable), the ClickHouse message as the body
  and its code in ``X-ClickHouse-Exception-Code``.

Every query runs with the ClickHouse setting ``readonly=1``: ClickHouse itself refuses any
write or setting change. Hand-written on :mod:`http.server` (as ``prometheus_client`` serves
``/metrics``): a thread of its own, nothing shared with the recorder's event loop.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

MAX_QUERY_BYTES: Final = 1 << 20
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+\w+\s*;?\s*$", re.IGNORECASE)
_CODE = re.compile(r"Code:\s*(\d+)")


class ReadOnlyQueries:
    """Runs one query at a time on one lazily opened client (reopened after a failure)."""

    def __init__(self, connect: Callable[[], Client]) -> None:
        self._connect = connect
        self._client: Client | None = None
        self._lock = threading.Lock()

    @property
    def database(self) -> str:
        with self._lock:
            return self._connected().database or ""

    def _connected(self) -> Client:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def run(self, sql: str, params: dict[str, str], default_format: str | None) -> bytes:
        fmt = default_format if default_format and not _TRAILING_FORMAT.search(sql) else None
        with self._lock:
            try:
                return self._connected().raw_query(sql, parameters=params, settings={"readonly": 1}, fmt=fmt)
            except Exception:
                self.close_locked()
                raise

    def close_locked(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def close(self) -> None:
        with self._lock:
            self.close_locked()


class SqlHttpServer:
    """``start()`` serves :class:`ReadOnlyQueries` on ``host:port`` from a daemon thread."""

    def __init__(self, queries: ReadOnlyQueries, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.queries = queries
        self._server = ThreadingHTTPServer((host, port), _handler(queries))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ias-sql-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> SqlHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.queries.close()


def _handler(queries: ReadOnlyQueries) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ias-chdb-sql"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("sql http: " + format, *args)

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_QUERY_BYTES:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"query too long\n")
                return
            self._serve(self.rfile.read(length))

        def _serve(self, body: bytes) -> None:
            url = urlsplit(self.path)
            if url.path == "/ping":
                self._reply(HTTPStatus.OK, b"Ok.\n")
                return
            if url.path != "/":
                self._reply(HTTPStatus.NOT_FOUND, b"not found: only / and /ping\n")
                return
            args = dict(parse_qsl(url.query, keep_blank_values=True))
            sql = (
                args.get("query", "") + (" " if args.get("query") and body else "") + body.decode()
            ).strip()
            if not sql:
                self._reply(HTTPStatus.BAD_REQUEST, b"no query: ?query=... or a POST body\n")
                return
            params = {k.removeprefix("param_"): v for k, v in args.items() if k.startswith("param_")}
            try:
                database = args.get("database")
                if database and database != queries.database:
                    raise LookupError(
                        f"Code: 81. DB::Exception: only database {queries.database!r} is served"
                    )
                out = queries.run(sql, params, args.get("default_format"))
            except Exception as e:  # ClickHouse's own message, like its HTTP interface
                message = str(e).strip() or type(e).__name__
                code = _CODE.search(message)
                status = HTTPStatus.BAD_REQUEST if code else HTTPStatus.INTERNAL_SERVER_ERROR
                self._reply(status, message.encode() + b"\n", code=code.group(1) if code else None)
                return
            self._reply(HTTPStatus.OK, out)

        def _reply(self, status: HTTPStatus, body: bytes, *, code: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            if code is not None:
                self.send_header("X-ClickHouse-Exception-Code", code)
            self.end_headers()
            self.wfile.write(body)

    return Handler
