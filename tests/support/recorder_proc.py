"""A usage recorder in a process of its own, for the tests that kill it.

    python -m tests.support.recorder_proc MODE NATS_URL CHDB_DIR STREAM SUBJECT TAG [ACK_WAIT_S]

MODE:
* ``crash-after-insert`` — records the first batch into ClickHouse, then SIGKILLs itself
  before acknowledging it;
* ``crash-before-insert`` — SIGKILLs itself when the first batch is about to be inserted;
* ``drain`` — records until the consumer has nothing left (no pending, nothing unacknowledged),
  then prints one JSON line: what this run inserted / found already stored, and the totals in
  ClickHouse (raw table with FINAL and the daily rollup).

The chDB directory belongs to this process alone while it runs (one process per directory).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

from ias_serve.analytics.client import get_client
from ias_serve.analytics.store import UsageStore
from ias_serve.queue.consumer import ConsumerSettings, UsageConsumer
from ias_serve.services.usage_recorder import RecorderConfig, UsageRecorderService


def _kill_self() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class CrashAfterInsert(UsageRecorderService):
    async def _ack(self, batch):  # type: ignore[no-untyped-def]
        print(json.dumps({"killed": "after-insert", "inserted": self.stats.inserted}), flush=True)
        _kill_self()


class CrashBeforeInsert(UsageRecorderService):
    async def _insert(self, events):  # type: ignore[no-untyped-def]
        print(json.dumps({"killed": "before-insert", "batch": len(events)}), flush=True)
        _kill_self()
        return 0


def settings(stream: str, subject: str, tag: str, ack_wait_s: float) -> ConsumerSettings:
    return ConsumerSettings(
        stream=stream,
        subject=subject,
        durable=f"rec-{tag}",
        dlq_stream=f"DLQ_{tag}",
        dlq_subject=f"usage.dlq.{tag}",
        ack_wait_s=ack_wait_s,
    )


def totals(dsn: str) -> dict[str, int]:
    client = get_client(dsn)
    try:
        raw = client.query("SELECT count(), sum(input_tokens), sum(output_tokens) FROM usage_events FINAL")
        daily = client.query("SELECT sum(requests), sum(input_tokens), sum(output_tokens) FROM usage_daily")
        r, d = raw.result_rows[0], daily.result_rows[0]
        return {
            "count": int(r[0]),
            "input": int(r[1] or 0),
            "output": int(r[2] or 0),
            "daily_requests": int(d[0] or 0),
            "daily_input": int(d[1] or 0),
            "daily_output": int(d[2] or 0),
        }
    finally:
        client.close()


async def main(argv: list[str]) -> None:
    mode, nats_url, chdb_dir, stream, subject, tag = argv[:6]
    ack_wait_s = float(argv[6]) if len(argv) > 6 else 2.0
    dsn = f"chdb://{chdb_dir}"
    cls = {"crash-after-insert": CrashAfterInsert, "crash-before-insert": CrashBeforeInsert}.get(
        mode, UsageRecorderService
    )
    consumer = UsageConsumer(nats_url, settings(stream, subject, tag, ack_wait_s))
    store = UsageStore(dsn)
    recorder = cls(
        consumer=consumer,
        store=store,
        config=RecorderConfig(batch_size=5000, max_wait_s=0.5, lag_interval_s=0.2),
    )
    await recorder.start()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            if mode != "drain":
                continue
            lag = await consumer.lag()
            if lag.total == 0 and recorder.stats.batches > 0:
                break
        else:
            raise SystemExit(f"{mode}: not done within 120 s: {recorder.status()}")
        stats = recorder.stats
    finally:
        await recorder.stop()
    print(json.dumps({"inserted": stats.inserted, "duplicates": stats.duplicates, **totals(dsn)}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
