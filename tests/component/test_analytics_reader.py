"""The dashboards' read side on a real ClickHouse (chDB): the v3 system rollup and its
backfill, the breakdown queries, the in-process reader."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import pytest
from clickhouse_connect.driver.client import Client

from ias_serve.analytics import MIGRATIONS, apply_schema, get_client, insert_usage_events
from ias_serve.analytics.queries import Breakdown, Figures, breakdown
from ias_serve.analytics.reader import QUERIES, LocalUsageReader, UsageReader
from ias_serve.analytics.schema import USAGE_DAILY, USAGE_DAILY_ORG_MODEL
from ias_serve.protocol.usage import USAGE_EVENT_COLUMNS, UsageEvent

T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)
MARCH = (date(2026, 3, 1), date(2026, 4, 1))


def _dsn_with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    if parts.scheme == "chdb":
        return urlunsplit((parts.scheme, parts.netloc, parts.path, f"database={name}", ""))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@pytest.fixture
def dsn(clickhouse_dsn: str) -> Iterator[str]:
    """An empty database of the test's own (no schema yet)."""
    name = f"ias_rd_{uuid.uuid4().hex[:10]}"
    url = _dsn_with_database(clickhouse_dsn, name)
    client = get_client(url)
    try:
        yield url
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{name}`")
        client.close()


@pytest.fixture
def ch(dsn: str) -> Iterator[Client]:
    client = get_client(dsn)
    yield client
    client.close()


def _events(org: uuid.UUID, n: int, start: int = 0, *, model: str = "m", day: int = 0) -> list[UsageEvent]:
    return [
        UsageEvent(
            request_id=f"{org.hex[:8]}-{model}-{i}",
            ts=T0 + timedelta(days=day, minutes=i),
            org_id=org,
            user_id=uuid.uuid5(org, f"user{i % 2}"),
            key_id=uuid.uuid5(org, f"key{i % 3}"),
            model=model,
            input_tokens=10,
            output_tokens=20,
            latency_ms=1,
            price_input=Decimal("1.5"),
            price_output=Decimal("3"),
        )
        for i in range(start, start + n)
    ]


def _system_rows(ch: Client) -> list[tuple]:
    return ch.query(
        f"SELECT day, org_id, model, sum(requests), sum(input_tokens), sum(output_tokens), sum(cost) "
        f"FROM {USAGE_DAILY_ORG_MODEL} GROUP BY day, org_id, model ORDER BY day, org_id, model"
    ).result_rows


def _daily_rows(ch: Client) -> list[tuple]:
    return ch.query(
        f"SELECT day, org_id, model, sum(requests), sum(input_tokens), sum(output_tokens), sum(cost) "
        f"FROM {USAGE_DAILY} GROUP BY day, org_id, model ORDER BY day, org_id, model"
    ).result_rows


def test_v3_backfills_existing_usage_once_and_the_view_feeds_new_usage(ch: Client) -> None:
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    apply_schema(ch, MIGRATIONS[:2])  # a store as it was before v3, with usage in it
    v2_columns = [c for c in USAGE_EVENT_COLUMNS if c != "client_request_id"]  # v4's column
    ch.insert(
        "usage_events",
        [
            [v for c, v in zip(USAGE_EVENT_COLUMNS, e.to_row(), strict=True) if c in v2_columns]
            for e in _events(org_a, 5) + _events(org_b, 3, model="n", day=1)
        ],
        column_names=v2_columns,
    )
    apply_schema(ch)
    assert MIGRATIONS[2].version == 3
    assert _system_rows(ch) == _daily_rows(ch) and len(_system_rows(ch)) == 2
    # a crash after the backfill re-runs the whole version: still counted once
    v3 = MIGRATIONS[2]
    for statement in v3.statements:
        ch.command(statement)
    assert _system_rows(ch) == _daily_rows(ch)
    # new usage reaches both rollups through their views
    insert_usage_events(ch, _events(org_a, 4, start=5))
    rows = _system_rows(ch)
    assert rows == _daily_rows(ch)
    assert rows[0][3:] == (9, 90, 180, Decimal("0.000675"))  # 9 × (10 × 1.5 + 20 × 3) / 1e6


def test_breakdowns(ch: Client) -> None:
    apply_schema(ch)
    org = uuid.uuid4()
    insert_usage_events(ch, _events(org, 4) + _events(org, 2, model="other", day=2))
    reader = UsageReader(ch)
    usage = reader.org_usage(org, *MARCH)
    one = Figures(1, 10, 20, Decimal("0.000075"))
    assert usage.totals == Figures(6, 60, 120, Decimal("0.00045"))
    assert set(usage.by) == {"model", "user_id", "day"}
    assert usage.by["model"] == {
        "m": Figures(4, 40, 80, Decimal("0.0003")),
        "other": Figures(2, 20, 40, Decimal("0.00015")),
    }
    assert usage.by["day"] == {
        date(2026, 3, 10): Figures(4, 40, 80, Decimal("0.0003")),
        date(2026, 3, 12): Figures(2, 20, 40, Decimal("0.00015")),
    }
    assert sum(f.requests for f in usage.by["user_id"].values()) == 6
    assert reader.org_month_to_date(org, date(2026, 3, 31)) == usage.totals  # any day of the month
    assert reader.org_month_to_date(org, date(2026, 4, 1)) == Figures()
    user = uuid.uuid5(org, "user0")
    mine = reader.user_usage(user, [org, uuid.uuid4()], *MARCH)
    assert mine.totals.requests == 3 and set(mine.by) == {"model", "key_id", "org_id", "day"}
    assert mine.by["org_id"] == {org: Figures(3, 30, 60, 3 * one.cost)}
    assert reader.user_usage(user, [], *MARCH) == Breakdown(
        by={d: {} for d in ("model", "key_id", "org_id", "day")}
    )
    system = reader.system_usage(*MARCH)
    assert system.totals == usage.totals and system.by["org_id"] == {org: usage.totals}
    # nothing in the window: zero totals, empty breakdowns
    empty = reader.org_usage(org, date(2025, 1, 1), date(2025, 2, 1))
    assert empty.totals == Figures() and all(not v for v in empty.by.values())
    with pytest.raises(ValueError):
        breakdown(ch, USAGE_DAILY, ("model; DROP TABLE x",), "1", {})
    with pytest.raises(ValueError):
        breakdown(ch, USAGE_DAILY, ("model", "model"), "1", {})


async def test_local_reader_refuses_unknown_queries_and_results_pickle(dsn: str, ch: Client) -> None:
    apply_schema(ch)
    org = uuid.uuid4()
    insert_usage_events(ch, _events(org, 3))
    reader = LocalUsageReader(dsn, pool_size=1)
    try:
        for name in ("close", "client", "__init__", "tokens_by_org"):
            with pytest.raises(ValueError, match="unknown usage query"):
                await reader.read(name)
        assert QUERIES == {"org_usage", "org_month_to_date", "user_usage", "system_usage"}
        result = await reader.read("org_usage", org_id=org, start=MARCH[0], end=MARCH[1])
        assert isinstance(result, Breakdown) and result.totals.requests == 3
        assert pickle.loads(pickle.dumps(result)) == result  # what crosses a Serve handle
        # a failing query (bad parameters) does not break the pool
        with pytest.raises(TypeError):
            await reader.read("org_usage", org_id=org)
        assert (await reader.read("org_month_to_date", org_id=org, month_start=MARCH[0])).requests == 3
    finally:
        reader.close()
    with pytest.raises(ValueError):
        LocalUsageReader(dsn, pool_size=0)
