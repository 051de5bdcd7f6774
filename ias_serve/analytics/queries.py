"""Read-side helpers over the usage tables (same SQL on chDB and a server).

Rollup reads always ``sum() ... GROUP BY``: ``usage_daily`` is a ``SummingMergeTree`` whose
rows are only eventually collapsed. Raw reads use ``FINAL`` so a duplicate that slipped past
the writer (see :mod:`ias_serve.analytics.schema`) is never counted.

Dashboard reads (:func:`breakdown`) compute the totals and every per-dimension breakdown of a
dashboard in ONE query with ``GROUP BY GROUPING SETS ((), (model), (user_id), (day), …)``: the
filter (org and day range, served by the rollup's primary key) runs once and only the
aggregated rows travel back. Which table serves which dashboard is written beside each query
in :mod:`ias_serve.analytics.reader`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from clickhouse_connect.driver.client import Client

from ias_serve.analytics.schema import USAGE_DAILY, USAGE_EVENTS


@dataclass(frozen=True, slots=True)
class UsageTotals:
    requests: int
    input_tokens: int
    output_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def _totals(row: Sequence[Any]) -> UsageTotals:
    return UsageTotals(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def org_totals(client: Client, org_id: uuid.UUID | str, start: date, end: date) -> UsageTotals:
    """Totals of an org over days ``start <= day < end`` (UTC), from the daily rollup."""
    row = client.query(
        f"SELECT sum(requests), sum(input_tokens), sum(output_tokens) FROM {USAGE_DAILY} "
        "WHERE org_id = {org:UUID} AND day >= {start:Date} AND day < {end:Date}",
        parameters={"org": str(org_id), "start": start, "end": end},
    ).result_rows[0]
    return _totals(row)


def org_totals_raw(client: Client, org_id: uuid.UUID | str, start: datetime, end: datetime) -> UsageTotals:
    """Totals of an org over ``start <= ts < end`` from ``usage_events`` (exact, deduplicated)."""
    row = client.query(
        f"SELECT count(), sum(input_tokens), sum(output_tokens) FROM {USAGE_EVENTS} FINAL "
        "WHERE org_id = {org:UUID} "
        "AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}",
        parameters={"org": str(org_id), "start": start, "end": end},
    ).result_rows[0]
    return _totals(row)


def tokens_by_org(client: Client, start: date, end: date) -> dict[uuid.UUID, int]:
    """Input + output tokens per org over days ``start <= day < end`` (budget settlement)."""
    rows = client.query(
        f"SELECT org_id, sum(input_tokens) + sum(output_tokens) FROM {USAGE_DAILY} "
        "WHERE day >= {start:Date} AND day < {end:Date} GROUP BY org_id",
        parameters={"start": start, "end": end},
    ).result_rows
    return {uuid.UUID(str(r[0])): int(r[1]) for r in rows}


@dataclass(frozen=True, slots=True)
class Figures:
    """Sums over a set of requests: what every dashboard row shows (cost at the prices of the
    time of each request, exact)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Totals of a window and, per dimension asked for, the figures of each of its values
    (``by["model"]["test-model"]``, ``by["day"][date(…)]``, ``by["user_id"][UUID(…)]``).
    Only values with usage appear."""

    totals: Figures = field(default_factory=Figures)
    by: Mapping[str, Mapping[Any, Figures]] = field(default_factory=dict)


DIMENSIONS: Final = frozenset({"day", "org_id", "model", "user_id", "key_id"})
"""Columns a breakdown may group by (every rollup has them, or a subset, see the reader)."""

_SUMS: Final = "sum(requests), sum(input_tokens), sum(output_tokens), sum(cost)"


def _figures(row: Sequence[Any]) -> Figures:
    return Figures(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), Decimal(row[3] or 0))


def breakdown(
    client: Client, table: str, dims: Sequence[str], where: str, parameters: Mapping[str, Any]
) -> Breakdown:
    """Totals and one breakdown per dimension of ``dims`` over the rows of ``table`` that match
    ``where`` (a fixed SQL condition with ``{name:Type}`` placeholders bound to ``parameters``).

    ``grouping(d1, …, dn)`` tells the grouping sets apart: bit ``n-1-i`` is 0 when ``d_i`` is
    grouped, 1 when it is aggregated away (standard SQL semantics, pinned by the setting
    below because older ClickHouse releases defaulted to the inverse), so the grand total is
    the row with every bit set.
    """
    unknown = set(dims) - DIMENSIONS
    if unknown or len(set(dims)) != len(dims):
        raise ValueError(f"bad breakdown dimensions {list(dims)}")
    if not dims:
        row = client.query(f"SELECT {_SUMS} FROM {table} WHERE {where}", parameters=dict(parameters))
        return Breakdown(_figures(row.result_rows[0]))
    columns = ", ".join(dims)
    sets = ", ".join(["()", *(f"({d})" for d in dims)])
    rows = client.query(
        f"SELECT grouping({columns}), {columns}, {_SUMS} FROM {table} WHERE {where} "
        f"GROUP BY GROUPING SETS ({sets})",
        parameters=dict(parameters),
        settings={"force_grouping_standard_compatibility": 1},
    ).result_rows
    n = len(dims)
    everything = (1 << n) - 1
    position = {everything ^ (1 << (n - 1 - i)): i for i in range(n)}
    totals = Figures()
    by: dict[str, dict[Any, Figures]] = {d: {} for d in dims}
    for row in rows:
        mask, values, sums = int(row[0]), row[1 : 1 + n], row[1 + n :]
        if mask == everything:
            totals = _figures(sums)
        elif (i := position.get(mask)) is not None:
            by[dims[i]][values[i]] = _figures(sums)
    return Breakdown(totals, by)
