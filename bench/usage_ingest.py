"""Usage recorder ingest rate: JetStream → UsageRecorderService → ClickHouse (embedded chDB).

    .venv/bin/python bench/usage_ingest.py [--events 100000] [--batch-size 5000] [--max-wait 1.0]

Two phases, each on a fresh embedded NATS and chDB directory:

* ``backlog`` — the events are published first (as the recorder finds them after an outage),
  then the recorder starts: events/s from its start to the last event recorded;
* ``live`` — a publisher in another process (gateways are other processes) publishes as fast
  as JetStream acknowledges while the recorder runs: the sustained rate, and how far the
  recorder trails the publisher (from the last publish acknowledged to the last event
  recorded).

Every run checks the count in ClickHouse is exact. Goal (issue 5): >= 20,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import nats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import save_results  # noqa: E402
from ias_serve.analytics.client import get_client  # noqa: E402
from ias_serve.analytics.store import UsageStore  # noqa: E402
from ias_serve.protocol.usage import UsageEvent  # noqa: E402
from ias_serve.queue.consumer import ConsumerSettings, UsageConsumer  # noqa: E402
from ias_serve.queue.jetstream import ensure_usage_stream  # noqa: E402
from ias_serve.services.usage_recorder import RecorderConfig, UsageRecorderService  # noqa: E402
from ias_serve.stack.embedded import EmbeddedNats, free_port, stop_pid  # noqa: E402

SUBJECT = "usage.v1"


@dataclass
class Run:
    phase: str
    events: int
    batch_size: int
    seconds: float
    events_per_s: float
    batches: int
    mean_batch: float
    insert_s_total: float
    trailing_s: float | None
    exact: bool


def bodies(n: int, seed: str) -> list[tuple[str, bytes]]:
    orgs = [uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}-{i}") for i in range(200)]
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        org = orgs[i % len(orgs)]
        e = UsageEvent(
            request_id=f"{seed}-{i}",
            ts=now,
            org_id=org,
            user_id=org,
            key_id=org,
            model=("test-model", "llama-3-8b", "echo-model")[i % 3],
            input_tokens=20 + i % 50,
            output_tokens=100 + i % 300,
            latency_ms=200,
            ttft_ms=20,
            price_input=Decimal("0.15"),
            price_output=Decimal("0.6"),
        )
        out.append((e.request_id, e.model_dump_json().encode()))
    return out


async def publish(url: str, n: int, seed: str) -> float:
    """Publish n events pipelined; returns when JetStream acknowledged all (monotonic time)."""
    nc = await nats.connect(url)
    js = nc.jetstream(publish_async_max_pending=4000)
    pending = []
    for rid, body in bodies(n, seed):
        pending.append(await js.publish_async(SUBJECT, body, headers={"Nats-Msg-Id": rid}))
        if len(pending) >= 2000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    done = time.monotonic()
    await nc.close()
    return done


def count(dsn: str) -> int:
    client = get_client(dsn)
    try:
        return int(client.query("SELECT count() FROM usage_events FINAL").result_rows[0][0])
    finally:
        client.close()


async def run_phase(phase: str, n: int, batch_size: int, max_wait: float) -> Run:
    base = Path(tempfile.mkdtemp(prefix=f"ias-ingest-{phase}-"))
    port = free_port()
    srv = EmbeddedNats(base / "nats", port, base / "nats.log").start()
    url = f"nats://127.0.0.1:{port}"
    dsn = f"chdb://{base}/ch"
    try:
        nc = await nats.connect(url)
        await ensure_usage_stream(nc.jetstream(), "USAGE", SUBJECT)
        await nc.close()
        store = UsageStore(dsn)
        store.connect()  # schema first: not part of the rate
        rec = UsageRecorderService(
            consumer=UsageConsumer(url, ConsumerSettings()),
            store=store,
            config=RecorderConfig(batch_size=batch_size, max_wait_s=max_wait),
        )
        publisher = None
        last_publish: float | None = None
        if phase == "backlog":
            print(f"[{phase}] publishing {n:,} events ...", flush=True)
            await publish(url, n, phase)
        else:
            publisher = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--publish-to",
                url,
                "--events",
                str(n),
                stdout=asyncio.subprocess.PIPE,
            )
        t0 = time.monotonic()
        await rec.start()
        last_report = t0
        while rec.stats.inserted < n:
            await asyncio.sleep(0.02)
            if time.monotonic() - last_report > 5:
                last_report = time.monotonic()
                print(f"[{phase}] {rec.stats.inserted:,} / {n:,} recorded", flush=True)
            if time.monotonic() - t0 > 600:
                raise SystemExit(f"{phase}: not done in 600 s: {rec.status()}")
        t1 = time.monotonic()
        if publisher is not None:
            out, _ = await asyncio.wait_for(publisher.communicate(), 60)
            last_publish = float(out.decode().strip().splitlines()[-1])
        await rec.stop()
        got = count(dsn)
        insert_total = rec.metrics.value("usage_recorder_insert_seconds_sum")
        secs = t1 - t0
        return Run(
            phase=phase,
            events=n,
            batch_size=batch_size,
            seconds=round(secs, 2),
            events_per_s=round(n / secs),
            batches=rec.stats.batches,
            mean_batch=round(n / max(1, rec.stats.batches)),
            insert_s_total=round(insert_total, 2),
            trailing_s=None if last_publish is None else round(t1 - last_publish, 2),
            exact=got == n,
        )
    finally:
        stop_pid(srv.pid)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--max-wait", type=float, default=1.0)
    ap.add_argument("--phases", default="backlog,live")
    ap.add_argument("--publish-to", help=argparse.SUPPRESS)  # the live phase's publisher process
    args = ap.parse_args()
    if args.publish_to:  # monotonic clocks are comparable between processes of one machine
        print(asyncio.run(publish(args.publish_to, args.events, "live")))
        return
    runs = [
        asyncio.run(run_phase(p, args.events, args.batch_size, args.max_wait)) for p in args.phases.split(",")
    ]
    head = ("phase", "events", "batch size", "seconds", "events/s", "batches", "mean batch", "insert s")
    head += ("trailing s", "exact")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        lines.append(
            f"| {r.phase} | {r.events:,} | {r.batch_size} | {r.seconds} | {r.events_per_s:,} | {r.batches} | "
            f"{r.mean_batch:,} | {r.insert_s_total} | {r.trailing_s if r.trailing_s is not None else '-'} | "
            f"{r.exact} |"
        )
    save_results("usage_ingest", runs, "\n".join(lines))
    if not all(r.exact for r in runs):
        raise SystemExit("FAIL: a count in ClickHouse is not exact")


if __name__ == "__main__":
    main()
