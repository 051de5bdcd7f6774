"""The real engines of serve_config.yaml, through the gateway, on CPU: Ray Serve LLM `LLMServer`
(vLLM CPU) with SmolLM2-135M-Instruct (`test-model`) and all-MiniLM-L6-v2 (`test-embed`),
called with the official `openai` SDK; real PostgreSQL, Valkey, NATS and a local Ray.

The engines take a minute or two to start on 2 cores, so one gateway app serves the whole
module (built from the shipped serve_config.yaml itself) and is deleted at its end."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI

from ias_serve.settings import Settings
from tests.component.gateway_harness import gateway_settings, make_tenant, settled_budget, usage_events
from tests.openai_schema import assert_valid, assert_valid_completion_chunk

pytestmark = [pytest.mark.ray, pytest.mark.llm, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
CHAT = "smollm2-135m-instruct"  # engine names in serve_config.yaml
ASK = [{"role": "user", "content": "What is the capital of France?"}]


@dataclass
class LLMGateway:
    url: str
    settings: Settings
    app: str


@pytest.fixture(scope="module")
def llm_gateway(
    serve_url: str, database_url: str, redis_url: str, nats_url: str, local_models: Path
) -> Iterator[LLMGateway]:
    from ray import serve

    from deployments.gateway import GatewayIngress, engine_app
    from ias_serve.db.bootstrap import ensure_default_models
    from ias_serve.db.engine import make_engine, make_sessionmaker
    from ias_serve.serve_config import gateway_args

    args = gateway_args(REPO / "serve_config.yaml")
    settings = gateway_settings(database_url, redis_url, nats_url, models_dir=local_models)

    async def seed() -> None:
        engine = make_engine(database_url)
        await ensure_default_models(make_sessionmaker(engine), args.default_models())
        await engine.dispose()

    asyncio.run(seed())
    app = GatewayIngress.options(ray_actor_options={"num_cpus": 0.1}).bind(
        args, {e.name: engine_app(e, settings.models_dir) for e in args.engines}, settings
    )
    t0 = time.monotonic()
    serve.run(app, name="gateway-llm", route_prefix="/llm/v1")
    print(f"real engines ready in {time.monotonic() - t0:.0f} s")
    try:
        yield LLMGateway(f"{serve_url}/llm/v1", settings, "gateway-llm")
    finally:
        serve.delete("gateway-llm")


def sdk(gw: LLMGateway, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=gw.url, api_key=key, max_retries=0, timeout=120)


async def metered(gw: LLMGateway, request_id: str) -> dict:
    """The usage event the gateway published for one request."""
    deadline = time.monotonic() + 10
    while True:
        events = await usage_events(
            gw.settings.nats_url or "", gw.settings.usage_stream, gw.settings.usage_subject, 1
        )
        mine = [e for e in events if e["client_request_id"] == request_id]
        if mine or time.monotonic() > deadline:
            assert len(mine) == 1, f"expected one usage event for {request_id}, got {mine}"
            return mine[0]
        await asyncio.sleep(0.1)


async def test_chat_not_streaming_max_tokens_and_exact_usage(
    llm_gateway: LLMGateway, database_url: str
) -> None:
    t = await make_tenant(database_url)
    async with sdk(llm_gateway, t.key) as c:
        raw = await c.chat.completions.with_raw_response.create(
            model="test-model", messages=ASK, max_tokens=6, temperature=0
        )
    body = raw.http_response.json()
    assert_valid("CreateChatCompletionResponse", body)
    resp = raw.parse()
    assert resp.model == CHAT  # the engine says which model answered
    assert resp.choices[0].finish_reason == "length" and resp.choices[0].message.content
    assert resp.usage.completion_tokens == 6 and resp.usage.prompt_tokens > 5
    event = await metered(llm_gateway, raw.headers["x-request-id"])
    assert (event["input_tokens"], event["output_tokens"], event["status"]) == (
        resp.usage.prompt_tokens,
        resp.usage.completion_tokens,
        "ok",
    )
    want = resp.usage.total_tokens
    assert await settled_budget(llm_gateway.settings.redis_url or "", t.org_id, want) == want


async def test_chat_streaming_usage_chunk_and_metering(llm_gateway: LLMGateway, database_url: str) -> None:
    t = await make_tenant(database_url)
    async with sdk(llm_gateway, t.key) as c:
        raw = await c.chat.completions.with_raw_response.create(
            model="test-model",
            messages=ASK,
            max_tokens=12,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [ch async for ch in raw.parse()]
    for ch in chunks:
        assert_valid("CreateChatCompletionStreamResponse", ch.model_dump(mode="json", exclude_unset=True))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    usage = chunks[-1].usage
    assert text and usage is not None and chunks[-1].choices == []
    assert 1 <= usage.completion_tokens <= 12
    event = await metered(llm_gateway, raw.headers["x-request-id"])
    assert (event["input_tokens"], event["output_tokens"]) == (usage.prompt_tokens, usage.completion_tokens)

    # same prompt, greedy, not streamed: the same text (the stream lost or reordered nothing)
    async with sdk(llm_gateway, t.key) as c:
        whole = await c.chat.completions.create(
            model="test-model", messages=ASK, max_tokens=12, temperature=0
        )
    assert whole.choices[0].message.content == text


async def test_stream_without_include_usage_has_no_usage(llm_gateway: LLMGateway, database_url: str) -> None:
    t = await make_tenant(database_url)
    async with sdk(llm_gateway, t.key) as c:
        stream = await c.chat.completions.create(
            model="test-model", messages=ASK, max_tokens=4, temperature=0, stream=True
        )
        chunks = [ch async for ch in stream]
    assert chunks and all(ch.usage is None and ch.choices for ch in chunks)


async def test_completions_and_stop_sequence(llm_gateway: LLMGateway, database_url: str) -> None:
    t = await make_tenant(database_url)
    prompt = "The three primary colours are red,"
    async with sdk(llm_gateway, t.key) as c:
        raw = await c.completions.with_raw_response.create(
            model="test-model", prompt=prompt, max_tokens=16, temperature=0
        )
        assert_valid("CreateCompletionResponse", raw.http_response.json())
        full = raw.parse()
        text = full.choices[0].text
        assert full.usage.completion_tokens == 16 and full.choices[0].finish_reason == "length"
        words = text.split()
        assert len(words) >= 4, text
        streamed = await c.completions.create(
            model="test-model",
            prompt=prompt,
            max_tokens=16,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [ch async for ch in streamed]
        for ch in chunks:
            assert_valid_completion_chunk(ch.model_dump(mode="json", exclude_unset=True))
        assert "".join(ch.choices[0].text for ch in chunks if ch.choices) == text
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 16
        stop = words[len(words) // 2]
        stopped = await c.completions.create(
            model="test-model", prompt=prompt, max_tokens=16, temperature=0, stop=[stop]
        )
    choice = stopped.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.text == text[: text.index(stop)]  # cut before the stop sequence
    assert stopped.usage.completion_tokens < 16


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


async def test_embeddings_384_dimensions_and_similarity(llm_gateway: LLMGateway, database_url: str) -> None:
    t = await make_tenant(database_url)
    sentences = [
        "A man is playing a guitar on stage.",
        "Someone performs music with a guitar.",
        "The stock market fell sharply today.",
    ]
    async with sdk(llm_gateway, t.key) as c:
        raw = await c.embeddings.with_raw_response.create(model="test-embed", input=sentences)
        floats = await c.embeddings.with_raw_response.create(
            model="test-embed", input=sentences[0], encoding_format="float"
        )
    assert_valid("CreateEmbeddingResponse", floats.http_response.json())  # the schema: floats
    resp = raw.parse()
    vectors = [d.embedding for d in sorted(resp.data, key=lambda d: d.index)]
    assert [len(v) for v in vectors] == [384, 384, 384]
    related, unrelated = cosine(vectors[0], vectors[1]), cosine(vectors[0], vectors[2])
    assert related > unrelated + 0.2, (related, unrelated)
    assert cosine(floats.parse().data[0].embedding, vectors[0]) > 0.999  # base64 (SDK default) == float
    event = await metered(llm_gateway, raw.headers["x-request-id"])
    assert event["input_tokens"] == resp.usage.prompt_tokens > 0 and event["output_tokens"] == 0


async def test_engine_request_error_is_a_clean_400(llm_gateway: LLMGateway, database_url: str) -> None:
    t = await make_tenant(database_url)
    body = {"model": "test-model", "messages": ASK, "max_tokens": 4000}  # > max_model_len 2048
    async with httpx.AsyncClient(timeout=60) as h:
        r = await h.post(
            f"{llm_gateway.url}/chat/completions", json=body, headers={"Authorization": f"Bearer {t.key}"}
        )
    assert r.status_code == 400, r.text
    assert_valid("ErrorResponse", r.json())
    assert await settled_budget(llm_gateway.settings.redis_url or "", t.org_id, 0) == 0  # released


def _kill_replica(app: str, deployment: str) -> str:
    import ray

    names = [
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["name"].startswith(f"SERVE_REPLICA::{app}#{deployment}#")
    ]
    assert len(names) == 1, names
    ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)
    return names[0]


async def test_replica_dying_mid_stream(llm_gateway: LLMGateway, database_url: str) -> None:
    """A clean error event and the end of the stream; settled and metered; Serve replaces the
    replica and the next request succeeds."""
    t = await make_tenant(database_url)
    body = {
        "model": "test-model",
        "messages": [{"role": "user", "content": "Write a very long story about a dragon and a knight."}],
        "max_tokens": 1500,
        "stream": True,
    }
    events: list[str] = []
    killed = None
    async with (
        httpx.AsyncClient(timeout=120) as h,
        h.stream(
            "POST",
            f"{llm_gateway.url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {t.key}"},
        ) as r,
    ):
        assert r.status_code == 200
        request_id = r.headers["x-request-id"]
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                events.append(line[6:])
                if len(events) == 6 and killed is None:
                    killed = _kill_replica(llm_gateway.app, f"LLMServer:{CHAT}")
    assert killed is not None, f"the stream ended before the replica was killed: {events}"
    assert events[-1] == "[DONE]", events[-3:]
    error = json.loads(events[-2])
    assert_valid("ErrorResponse", error)
    assert error["error"]["code"] == "upstream_error"
    content = [e for e in events[:-2] if "error" not in json.loads(e)]
    assert len(content) >= 6

    event = await metered(llm_gateway, request_id)
    assert event["status"] == "error"
    assert event["input_tokens"] > 0 and event["output_tokens"] >= len(content) - 1  # the role chunk
    want = event["input_tokens"] + event["output_tokens"]
    assert await settled_budget(llm_gateway.settings.redis_url or "", t.org_id, want) == want

    # Serve starts a new replica (a new vLLM engine); the next request waits for it and succeeds
    t0 = time.monotonic()
    async with AsyncOpenAI(base_url=llm_gateway.url, api_key=t.key, max_retries=0, timeout=400) as c:
        after = await c.chat.completions.create(model="test-model", messages=ASK, max_tokens=3, temperature=0)
    assert after.usage.completion_tokens == 3
    print(f"replacement replica answered {time.monotonic() - t0:.0f} s after the kill")
