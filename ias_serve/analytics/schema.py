"""ClickHouse schema of IAS (versioned, idempotent) and the exact usage writer.

Tables (in the IAS database the client is bound to, see :mod:`ias_serve.analytics.client`):

``usage_events``
    One row per metered request (:class:`ias_serve.protocol.usage.UsageEvent`).
    ``ReplacingMergeTree``, ``PARTITION BY toYYYYMM(ts)``,
    ``ORDER BY (org_id, toDate(ts), request_id)``: an org's rows of a day are contiguous
    (dashboards filter by org and time), and the sorting key *ends with* ``request_id`` so
    two copies of one event (same ``request_id``, same ``ts``: events are immutable) collapse
    into one when their parts merge. A ``bloom_filter`` skip index on ``request_id`` serves
    the writer's existence check below.

``usage_daily``
    ``SummingMergeTree`` rollup (day, org, model, user, key → requests, input/output tokens,
    cost), fed at insert time by the materialized view ``usage_daily_mv``. Rows are summed on merge only
    eventually: always read it with ``sum(...) GROUP BY``, never row by row.

``usage_daily_org_model``
    ``SummingMergeTree`` rollup (day, org, model → requests, tokens, cost) sorted by day first,
    fed by ``usage_daily_org_model_mv``: the system dashboard (every org of a window) reads it.

``schema_migrations``
    Versions applied (``ReplacingMergeTree`` by version, so two processes migrating at once
    leave one row per version after a merge; read it with ``DISTINCT``/``FINAL``).

Dedup design — re-inserting a ``request_id`` must never count twice (``request_id`` is the
gateway's own usage id since version 4; the client's ``X-Request-ID`` is ``client_request_id``,
never a key; and a copy is looked for only within the event's own org):

1. Writer side (exact, raw table *and* rollup): the single ``UsageRecorder`` calls
   :func:`insert_usage_events`, which drops duplicates inside the batch, asks ClickHouse in
   one query which of the batch's ``request_id`` are already stored (partition pruning on the
   batch's months + the bloom filter + the primary key), then inserts only the others in one
   INSERT. A redelivery after a crash between insert and ack thus inserts nothing, and the
   materialized view never sees a duplicate, so ``usage_daily`` sums are exact without FINAL.
2. Storage side (raw table only, defence in depth): ``ReplacingMergeTree`` collapses copies
   that still got in (e.g. two writers racing) on merge; raw queries that must be exact at
   any moment use ``FINAL`` (or ``uniqExact(request_id)``/``LIMIT 1 BY request_id``).

Limits, stated so nobody relies on more: (1) assumes ONE writer at a time (the recorder is a
single replica; two concurrent writers may both pass the check); (2) an INSERT is not atomic
across the source table and its materialized view: if the view's insert fails after the
source part was written, the retry finds the rows and skips them, and that day's rollup lacks
them until rebuilt from ``usage_events FINAL``; (3) on a *replicated* cluster the check must
read with ``select_sequential_consistency=1`` (quorum inserts). Alternatives checked and
rejected: block-level insert deduplication (``insert_deduplication_token``,
``non_replicated_deduplication_window``) only drops *identical* blocks, not a batch that
overlaps a previous one; computing the rollup from ``usage_events FINAL`` at query time is
exact but scans raw rows for every dashboard.

Migrations are append-only: add a new :class:`Migration` with the next version; every
statement must be idempotent (``IF NOT EXISTS``, ``ADD COLUMN IF NOT EXISTS``) because a
crash may leave a version half-applied and it is then re-run whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from clickhouse_connect.driver.client import Client

from ias_serve.protocol.usage import USAGE_EVENT_COLUMNS, UsageEvent

USAGE_EVENTS: Final = "usage_events"
USAGE_DAILY: Final = "usage_daily"
SCHEMA_MIGRATIONS: Final = "schema_migrations"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


_V1_USAGE = Migration(
    version=1,
    name="usage_events and usage_daily rollup",
    statements=(
        f"""
        CREATE TABLE IF NOT EXISTS {USAGE_EVENTS} (
            request_id    String,
            ts            DateTime64(3, 'UTC'),
            org_id        UUID,
            user_id       UUID,
            key_id        UUID,
            model         LowCardinality(String),
            input_tokens  UInt32,
            output_tokens UInt32,
            latency_ms    UInt32,
            ttft_ms       Nullable(UInt32),
            status        LowCardinality(String),
            INDEX idx_request_id request_id TYPE bloom_filter(0.001) GRANULARITY 1
        )
        ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(ts)
        ORDER BY (org_id, toDate(ts), request_id)
        """,
        f"""
        CREATE TABLE IF NOT EXISTS {USAGE_DAILY} (
            day           Date,
            org_id        UUID,
            model         LowCardinality(String),
            user_id       UUID,
            requests      UInt64,
            input_tokens  UInt64,
            output_tokens UInt64
        )
        ENGINE = SummingMergeTree
        PARTITION BY toYYYYMM(day)
        ORDER BY (org_id, day, model, user_id)
        """,
        f"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {USAGE_DAILY}_mv TO {USAGE_DAILY} AS
        SELECT
            toDate(ts)         AS day,
            org_id,
            model,
            user_id,
            count()            AS requests,
            sum(input_tokens)  AS input_tokens,
            sum(output_tokens) AS output_tokens
        FROM {USAGE_EVENTS}
        GROUP BY day, org_id, model, user_id
        """,
    ),
)

