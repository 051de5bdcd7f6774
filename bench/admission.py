"""Cost of the rate limits in the gateway's admission (not a test): the budget script alone
against the budget + six rate limits script, each followed by its settlement, on a real
Valkey (the same embedded server `ias up` runs).

    .venv/bin/python -m bench.admission [--requests 20000] [--concurrency 1 16 64] [--rounds 3]

It isolates what rate limits add per request (one Lua script with more keys, and a
settlement that always runs): the whole-stack figure is `bench/gateway.py --rate-limits`, whose
noise on 2 cores is larger than this cost. Prints a Markdown table and writes JSON to
bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.common import save_results
from ias_serve.cache import BudgetStore, make_redis
from ias_serve.cache.rate_limit import RateLimitSet
from ias_serve.stack.embedded import EmbeddedValkey, free_port, stop_pid

HIGH = RateLimitSet(1_000_000, 10**12, 100_000, 1_000_000, 10**12, 100_000)


@dataclass
class Run:
    mode: str
    concurrency: int
    requests: int
    seconds: float
    per_second: float
    us_per_request: float


async def run(store: BudgetStore, mode: str, concurrency: int, requests: int) -> Run:
    org, key = uuid.uuid4(), uuid.uuid4()
    rate = HIGH if mode == "rate limits" else None
    per_worker = requests // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            member = uuid.uuid4().hex
            r = await store.reserve(org, 100, rate=rate, key_id=key, member=member)
            await store.settle(r, 60)  # settled below the reservation, as most requests are

    for _ in range(50):  # warm: scripts loaded, limit cached
        r = await store.reserve(org, 1, rate=rate, key_id=key, member=uuid.uuid4().hex)
        await store.settle(r, 1)
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    n = per_worker * concurrency
    return Run(mode, concurrency, n, round(elapsed, 3), round(n / elapsed, 1), round(elapsed / n * 1e6, 1))


async def main_async(a: argparse.Namespace, url: str) -> list[Run]:
    redis = make_redis(url)

    async def unlimited(_: uuid.UUID) -> int | None:
        return None

    store = BudgetStore(redis, unlimited)
    runs: list[Run] = []
    try:
        for c in a.concurrency:
            for r in range(a.rounds):
                for mode in ("budget only", "rate limits"):
                    res = await run(store, mode, c, a.requests)
                    runs.append(res)
                    print(
                        f"  c={c:<3} round {r + 1} {mode:<12} {res.per_second:>9} req/s  "
                        f"{res.us_per_request} µs/request",
                        flush=True,
                    )
    finally:
        await redis.aclose()
    return runs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=20_000, help="reserve + settle pairs per run")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ias-bench-admission-"))
    port = free_port()
    started = EmbeddedValkey(home / "data", port, home / "valkey.log", persist=False).start()
    try:
        runs = asyncio.run(main_async(a, started.url))
    finally:
        stop_pid(started.pid)
    rows = [
        "| concurrency | budget only: µs / request | + 6 rate limits: µs / request | added µs | "
        "budget only req/s | with rate limits req/s |",
        "|---|---|---|---|---|---|",
    ]
    for c in a.concurrency:

        def med(mode: str, f: str, c: int = c) -> float:
            return statistics.median(getattr(r, f) for r in runs if r.concurrency == c and r.mode == mode)

        b, lim = med("budget only", "us_per_request"), med("rate limits", "us_per_request")
        rows.append(
            f"| {c} | {b:.1f} | {lim:.1f} | {lim - b:+.1f} | {med('budget only', 'per_second'):.0f} | "
            f"{med('rate limits', 'per_second'):.0f} |"
        )
    save_results("admission", runs, "\n".join(rows), requests=a.requests)


if __name__ == "__main__":
    main()
