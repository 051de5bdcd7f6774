"""Read-side helpers over the usage tables (same SQL on chDB and a server).

Rollup reads always ``sum() ... GROUP BY``: ``usage_daily`` is a ``SummingMergeTree`` whose
rows are only eventually collapsed. Raw reads use ``FINAL`` so a duplicate that slipped past
the writer (see :mod:`ias_serve.analytics.schema`) is never counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

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