_V2_COST_AND_KEYS = Migration(
    version=2,
    name="cost per request; key_id and cost in the daily rollup",
    statements=(
        # cost of the request at the prices of its time (see protocol.usage.UsageEvent.cost)
        f"ALTER TABLE {USAGE_EVENTS} ADD COLUMN IF NOT EXISTS cost Decimal(38, 12) DEFAULT 0",
        # key_id joins the rollup's grouping (a user's usage by key, /analytics/me); a column
        # may enter the sorting key in the ALTER that adds it. Older rows get the nil UUID.
        f"ALTER TABLE {USAGE_DAILY} ADD COLUMN IF NOT EXISTS key_id UUID, "
        "MODIFY ORDER BY (org_id, day, model, user_id, key_id)",
        f"ALTER TABLE {USAGE_DAILY} ADD COLUMN IF NOT EXISTS cost Decimal(38, 12) DEFAULT 0",
        # a view's query cannot change in place: replace it (the recorder, the only writer,
        # migrates before it inserts, so no insert falls between the two statements)
        f"DROP VIEW IF EXISTS {USAGE_DAILY}_mv",
        f"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {USAGE_DAILY}_mv TO {USAGE_DAILY} AS
        SELECT
            toDate(ts)         AS day,
            org_id,
            model,
            user_id,
            key_id,
            count()            AS requests,
            sum(input_tokens)  AS input_tokens,
            sum(output_tokens) AS output_tokens,
            sum(cost)          AS cost
        FROM {USAGE_EVENTS}
        GROUP BY day, org_id, model, user_id, key_id
        """,
    ),
)

USAGE_DAILY_ORG_MODEL: Final = "usage_daily_org_model"

_V3_SYSTEM_ROLLUP = Migration(
    version=3,
    name="usage_daily_org_model: (day, org, model) rollup for the system dashboard",
    statements=(
        # The system dashboard reads every org of a window: on usage_daily that is every
        # (org, model, user, key) row of every day; this rollup keeps one row per
        # (day, org, model), sorted by day first (bench/analytics.py measures both).
        f"""
        CREATE TABLE IF NOT EXISTS {USAGE_DAILY_ORG_MODEL} (
            day           Date,
            org_id        UUID,
            model         LowCardinality(String),
            requests      UInt64,
            input_tokens  UInt64,
            output_tokens UInt64,
            cost          Decimal(38, 12)
        )
        ENGINE = SummingMergeTree
        PARTITION BY toYYYYMM(day)
        ORDER BY (day, org_id, model)
        """,
        # Backfill from usage_daily, idempotently: a re-run of this version (after a crash)
        # drops the view, empties the table and fills it again. Like v2 it relies on the
        # recorder, the only writer, migrating before it inserts.
        f"DROP VIEW IF EXISTS {USAGE_DAILY_ORG_MODEL}_mv",
        f"TRUNCATE TABLE IF EXISTS {USAGE_DAILY_ORG_MODEL}",
        f"""
        INSERT INTO {USAGE_DAILY_ORG_MODEL}
        SELECT day, org_id, model, sum(requests), sum(input_tokens), sum(output_tokens), sum(cost)
        FROM {USAGE_DAILY}
        GROUP BY day, org_id, model
        """,
        f"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {USAGE_DAILY_ORG_MODEL}_mv TO {USAGE_DAILY_ORG_MODEL} AS
        SELECT
            toDate(ts)         AS day,
            org_id,
            model,
            count()            AS requests,
            sum(input_tokens)  AS input_tokens,
            sum(output_tokens) AS output_tokens,
            sum(cost)          AS cost
        FROM {USAGE_EVENTS}
        GROUP BY day, org_id, model
        """,
    ),
)

