"""Gateway overhead benchmark (not a test): the full production path against the same upstream.

    .venv/bin/python -m bench.gateway [--seconds 8] [--concurrency 1 16 64] [--rounds 2] [--rate-limits]

It starts a fast fake OpenAI-compatible upstream (tests/support/fake_upstream.py, 16 streamed
tokens per answer), then the whole stack with `ias up`'s code (embedded PostgreSQL, Valkey,
NATS, Ray Serve in throughput-optimized mode with the HAProxy ingress), maps a model to the
upstream, creates an org with a budget and a key, and measures streaming chat completions with
auth, budget reservation/settlement and usage metering all on. Direct and gateway runs alternate
at each concurrency. Prints a Markdown table and writes JSON to bench/results/.

``--rate-limits`` adds a third target, ``limited``: a key of another org with all six rate limits
set (key and org RPM, TPM and concurrency, high enough never to refuse), so every request runs
the rate-limit checks and their settlement; the table then shows its cost against ``gateway``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.common import pct, save_results
from ias_serve.settings import Settings
from ias_serve.stack.embedded import free_port, stop_pid
from ias_serve.stack.stack import Stack

REPO = Path(__file__).resolve().parents[1]
BODY = {"model": "bench-upstream", "messages": [{"role": "user", "content": "hello"}], "stream": True}


@dataclass
class Run:
    target: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    ttft_p50_ms: float
    ttft_p99_ms: float


async def load(url: str, key: str | None, concurrency: int, seconds: float, target: str) -> Run:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    payload = json.dumps(BODY).encode()
    lat: list[float] = []
    ttft: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            nonlocal errors
            t0 = time.perf_counter()
            async with session.post(url, data=payload, headers=headers) as r:
                if r.status != 200:
                    errors += 1
                    await r.read()
                    return
                first = None
                async for _ in r.content.iter_any():
                    if first is None:
                        first = time.perf_counter()
            t1 = time.perf_counter()
            lat.append(t1 - t0)
            ttft.append((first or t1) - t0)

        for _ in range(min(concurrency, 8)):  # warm connections and caches
            await one()
        lat.clear()
        ttft.clear()
        errors = 0
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < stop:
                await one()

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return Run(
        target,
        concurrency,
        len(lat),
        errors,
        round(elapsed, 2),
        round(len(lat) / elapsed, 1),
        round(pct(lat, 0.5) * 1000, 2),
        round(pct(lat, 0.99) * 1000, 2),
        round(pct(ttft, 0.5) * 1000, 2),
        round(pct(ttft, 0.99) * 1000, 2),
    )


async def setup_tenant(db_url: str, upstream: str) -> tuple[str, str]:
    """(a key without rate limits, a key whose key and org carry every rate limit)."""
    from ias_serve.db.engine import make_engine, make_sessionmaker
    from ias_serve.db.repositories.rate_limits import RateLimitRepository
    from ias_serve.domain.rate_limits import RateLimits
    from tests.component.gateway_harness import add_model, make_tenant

    await add_model(db_url, "bench-upstream", "remote_url", upstream)
    plain = await make_tenant(db_url, limit=10**15)
    limited = await make_tenant(db_url, limit=10**15)
    high = RateLimits(
        requests_per_minute=1_000_000, tokens_per_minute=10**12, max_concurrent_requests=100_000
    )
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            await RateLimitRepository(s).set_org(limited.org_id, limits=high)
            await RateLimitRepository(s).set_key(limited.key_id, high)
    finally:
        await engine.dispose()
    return plain.key, limited.key


async def wait_ready(url: str, key: str) -> None:
    async with aiohttp.ClientSession() as s:
        for _ in range(200):
            async with s.post(url, json=BODY, headers={"Authorization": f"Bearer {key}"}) as r:
                await r.read()
                if r.status == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("gateway never answered 200 for bench-upstream")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=8.0, help="per run")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    p.add_argument("--rounds", type=int, default=2, help="direct/gateway alternations per concurrency")
    p.add_argument("--rate-limits", action="store_true", help="also a key under every rate limit")
    a = p.parse_args()

    home = Path(tempfile.mkdtemp(prefix="ias-bench-"))
    settings = Settings(home=home, serve_port=free_port(), log_level="WARNING")
    up_port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_upstream", "--port", str(up_port), "--tokens", "16"],
        cwd=REPO,
        start_new_session=True,
    )
    stack = Stack(settings)
    try:
        print("starting the stack (ias up) …", flush=True)
        stack.up()
        from ias_serve.stack.state import StackState

        db_url = StackState.load(stack.home).processes["postgres"].url
        key, limited_key = asyncio.run(setup_tenant(db_url, f"http://127.0.0.1:{up_port}/v1"))
        direct_url = f"http://127.0.0.1:{up_port}/v1/chat/completions"
        gw_url = f"{stack.base_url}/v1/chat/completions"
        asyncio.run(wait_ready(gw_url, key))
        targets = [("direct", direct_url, None), ("gateway", gw_url, key)]
        if a.rate_limits:
            asyncio.run(wait_ready(gw_url, limited_key))
            targets.append(("limited", gw_url, limited_key))
        runs: list[Run] = []
        for c in a.concurrency:
            for r in range(a.rounds):
                for target, url, k in targets:
                    run = asyncio.run(load(url, k, c, a.seconds, target))
                    runs.append(run)
                    print(
                        f"  c={c:<3} round {r + 1} {target:<8} {run.rps:>7} req/s  p50 {run.p50_ms} ms  "
                        f"ttft p50 {run.ttft_p50_ms} ms  errors {run.errors}",
                        flush=True,
                    )
        report(runs, a)
    finally:
        stack.down()
        stop_pid(upstream.pid)


def report(runs: list[Run], a: argparse.Namespace) -> None:
    rows = [
        "| concurrency | direct req/s | gateway req/s | direct p50 / p99 ms | gateway p50 / p99 ms | "
        "added p50 ms | TTFT direct / gateway p50 ms |",
        "|---|---|---|---|---|---|---|",
    ]

    def med(rs: list[Run], f: str) -> float:
        return round(statistics.median(getattr(r, f) for r in rs), 2)

    for c in a.concurrency:
        d = [r for r in runs if r.concurrency == c and r.target == "direct"]
        g = [r for r in runs if r.concurrency == c and r.target == "gateway"]

        rows.append(
            f"| {c} | {med(d, 'rps')} | {med(g, 'rps')} | {med(d, 'p50_ms')} / {med(d, 'p99_ms')} | "
            f"{med(g, 'p50_ms')} / {med(g, 'p99_ms')} | {round(med(g, 'p50_ms') - med(d, 'p50_ms'), 2)} | "
            f"{med(d, 'ttft_p50_ms')} / {med(g, 'ttft_p50_ms')} |"
        )
    if a.rate_limits:
        rows += [
            "",
            "| concurrency | gateway req/s | with every rate limit req/s | throughput | gateway p50 ms | "
            "with rate limits p50 ms |",
            "|---|---|---|---|---|---|",
        ]
        for c in a.concurrency:
            g = [r for r in runs if r.concurrency == c and r.target == "gateway"]
            lim = [r for r in runs if r.concurrency == c and r.target == "limited"]
            ratio = (med(lim, "rps") / med(g, "rps") - 1) * 100 if med(g, "rps") else 0.0
            rows.append(
                f"| {c} | {med(g, 'rps')} | {med(lim, 'rps')} | {ratio:+.1f} % | {med(g, 'p50_ms')} | "
                f"{med(lim, 'p50_ms')} |"
            )
    save_results("gateway", runs, "\n".join(rows), seconds=a.seconds)


if __name__ == "__main__":
    main()
