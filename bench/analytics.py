"""Analytics benchmark (not a test): dashboard query latency over a large embedded ClickHouse.

    .venv/bin/python bench/analytics.py [--events 10000000] [--days 90] [--orgs 200] [--samples 200]

Loads synthetic usage events into a fresh chDB directory with the production schema
(`apply_schema`), generated inside ClickHouse by `INSERT … SELECT … FROM numbers(…)` in chunks,
so the materialized views fill the rollups as they would from the recorder's inserts. Then it
times the query set of each analytics endpoint through the same `UsageReader` methods the API
uses, over random orgs/users, and prints p50/p95 per endpoint; JSON goes to bench/results/.

Synthetic data: events spread uniformly over the last `--days` days; org sizes skewed
(org index = floor(orgs · u²): the largest org has ~7 % of all events, measured separately),
5-50 users per org, 1-3 keys per user, 6 models with their own prices (so `cost` is exact).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `ias_serve` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import pct, save_results
from ias_serve.analytics.client import get_client
from ias_serve.analytics.queries import breakdown
from ias_serve.analytics.reader import UsageReader
from ias_serve.analytics.schema import USAGE_DAILY, USAGE_EVENTS, apply_schema

MODELS = ("test-model", "llama-3-8b", "llama-3-70b", "mistral-7b", "test-embed", "qwen-2.5-32b")
# micro-units of currency per million tokens (input, output): price = micro / 1e6
PRICES = (
    (0, 0),
    (200_000, 600_000),
    (900_000, 2_700_000),
    (150_000, 450_000),
    (20_000, 0),
    (500_000, 1_500_000),
)
CHUNK = 1_000_000


def org_uuid(o: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{o:012x}")


def user_uuid(o: int, u: int) -> uuid.UUID:
    return uuid.UUID(f"00000001-0000-4000-8000-{o * 1000 + u:012x}")


def users_of(o: int) -> int:
    return 5 + (o * 7919) % 46


_INSERT = """
INSERT INTO {table} (request_id, ts, org_id, user_id, key_id, model, input_tokens, output_tokens,
                     latency_ms, ttft_ms, status, cost)
SELECT
    concat('bench-', toString(n)),
    fromUnixTimestamp64Milli(toInt64({{end_ms:Int64}} - (cityHash64(n, 1) % {{span_ms:UInt64}})), 'UTC'),
    toUUID(concat('00000000-0000-4000-8000-', leftPad(lower(hex(o)), 12, '0'))),
    toUUID(concat('00000001-0000-4000-8000-', leftPad(lower(hex(o * 1000 + u)), 12, '0'))),
    toUUID(concat('00000002-0000-4000-8000-', leftPad(lower(hex((o * 1000 + u) * 4 + k)), 12, '0'))),
    {models}[m + 1],
    input_tokens,
    output_tokens,
    toUInt32(50 + cityHash64(n, 6) % 5000),
    if(cityHash64(n, 7) % 2 = 0, toUInt32(5 + cityHash64(n, 8) % 300), NULL),
    if(cityHash64(n, 9) % 100 = 0, 'error', 'ok'),
    toDecimal128(input_tokens * {price_in}[m + 1] + output_tokens * {price_out}[m + 1], 12)
        / 1000000000000