_V4_CLIENT_REQUEST_ID = Migration(
    version=4,
    name="client_request_id: the client's X-Request-ID, a correlation field beside the server's id",
    statements=(
        # From this version on ``request_id`` is the gateway's own usage id (protocol.usage):
        # clients cannot choose the idempotency key any more. Rows recorded before keep their
        # ``request_id`` (whatever the client sent then) and get '' here: nothing is rewritten
        # or lost, and the sorting key is unchanged.
        f"ALTER TABLE {USAGE_EVENTS} ADD COLUMN IF NOT EXISTS client_request_id String DEFAULT '' "
        "AFTER request_id",
    ),
)

MIGRATIONS: Final[tuple[Migration, ...]] = (
    _V1_USAGE,
    _V2_COST_AND_KEYS,
    _V3_SYSTEM_ROLLUP,
    _V4_CLIENT_REQUEST_ID,
)
"""All versions, in order. Append only."""

_MIGRATIONS_DDL: Final = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA_MIGRATIONS} (
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY version
"""


def applied_versions(client: Client) -> list[int]:
    """Versions recorded in ``schema_migrations`` (ascending, each once)."""
    rows = client.query(f"SELECT DISTINCT version FROM {SCHEMA_MIGRATIONS} ORDER BY version").result_rows
    return [int(r[0]) for r in rows]


def apply_schema(client: Client, migrations: Sequence[Migration] = MIGRATIONS) -> None:
    """Bring the schema up to the last version; a no-op when it is already there."""
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise ValueError("migration versions must be unique and ascending")
    client.command(_MIGRATIONS_DDL)
    done = set(applied_versions(client))
    for m in migrations:
        if m.version in done:
            continue
        for statement in m.statements:
            client.command(statement)
        # recorded only after every statement succeeded: a crash re-runs the whole version
        client.insert(SCHEMA_MIGRATIONS, [(m.version, m.name)], column_names=("version", "name"))


def _month_start(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(ts: datetime) -> datetime:
    start = _month_start(ts)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def existing_request_ids(client: Client, events: Sequence[UsageEvent]) -> set[tuple[str, str]]:
    """Which of the events' ``(org_id, request_id)`` are already in ``usage_events`` (one
    query); ``org_id`` as its string form.

    Only the months (partitions) the events fall in are searched: a copy of an event carries
    the same ``ts``, so it lives in the same partition. A stored row counts as a copy only in
    its own org: whatever ids an event carries, it can never suppress another org's record.
    """
    if not events:
        return set()
    lo = _month_start(min(e.ts for e in events))
    hi = _next_month(max(e.ts for e in events))
    rows = client.query(
        f"SELECT DISTINCT toString(org_id), request_id FROM {USAGE_EVENTS} "
        "WHERE ts >= {lo:DateTime64(3, 'UTC')} AND ts < {hi:DateTime64(3, 'UTC')} "
        "AND request_id IN {ids:Array(String)}",
        parameters={"lo": lo, "hi": hi, "ids": sorted({e.request_id for e in events})},
    ).result_rows
    return {(r[0], r[1]) for r in rows}


def insert_usage_events(client: Client, events: Iterable[UsageEvent]) -> int:
    """Insert the events not stored yet (exactly once per ``(org_id, request_id)``); return how
    many.

    Safe to call again with the same or an overlapping batch (redelivery after a crash).
    Must be the only writer of ``usage_events`` while it runs (see the module docstring).
    """
    unique: dict[tuple[str, str], UsageEvent] = {}
    for e in events:
        unique.setdefault((str(e.org_id), e.request_id), e)
    if not unique:
        return 0
    stored = existing_request_ids(client, list(unique.values()))
    rows = [e.to_row() for key, e in unique.items() if key not in stored]
    if rows:
        # synchronous insert: the next check must see these rows
        client.insert(USAGE_EVENTS, rows, column_names=USAGE_EVENT_COLUMNS, settings={"async_insert": 0})
    return len(rows)
