"""The dashboards' read side of ClickHouse: one code path, two deployments.

* :class:`UsageReader` — synchronous, bound to one clickhouse-connect ``Client``: one public
  method per dashboard query; each returns plain picklable values (the dataclasses of
  :mod:`ias_serve.analytics.queries`), so it can run in another process.
* :class:`AsyncUsageReader` — what the analytics service awaits: ``read(name, **params)``,
  dispatched by name through the allow-list :data:`QUERIES`.
* :class:`LocalUsageReader` — that protocol in-process: a few clients used from a thread pool
  (clickhouse-connect and chDB calls block the calling thread). The analytics app uses it
  against a ClickHouse server; in the embedded mode (chDB: one process per data directory)
  the ``UsageRecorder`` deployment, which owns the directory, holds one and exposes its
  ``read`` to the analytics app through a Serve handle (``deployments/analytics.py``).

Which table serves which query (measured in ``bench/analytics.py``):

=====================  ============================  ==================================
query                  table                         why
=====================  ============================  ==================================
org_usage              usage_daily                   primary key (org_id, day, …): an
                                                     org's month is a few granules
org_month_to_date      usage_daily                   same, one month
user_usage             usage_daily                   org_id IN (the user's orgs) uses
                                                     the primary key, user_id filters
system_usage           usage_daily_org_model (v3)    (day, org_id, model) rollup: all
                                                     orgs, without users and keys
=====================  ============================  ==================================
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, Final, Protocol

from clickhouse_connect.driver.client import Client

from ias_serve.analytics.client import get_client
from ias_serve.analytics.queries import Breakdown, Figures, breakdown
from ias_serve.analytics.schema import USAGE_DAILY, USAGE_DAILY_ORG_MODEL

QUERIES: Final[frozenset[str]] = frozenset({"org_usage", "org_month_to_date", "user_usage", "system_usage"})
"""Methods of :class:`UsageReader` that may be called by name (locally or over a handle)."""

_DAYS: Final = "day >= {start:Date} AND day < {end:Date}"


def check_query(name: str) -> str:
    """``name`` when it is in :data:`QUERIES`; ``ValueError`` otherwise (never ``getattr`` a
    name that came over the wire without this)."""
    if name not in QUERIES:
        raise ValueError(f"unknown usage query {name!r}")
    return name


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


class UsageReader:
    """The dashboard queries over one client (which the reader owns: :meth:`close`)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def org_usage(self, org_id: uuid.UUID, start: date, end: date) -> Breakdown:
        """An org over days ``start <= day < end``: totals, by model, by user, by day."""
        return breakdown(
            self.client,
            USAGE_DAILY,
            ("model", "user_id", "day"),
            "org_id = {org:UUID} AND " + _DAYS,
            {"org": org_id, "start": start, "end": end},
        )

    def org_month_to_date(self, org_id: uuid.UUID, month_start: date) -> Figures:
        """An org's usage in the calendar month starting at ``month_start`` (its budget period)."""
        start = month_start.replace(day=1)
        return breakdown(
            self.client,
            USAGE_DAILY,
            (),
            "org_id = {org:UUID} AND " + _DAYS,
            {"org": org_id, "start": start, "end": _next_month(start)},
        ).totals

    def user_usage(
        self, user_id: uuid.UUID, org_ids: Sequence[uuid.UUID], start: date, end: date
    ) -> Breakdown:
        """A user's usage in the given orgs (their memberships): totals, by model, key, org, day.

        The org list is what lets the rollup's primary key (org_id first) find the rows; a
        user's requests always carry the org of the key used.
        """
        if not org_ids:
            return Breakdown(by={d: {} for d in ("model", "key_id", "org_id", "day")})
        return breakdown(
            self.client,
            USAGE_DAILY,
            ("model", "key_id", "org_id", "day"),
            "org_id IN {orgs:Array(UUID)} AND user_id = {user:UUID} AND " + _DAYS,
            {"orgs": sorted(set(org_ids)), "user": user_id, "start": start, "end": end},
        )

    def system_usage(self, start: date, end: date) -> Breakdown:
        """Every org over days ``start <= day < end``: totals, by org, by model, by day."""
        return breakdown(
            self.client,
            USAGE_DAILY_ORG_MODEL,
            ("org_id", "model", "day"),
            _DAYS,
            {"start": start, "end": end},
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


class AsyncUsageReader(Protocol):
    """What :class:`ias_serve.services.analytics.AnalyticsService` reads usage through."""

    async def read(self, query: str, /, **params: Any) -> Any:
        """Run :class:`UsageReader` method ``query`` (one of :data:`QUERIES`; another name:
        ``ValueError``) with ``params`` and return its result."""
        ...


class LocalUsageReader:
    """:class:`AsyncUsageReader` in this process: up to ``pool_size`` clients of ``dsn``, each
    used by one worker thread at a time (a clickhouse-connect client runs one query at a time).

    Clients are opened on first use, so constructing the reader never blocks nor fails; a
    client whose query raised is closed and replaced by a new one on the next call (a server
    that restarted is picked up again).
    """

    def __init__(self, dsn: str, *, pool_size: int = 2) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.dsn = dsn
        self._idle: queue.LifoQueue[UsageReader] = queue.LifoQueue()
        self._executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="usage-reader")

    def _run(self, query: str, params: dict[str, Any]) -> Any:
        try:
            reader = self._idle.get_nowait()
        except queue.Empty:  # at most pool_size readers exist: one per worker thread
            reader = UsageReader(get_client(self.dsn))
        try:
            result = getattr(reader, query)(**params)
        except Exception:
            reader.close()
            raise
        self._idle.put(reader)
        return result

    async def read(self, query: str, /, **params: Any) -> Any:
        check_query(query)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(self._run, query, params))

    def close(self) -> None:
        """Wait for the queries in flight, then close every client."""
        self._executor.shutdown(wait=True)
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
