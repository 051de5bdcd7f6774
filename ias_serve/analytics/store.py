"""The usage recorder's side of ClickHouse: one connection, schema on connect, exact inserts.

Synchronous (clickhouse-connect and chDB calls block): the recorder runs every call on one
worker thread of its own, one call at a time. Any failure drops the connection, and the next
call opens a new one, so a ClickHouse server that restarts (or an embedded table that was
detached) is picked up again without restarting the recorder.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Sequence
from datetime import date

from clickhouse_connect.driver.client import Client

from ias_serve.analytics.client import get_client
from ias_serve.analytics.queries import tokens_by_org
from ias_serve.analytics.schema import apply_schema, insert_usage_events
from ias_serve.protocol.usage import UsageEvent

log = logging.getLogger(__name__)


class UsageStore:
    """``usage_events`` writer bound to one DSN (``chdb:///dir`` or ``http(s)://…``)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._client: Client | None = None

    def _connected(self) -> Client:
        if self._client is None:
            client = get_client(self.dsn)
            try:
                apply_schema(client)  # idempotent; the recorder is the schema's owner
            except Exception:
                client.close()
                raise
            self._client = client
        return self._client

    def _call(self, fn, *args):  # type: ignore[no-untyped-def]
        try:
            return fn(self._connected(), *args)
        except Exception:
            self.close()  # reconnect (and re-check the schema) on the next call
            raise

    def connect(self) -> None:
        """Open the connection and bring the schema up to date (raises when unreachable)."""
        self._connected()

    def insert(self, events: Sequence[UsageEvent]) -> int:
        """Insert the events not stored yet; return how many were new (exactly once each)."""
        return int(self._call(insert_usage_events, events))

    def tokens_by_org(self, start: date, end: date) -> dict[uuid.UUID, int]:
        """Recorded input + output tokens per org over days ``start <= day < end``."""
        return dict(self._call(tokens_by_org, start, end))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
