"""ClickHouse schema, exact usage writer and read helpers, on a real engine.

`clickhouse_dsn` is one chDB directory (or server) shared by the whole test session in one
process: every test uses org ids of its own; tests of the migration machinery use a database
of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from clickhouse_connect.driver.client import Client

from ias_serve.analytics import (
    MIGRATIONS,
    Migration,
    UsageTotals,
    applied_versions,
    apply_schema,
    database_of,
    existing_request_ids,
    get_client,
    insert_usage_events,
    org_totals,
    org_totals_raw,
    tokens_by_org,
)
from ias_serve.errors import ConfigurationError
from ias_serve.protocol.usage import USAGE_EVENT_COLUMNS, UsageEvent
from tests.support.clickhouse import with_database


@pytest.fixture(scope="module")
def ch(clickhouse_dsn: str) -> Iterator[Client]:
    client = get_client(clickhouse_dsn)
    apply_schema(client)
    yield client
    client.close()


@pytest.fixture
def scratch_db(clickhouse_dsn: str) -> Iterator[Client]:
    """A client on a fresh, empty database of its own (dropped afterwards)."""
    name = f"ias_t_{uuid.uuid4().hex[:10]}"
    client = get_client(with_database(clickhouse_dsn, name))
    yield client
    client.command(f"DROP DATABASE IF EXISTS `{name}`")
    client.close()


def _event(org: uuid.UUID, n: int, ts: datetime, *, model: str = "test-model", **kw: object) -> UsageEvent:
    user = kw.pop("user_id", None) or uuid.uuid5(org, "user")
    fields: dict[str, object] = {
        "request_id": f"req-{org.hex[:8]}-{n}",
        "ts": ts,
        "org_id": org,
        "user_id": user,
        "key_id": uuid.uuid5(org, "key"),
        "model": model,
        "input_tokens": 10 + n,
        "output_tokens": 100 + n,
        "latency_ms": 50,
        "ttft_ms": 5 if n % 2 else None,
        "status": "ok",
    }
    fields.update(kw)
    return UsageEvent.model_validate(fields)


def _batch(org: uuid.UUID, ns: range, ts: datetime) -> list[UsageEvent]:
    return [_event(org, n, ts + timedelta(minutes=n)) for n in ns]


def _expected(events: list[UsageEvent]) -> UsageTotals:
    return UsageTotals(len(events), sum(e.input_tokens for e in events), sum(e.output_tokens for e in events))


T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MONTH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
MONTH_DAYS = (date(2026, 3, 1), date(2026, 4, 1))


# --- client -----------------------------------------------------------------------------


def test_database_of_dsn() -> None:
    assert database_of("chdb:///var/lib/ias/ch") == "ias"
    assert database_of("chdb:///var/lib/ias/ch?database=other") == "other"
    assert database_of("http://u:pw@ch:8123/analytics") == "analytics"
    assert database_of("https://ch:8443") == "ias"
    with pytest.raises(ConfigurationError):
        database_of("postgres://x/y")
    with pytest.raises(ConfigurationError):
        database_of("http://ch:8123/bad;name")


def test_client_is_bound_to_its_database(ch: Client, clickhouse_dsn: str) -> None:
    assert ch.query("SELECT currentDatabase()").result_rows == [(database_of(clickhouse_dsn),)]


def test_two_clients_on_one_dsn_share_data(ch: Client, clickhouse_dsn: str) -> None:
    org = uuid.uuid4()
    other = get_client(clickhouse_dsn)
    try:
        assert insert_usage_events(other, _batch(org, range(3), T0)) == 3
    finally:
        other.close()
    # closing one client leaves the others (and the shared engine) working
    assert org_totals_raw(ch, org, *MONTH).requests == 3


# --- migrations -------------------------------------------------------------------------


def test_apply_schema_is_idempotent(scratch_db: Client) -> None:
    apply_schema(scratch_db)
    apply_schema(scratch_db)
    assert applied_versions(scratch_db) == [m.version for m in MIGRATIONS]
    raw = scratch_db.query("SELECT version, count() FROM schema_migrations GROUP BY version").result_rows
    assert sorted(raw) == [(m.version, 1) for m in MIGRATIONS]
    tables = {
        r[0]
        for r in scratch_db.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase()"
        ).result_rows
    }
    assert {
        "usage_events",
        "usage_daily",
        "usage_daily_mv",
        "usage_daily_org_model",
        "usage_daily_org_model_mv",
        "schema_migrations",
    } <= tables


def test_new_migration_version_applied_once(scratch_db: Client) -> None:
    apply_schema(scratch_db)
    nxt = len(MIGRATIONS) + 1
    v2 = Migration(nxt, "extra column", ("ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS extra UInt8",))
    apply_schema(scratch_db, (*MIGRATIONS, v2))
    apply_schema(scratch_db, (*MIGRATIONS, v2))
    assert applied_versions(scratch_db) == list(range(1, nxt + 1))
    cols = scratch_db.query(
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'usage_events'"
    ).result_rows
    assert ("extra",) in cols
    with pytest.raises(ValueError):
        apply_schema(scratch_db, (v2, *MIGRATIONS))


def test_upgrade_to_v4_keeps_rows_and_adds_the_correlation_field(scratch_db: Client) -> None:
    """Rows recorded while ``request_id`` was the client's keep it (nothing rewritten or lost);
    new rows carry the server's id and the client's X-Request-ID beside it."""
    apply_schema(scratch_db, MIGRATIONS[:3])
    org = uuid.uuid4()
    old = _batch(org, range(3), T0)
    cols = [c for c in USAGE_EVENT_COLUMNS if c != "client_request_id"]
    scratch_db.insert(
        "usage_events",
        [
            [v for c, v in zip(USAGE_EVENT_COLUMNS, e.to_row(), strict=True) if c != "client_request_id"]
            for e in old
        ],
        column_names=cols,
    )
    apply_schema(scratch_db)
    new = _event(org, 10, T0).model_copy(update={"client_request_id": old[0].request_id})
    assert insert_usage_events(scratch_db, [new]) == 1  # the client's id is no key: recorded
    rows = scratch_db.query(
        "SELECT request_id, client_request_id FROM usage_events WHERE org_id = {o:UUID} ORDER BY request_id",
        parameters={"o": str(org)},
    ).result_rows
    assert sorted(rows) == sorted([(e.request_id, "") for e in old] + [(new.request_id, old[0].request_id)])
    assert org_totals_raw(scratch_db, org, *MONTH) == _expected([*old, new])


def test_the_same_id_in_two_orgs_is_two_records(ch: Client) -> None:
    """Duplicates are only looked for inside the event's own org: an event carrying another
    org's id (were a client ever able to choose it) cannot suppress that org's record."""
    a, b = uuid.uuid4(), uuid.uuid4()
    ev_a = _event(a, 1, T0)
    ev_b = _event(b, 1, T0).model_copy(update={"request_id": ev_a.request_id})
    assert insert_usage_events(ch, [ev_b]) == 1
    assert insert_usage_events(ch, [ev_a, ev_b]) == 1  # b's copy is known; a's is not
    for org, ev in ((a, ev_a), (b, ev_b)):
        assert org_totals_raw(ch, org, *MONTH) == _expected([ev])


def test_upgrade_from_v1_keeps_the_recorded_usage(scratch_db: Client) -> None:
    """A database created by v1 (no cost, rollup without key_id) upgraded in place."""
    apply_schema(scratch_db, MIGRATIONS[:1])
    org = uuid.uuid4()
    old = _batch(org, range(4), T0)
    v1 = [i for i, c in enumerate(USAGE_EVENT_COLUMNS) if c not in ("cost", "client_request_id")]
    scratch_db.insert(
        "usage_events",
        [[e.to_row()[i] for i in v1] for e in old],
        column_names=[USAGE_EVENT_COLUMNS[i] for i in v1],
    )
    apply_schema(scratch_db)
    assert applied_versions(scratch_db) == [m.version for m in MIGRATIONS]
    new = [_event(org, 10, T0, price_input=Decimal("2"), price_output=Decimal("4"))]
    assert insert_usage_events(scratch_db, new) == 1
    assert org_totals(scratch_db, org, *MONTH_DAYS) == _expected(old + new)
    assert org_totals_raw(scratch_db, org, *MONTH) == _expected(old + new)
    rows = scratch_db.query(
        "SELECT key_id, sum(requests), sum(cost) FROM usage_daily WHERE org_id = {o:UUID} GROUP BY key_id "
        "ORDER BY key_id",
        parameters={"o": str(org)},
    ).result_rows
    # rows from before v2: nil key, cost 0; the new one: its key and its exact cost
    assert rows == [
        (uuid.UUID(int=0), 4, Decimal(0)),
        (new[0].key_id, 1, new[0].cost),
    ]


# --- writes and totals ------------------------------------------------------------------


def test_insert_then_totals_from_raw_and_rollup(ch: Client) -> None:
    org, other_org = uuid.uuid4(), uuid.uuid4()
    events = _batch(org, range(5), T0)
    assert insert_usage_events(ch, events) == 5
    assert insert_usage_events(ch, _batch(other_org, range(2), T0)) == 2

    want = _expected(events)
    assert org_totals_raw(ch, org, *MONTH) == want
    assert org_totals(ch, org, *MONTH_DAYS) == want
    assert want == UsageTotals(5, 60, 510)
    # outside the window: nothing
    assert org_totals(ch, org, date(2026, 4, 1), date(2026, 5, 1)) == UsageTotals(0, 0, 0)
    by_org = tokens_by_org(ch, *MONTH_DAYS)
    assert by_org[org] == want.total_tokens
    assert by_org[other_org] == 2 * 10 + 1 + 2 * 100 + 1


def test_rollup_groups_by_day_model_user(ch: Client) -> None:
    org = uuid.uuid4()
    u2 = uuid.uuid4()
    events = [
        _event(org, 1, T0),
        _event(org, 2, T0 + timedelta(hours=1), model="echo-model"),
        _event(org, 3, T0 + timedelta(days=1), user_id=u2),
    ]
    insert_usage_events(ch, events)
    rows = ch.query(
        "SELECT day, model, user_id, sum(requests), sum(input_tokens) FROM usage_daily "
        "WHERE org_id = {org:UUID} GROUP BY day, model, user_id ORDER BY day, model",
        parameters={"org": org},
    ).result_rows
    user = uuid.uuid5(org, "user")
    assert rows == [
        (date(2026, 3, 10), "echo-model", user, 1, 12),
        (date(2026, 3, 10), "test-model", user, 1, 11),
        (date(2026, 3, 11), "test-model", u2, 1, 13),
    ]


def test_reinserting_a_batch_counts_once(ch: Client) -> None:
    org = uuid.uuid4()
    first = _batch(org, range(10), T0)
    assert insert_usage_events(ch, first) == 10

    # the same batch again (redelivery after a crash between insert and ack)
    assert insert_usage_events(ch, first) == 0
    # a partially overlapping batch: 5 known + 5 new, plus a duplicate inside the batch
    overlap = _batch(org, range(5, 15), T0)
    assert insert_usage_events(ch, [*overlap, overlap[-1]]) == 5

    want = _expected(_batch(org, range(15), T0))
    assert org_totals_raw(ch, org, *MONTH) == want
    assert org_totals(ch, org, *MONTH_DAYS) == want
    # raw rows really are unique (not only collapsed by FINAL)
    n = ch.query(
        "SELECT count() FROM usage_events WHERE org_id = {org:UUID}", parameters={"org": org}
    ).result_rows[0][0]
    assert n == 15
    assert existing_request_ids(ch, overlap) == {(str(e.org_id), e.request_id) for e in overlap}


def test_duplicates_bypassing_the_writer_collapse_in_raw_table(ch: Client) -> None:
    """Defence in depth: ReplacingMergeTree + FINAL even if a copy gets past the writer."""
    org = uuid.uuid4()
    events = _batch(org, range(3), T0)
    insert_usage_events(ch, events)
    from ias_serve.protocol.usage import USAGE_EVENT_COLUMNS

    ch.insert("usage_events", [e.to_row() for e in events], column_names=USAGE_EVENT_COLUMNS)
    assert org_totals_raw(ch, org, *MONTH) == _expected(events)
    ch.command("OPTIMIZE TABLE usage_events PARTITION 202603 FINAL")
    n = ch.query(
        "SELECT count() FROM usage_events WHERE org_id = {org:UUID}", parameters={"org": org}
    ).result_rows[0][0]
    assert n == 3


def test_months_land_in_separate_partitions(ch: Client) -> None:
    org = uuid.uuid4()
    jan_end = datetime(2031, 1, 31, 23, 59, 59, 999000, tzinfo=UTC)
    events = [_event(org, 1, jan_end), _event(org, 2, jan_end + timedelta(milliseconds=1))]
    assert insert_usage_events(ch, events) == 2
    per_partition = ch.query(
        "SELECT _partition_id, count() FROM usage_events WHERE org_id = {org:UUID} "
        "GROUP BY _partition_id ORDER BY _partition_id",
        parameters={"org": org},
    ).result_rows
    assert per_partition == [("203101", 1), ("203102", 1)]
    parts = {
        r[0]
        for r in ch.query(
            "SELECT partition FROM system.parts WHERE database = currentDatabase() "
            "AND table = 'usage_events' AND active"
        ).result_rows
    }
    assert {"203101", "203102"} <= parts
    # a batch spanning both months is still deduplicated exactly
    assert insert_usage_events(ch, events) == 0


def test_timestamps_round_trip_in_utc(ch: Client) -> None:
    org = uuid.uuid4()
    ts = datetime(2026, 3, 10, 23, 30, 0, 123000, tzinfo=UTC)
    insert_usage_events(ch, [_event(org, 1, ts)])
    got, day = ch.query(
        "SELECT ts, toDate(ts) FROM usage_events WHERE org_id = {org:UUID}", parameters={"org": org}
    ).result_rows[0]
    assert got.replace(tzinfo=UTC) == ts
    assert day == date(2026, 3, 10)


# --- table design -----------------------------------------------------------------------


def test_sorting_keys_start_with_org_id(ch: Client) -> None:
    rows = dict(
        (name, (engine, sorting_key, partition_key))
        for name, engine, sorting_key, partition_key in ch.query(
            "SELECT name, engine, sorting_key, partition_key FROM system.tables "
            "WHERE database = currentDatabase() AND name IN ('usage_events', 'usage_daily')"
        ).result_rows
    )
    engine, key, partition = rows["usage_events"]
    assert engine == "ReplacingMergeTree"
    assert key.startswith("org_id") and key.endswith("request_id")
    assert partition == "toYYYYMM(ts)"
    engine, key, partition = rows["usage_daily"]
    assert engine == "SummingMergeTree"
    assert key.startswith("org_id")
    assert partition == "toYYYYMM(day)"


def test_request_id_bloom_filter_index(ch: Client) -> None:
    idx = ch.query(
        "SELECT name, type FROM system.data_skipping_indices "
        "WHERE database = currentDatabase() AND table = 'usage_events'"
    ).result_rows
    assert ("idx_request_id", "bloom_filter") in idx
