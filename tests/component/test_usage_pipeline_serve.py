"""The usage pipeline on a real Ray Serve instance, as `ias up` runs it: gateway → JetStream →
UsageRecorder (owner of the embedded chDB directory) → analytics app reading through the
recorder's handle. Measures freshness: end of a request → its tokens in /analytics/org/{id}."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI

from ias_serve.settings import Settings
from tests.component.gateway_harness import add_model, gateway_settings, make_tenant, session_token

pytestmark = pytest.mark.ray
PRICES = ("0.15", "0.6")


@dataclass
class Pipeline:
    base: str
    settings: Settings
    recorder: object  # DeploymentHandle of UsageRecorder


@pytest.fixture(scope="module")
def pipeline(
    serve_url: str, database_url: str, redis_url: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    from ray import serve

    from deployments.analytics import AnalyticsArgs, AnalyticsIngress
    from deployments.engines import EchoEngineDeployment
    from deployments.gateway import GatewayArgs, GatewayIngress
    from deployments.usage import UsageArgs, UsageRecorder
    from ias_serve.db.bootstrap import ensure_default_models
    from ias_serve.db.engine import make_engine, make_sessionmaker
    from ias_serve.serve_config import EchoEngineSpec

    async def seed() -> None:
        engine = make_engine(database_url)
        await ensure_default_models(make_sessionmaker(engine))
        await engine.dispose()

    asyncio.run(seed())
    chdb = tmp_path_factory.mktemp("pipeline") / "clickhouse"
    # the settings `ias up` gives every app: one usage stream, one embedded ClickHouse
    settings = gateway_settings(database_url, redis_url, nats_url, clickhouse_url=f"chdb://{chdb}")
    gateway = GatewayIngress.options(ray_actor_options={"num_cpus": 0.1}).bind(
        GatewayArgs(engines=[EchoEngineSpec(name="echo-model", kind="echo")]),
        {"echo-model": EchoEngineDeployment.options(name="EchoEngine:echo-model").bind("echo-model")},
        settings,
    )
    # shipped defaults (1 s batches), metrics endpoint off (another stack may hold the port)
    recorder = serve.run(
        UsageRecorder.options(ray_actor_options={"num_cpus": 0.1}).bind(UsageArgs(), settings),
        name="usage",
        route_prefix=None,
    )
    serve.run(gateway, name="gateway", route_prefix="/v1")
    serve.run(
        AnalyticsIngress.options(ray_actor_options={"num_cpus": 0.1}).bind(AnalyticsArgs(), settings),
        name="analytics",
        route_prefix="/analytics",
    )
    try:
        yield Pipeline(serve_url, settings, recorder)
    finally:
        for app in ("analytics", "gateway", "usage"):
            serve.delete(app)


async def test_tokens_reach_the_org_dashboard_within_seconds(pipeline: Pipeline, database_url: str) -> None:
    model = f"priced-{uuid.uuid4().hex[:6]}"
    await add_model(database_url, model, "serve", "echo-model", prices=PRICES)
    t = await make_tenant(database_url)
    token = await session_token(database_url, t.user_id)
    sent = []
    async with AsyncOpenAI(base_url=f"{pipeline.base}/v1", api_key=t.key, max_retries=0) as sdk:
        for i in range(3):
            r = await sdk.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "one two three " * (i + 1)}]
            )
            sent.append((r.usage.prompt_tokens, r.usage.completion_tokens))
        stream = await sdk.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "four five"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
        sent.append((chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens))
    done = time.monotonic()

    headers = {"Authorization": f"Bearer {token}"}
    url = f"{pipeline.base}/analytics/org/{t.org_id}?days=1"
    async with httpx.AsyncClient(timeout=30) as http:
        while True:
            r = await http.get(url, headers=headers)
            assert r.status_code == 200, r.text
            body = r.json()
            if body["totals"]["requests"] >= len(sent):
                visible = time.monotonic() - done
                break
            assert time.monotonic() - done < 10, f"not visible within 10 s: {body['totals']}"
            await asyncio.sleep(0.05)
        me = (await http.get(f"{pipeline.base}/analytics/me?days=1", headers=headers)).json()
    print(f"\nfreshness: request end -> visible in /analytics/org: {visible * 1000:.0f} ms")
    tin, tout = sum(s[0] for s in sent), sum(s[1] for s in sent)
    cost = (Decimal(tin) * Decimal(PRICES[0]) + Decimal(tout) * Decimal(PRICES[1])) / 1_000_000
    totals = body["totals"]
    assert (totals["requests"], totals["input_tokens"], totals["output_tokens"]) == (len(sent), tin, tout)
    assert Decimal(totals["cost"]) == cost
    assert [(m["model"], m["requests"]) for m in body["by_model"]] == [(model, len(sent))]
    assert body["budget"]["used"] == tin + tout
    assert [k["key_id"] for k in me["by_key"]] == [str(t.key_id)]
    # goal: under 2 s with the shipped settings (batches of at most 1 s)
    assert visible < 10


async def test_recorder_reconciles_and_reports_on_demand(pipeline: Pipeline, database_url: str) -> None:
    status = await pipeline.recorder.status.remote()  # type: ignore[attr-defined]
    assert status["running"] is True and status["nats_connected"] is True
    result = await pipeline.recorder.reconcile.remote()  # type: ignore[attr-defined]
    assert len(result["period"]) == 7 and result["orgs"] >= 0


def test_chdb_directory_is_owned_by_the_recorder(pipeline: Pipeline) -> None:
    """The analytics replica never opened chDB (one process per directory): the directory's
    lock is held by exactly one process, the recorder's."""
    import psutil

    chdb = Path(pipeline.settings.clickhouse_url.removeprefix("chdb://"))  # type: ignore[union-attr]
    holders = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(str(chdb) in f.path for f in proc.open_files()):
                holders.add(proc.info["pid"])
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    assert len(holders) == 1, holders
    cmdline = " ".join(psutil.Process(holders.pop()).cmdline())
    assert "UsageRecorder" in cmdline or "ray::" in cmdline