FROM (
    SELECT
        number AS n,
        toUInt64(floor({{orgs:UInt32}} * pow((cityHash64(n, 2) % 1000000) / 1000000, 2))) AS o,
        cityHash64(n, 3) % (5 + (o * 7919) % 46) AS u,
        cityHash64(n, 4) % (1 + u % 3) AS k,
        cityHash64(n, 5) % {n_models} AS m,
        toUInt32(10 + cityHash64(n, 10) % 2000) AS input_tokens,
        toUInt32(1 + cityHash64(n, 11) % 800) AS output_tokens
    FROM numbers({{first:UInt64}}, {{count:UInt64}})
)
""".format(
    table=USAGE_EVENTS,
    models="[" + ", ".join(f"'{m}'" for m in MODELS) + "]",
    price_in="[" + ", ".join(str(p[0]) for p in PRICES) + "]",
    price_out="[" + ", ".join(str(p[1]) for p in PRICES) + "]",
    n_models=len(MODELS),
)


@dataclass
class Run:
    endpoint: str
    queries: str
    samples: int
    p50_ms: float
    p95_ms: float
    max_ms: float


def load(client: Any, events: int, days: int, orgs: int) -> float:
    now = datetime.now(UTC)
    params = {"end_ms": int(now.timestamp() * 1000), "span_ms": days * 86_400_000, "orgs": orgs}
    t0 = time.perf_counter()
    for first in range(0, events, CHUNK):
        count = min(CHUNK, events - first)
        client.command(_INSERT, parameters={**params, "first": first, "count": count})
        done = first + count
        rate = done / (time.perf_counter() - t0)
        print(f"  loaded {done:>11,} / {events:,} events ({rate:,.0f}/s)", flush=True)
    return time.perf_counter() - t0


def rows(client: Any, table: str) -> int:
    return int(client.query(f"SELECT count() FROM {table}").result_rows[0][0])


def timed(fn: Callable[[], Any], samples: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(reader: UsageReader, a: argparse.Namespace) -> list[Run]:
    rnd = random.Random(7)
    today = datetime.now(UTC).date()
    month_start = today.replace(day=1)

    def window(days: int) -> tuple[date, date]:
        return today - timedelta(days=days - 1), today + timedelta(days=1)

    def org_dashboard(days: int, pick: Callable[[], int]) -> Callable[[], Any]:
        def run() -> Any:
            org = org_uuid(pick())
            return reader.org_usage(org, *window(days)), reader.org_month_to_date(org, month_start)

        return run

    def me(days: int) -> Callable[[], Any]:
        def run() -> Any:
            o = rnd.randrange(a.orgs)
            return reader.user_usage(user_uuid(o, rnd.randrange(users_of(o))), [org_uuid(o)], *window(days))

        return run

    def system_on(table: str, days: int) -> Callable[[], Any]:
        return lambda: breakdown(
            reader.client,
            table,
            ("org_id", "model", "day"),
            "day >= {start:Date} AND day < {end:Date}",
            dict(zip(("start", "end"), window(days), strict=True)),
        )

    def random_org() -> int:
        return rnd.randrange(a.orgs)

    org_q = "org_usage + org_month_to_date (usage_daily)"
    system_q = "system_usage (usage_daily_org_model)"
    cases: list[tuple[str, str, Callable[[], Any]]] = [
        ("GET /analytics/org/{id}?days=30", org_q, org_dashboard(30, random_org)),
        ("GET /analytics/org/{id}?days=30 (largest org)", org_q, org_dashboard(30, lambda: 0)),
        ("GET /analytics/org/{id}?days=90", org_q, org_dashboard(90, random_org)),
        ("GET /analytics/org/{id}?days=366 (largest org)", org_q, org_dashboard(366, lambda: 0)),
        ("GET /analytics/me?days=30", "user_usage (usage_daily)", me(30)),
        ("GET /analytics/system?days=30", system_q, lambda: reader.system_usage(*window(30))),
        ("GET /analytics/system?days=90", system_q, lambda: reader.system_usage(*window(90))),
    ]
    if a.compare_system:
        cases += [
            ("system?days=30 on usage_daily", "breakdown (usage_daily)", system_on(USAGE_DAILY, 30)),
            ("system?days=90 on usage_daily", "breakdown (usage_daily)", system_on(USAGE_DAILY, 90)),
        ]
    runs = []
    for endpoint, queries, fn in cases:
        print(f"  {endpoint}: {a.samples} samples …", flush=True)
        ms = timed(fn, a.samples)
        runs.append(Run(endpoint, queries, len(ms), pct(ms, 0.5), pct(ms, 0.95), max(ms)))
    return runs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--days", type=int, default=90, help="events spread over the last N days")
    p.add_argument("--orgs", type=int, default=200)
    p.add_argument("--samples", type=int, default=200, help="per endpoint")
    p.add_argument("--no-optimize", action="store_true", help="measure before the rollups are merged")
    p.add_argument("--compare-system", action="store_true", help="also time the system query on usage_daily")
    p.add_argument("--keep", action="store_true", help="keep the chDB directory (printed)")
    a = p.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="ias-bench-analytics-"))
    client = get_client(f"chdb://{directory}")
    try:
        apply_schema(client)
        print(f"loading {a.events:,} events over {a.days} days, {a.orgs} orgs into {directory} …", flush=True)
        load_s = load(client, a.events, a.days, a.orgs)
        counts = {t: rows(client, t) for t in (USAGE_EVENTS, USAGE_DAILY, "usage_daily_org_model")}
        print(f"loaded in {load_s:.1f} s; rows: {counts}", flush=True)
        optimize_s = 0.0
        if not a.no_optimize:
            print("merging the rollups (OPTIMIZE … FINAL, what background merges do over time) …")
            t0 = time.perf_counter()
            for table in (USAGE_DAILY, "usage_daily_org_model"):
                client.command(f"OPTIMIZE TABLE {table} FINAL")
            optimize_s = time.perf_counter() - t0
            counts_merged = {t: rows(client, t) for t in (USAGE_DAILY, "usage_daily_org_model")}
            print(f"merged in {optimize_s:.1f} s; rows: {counts_merged}", flush=True)
        else:
            counts_merged = {}
        print("measuring …", flush=True)
        runs = measure(UsageReader(client), a)
        table = "\n".join(
            [
                "| endpoint | queries (table) | samples | p50 ms | p95 ms | max ms |",
                "|---|---|---:|---:|---:|---:|",
                *(
                    f"| {r.endpoint} | {r.queries} | {r.samples} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
                    f"{r.max_ms:.1f} |"
                    for r in runs
                ),
            ]
        )
        table += (
            f"\n\n{a.events:,} events, {a.days} days, {a.orgs} orgs: loaded in {load_s:.1f} s, "
            f"rollups merged in {optimize_s:.1f} s; rows {counts} → merged {counts_merged}"
        )
        save_results(
            "analytics",
            runs,
            table,
            events=a.events,
            days=a.days,
            orgs=a.orgs,
            load_s=round(load_s, 2),
            optimize_s=round(optimize_s, 2),
            rows=counts,
            rows_merged=counts_merged,
            optimized=not a.no_optimize,
        )
    finally:
        client.close()
        if a.keep:
            print(f"kept: {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
