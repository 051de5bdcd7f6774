"""The gateway on a real Ray Serve instance: ingress → echo-model engine deployment through a
DeploymentHandle, two ingress replicas, the official SDK; real PostgreSQL, Valkey and NATS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from openai import AsyncOpenAI

from ias_serve.cache import KeyAuthenticator, make_redis
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.repositories import ApiKeyRepository
from ias_serve.domain.keys import hash_api_key
from ias_serve.stack.embedded import free_port
from tests.component.gateway_harness import gateway_settings, make_tenant
from tests.openai_schema import assert_valid

pytestmark = pytest.mark.ray
MSGS = [{"role": "user", "content": "one two three four five six seven eight"}]


METRICS_PORT = free_port()


@pytest.fixture(scope="module")
def serve_gateway(serve_url: str, database_url: str, redis_url: str, nats_url: str) -> Iterator[str]:
    from ray import serve

    from deployments.engines import EchoEngineDeployment
    from deployments.gateway import GatewayArgs, GatewayIngress
    from ias_serve.db.bootstrap import ensure_default_models
    from ias_serve.serve_config import EchoEngineSpec

    async def seed() -> None:
        engine = make_engine(database_url)
        await ensure_default_models(make_sessionmaker(engine))
        await engine.dispose()

    asyncio.run(seed())
    settings = gateway_settings(database_url, redis_url, nats_url)
    app = GatewayIngress.options(num_replicas=2, ray_actor_options={"num_cpus": 0.1}).bind(
        GatewayArgs(engines=[EchoEngineSpec(name="echo-model", kind="echo")], metrics_port=METRICS_PORT),
        {"echo-model": EchoEngineDeployment.options(name="EchoEngine:echo-model").bind("echo-model")},
        settings,
    )
    serve.run(app, name="gateway", route_prefix="/v1")
    try:
        yield f"{serve_url}/v1"
    finally:
        serve.delete("gateway")


async def test_sdk_through_serve_stream_and_not(serve_gateway: str, database_url: str) -> None:
    t = await make_tenant(database_url)
    async with AsyncOpenAI(base_url=serve_gateway, api_key=t.key, max_retries=0) as c:
        raw = await c.chat.completions.with_raw_response.create(model="echo-model", messages=MSGS)
        assert_valid("CreateChatCompletionResponse", raw.http_response.json())
        assert raw.parse().choices[0].message.content == MSGS[0]["content"]
        assert raw.headers.get_list("x-request-id") and len(raw.headers.get_list("x-request-id")) == 1
        stream = await c.chat.completions.create(
            model="echo-model", messages=MSGS, stream=True, stream_options={"include_usage": True}
        )
        chunks = [ch async for ch in stream]
        for ch in chunks:
            assert_valid("CreateChatCompletionStreamResponse", ch.model_dump(mode="json", exclude_unset=True))
        assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == MSGS[0]["content"]
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8
        assert [m.id for m in (await c.models.list()).data] == ["echo-model"]


async def test_a_replica_serves_its_metrics_on_metrics_port(serve_gateway: str) -> None:
    """`metrics_port` (one replica per pod on Kubernetes: a per-replica scrape target); here two
    replicas share a machine, the first binds it and the second keeps /v1/metrics only."""
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.get(f"http://127.0.0.1:{METRICS_PORT}/metrics")
    assert r.status_code == 200
    for name in (
        "ias_gateway_requests_total",
        "ias_gateway_ttft_seconds",
        "ias_gateway_budget_rejections_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in r.text, name


async def test_revoked_key_is_refused_by_both_replicas_within_a_second(
    serve_gateway: str, database_url: str, redis_url: str
) -> None:
    t = await make_tenant(database_url)
    body = {"model": "echo-model", "messages": MSGS, "max_tokens": 1}
    headers = {"Authorization": f"Bearer {t.key}"}
    async with httpx.AsyncClient(timeout=30) as h:
        # enough requests that both replicas have the key in their local cache
        warm = await asyncio.gather(
            *(h.post(serve_gateway + "/chat/completions", json=body, headers=headers) for _ in range(24))
        )
        assert {r.status_code for r in warm} == {200}

        engine = make_engine(database_url)
        async with make_sessionmaker(engine)() as s, s.begin():
            await ApiKeyRepository(s).revoke(t.key_id)
        await engine.dispose()
        redis = make_redis(redis_url)
        auth = KeyAuthenticator(redis, make_sessionmaker(make_engine(database_url)))
        revoked_at = time.monotonic()
        await auth.revoke(hash_api_key(t.key))
        await redis.aclose()

        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - revoked_at)))
        after = await asyncio.gather(
            *(h.post(serve_gateway + "/chat/completions", json=body, headers=headers) for _ in range(24))
        )
        assert {r.status_code for r in after} == {401}
        assert all(r.json()["error"]["code"] == "invalid_api_key" for r in after)


async def test_rpm_is_exact_across_the_two_serve_replicas(serve_gateway: str, database_url: str) -> None:
    """100 concurrent requests against a 10 RPM key, spread by Serve over both ingress
    replicas: exactly 10 served (the limit lives in Redis, not in a replica's memory)."""
    from ias_serve.db.repositories.rate_limits import RateLimitRepository
    from ias_serve.domain.rate_limits import RateLimits

    t = await make_tenant(database_url)
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as s, s.begin():
        await RateLimitRepository(s).set_key(t.key_id, RateLimits(requests_per_minute=10))
    await engine.dispose()
    body = {"model": "echo-model", "messages": MSGS, "max_tokens": 2}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as h:
        answers = await asyncio.gather(
            *(
                h.post(
                    f"{serve_gateway}/chat/completions",
                    json=body,
                    headers={"Authorization": f"Bearer {t.key}"},
                )
                for _ in range(100)
            )
        )
    codes = [r.status_code for r in answers]
    assert codes.count(200) == 10 and codes.count(429) == 90, codes
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded" and refused.headers["retry-after"]
    assert {r.headers["x-ratelimit-limit-requests"] for r in answers} == {"10"}
