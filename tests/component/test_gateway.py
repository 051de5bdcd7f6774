"""The gateway over HTTP with the official `openai` SDK, against real PostgreSQL, Valkey and
NATS JetStream; echo-model in process and remote models on a fake OpenAI-compatible upstream.
Every response (and every streamed chunk) is validated against the official OpenAI schemas."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.component.gateway_harness import (
    Gateway,
    Tenant,
    add_model,
    budget_used,
    make_tenant,
    running_gateway,
    usage_events,
)
from tests.openai_schema import assert_valid, assert_valid_completion_chunk

MSGS = [{"role": "user", "content": "The capital of France is Paris."}]


@pytest.fixture(scope="module")
def gw(database_url: str, redis_url: str, nats_url: str) -> Iterator[Gateway]:
    with running_gateway(database_url, redis_url, nats_url) as g:
        asyncio.run(_models(database_url, g))
        yield g


async def _models(database_url: str, g: Gateway) -> None:
    from ias_serve.db.bootstrap import ensure_default_models
    from ias_serve.db.engine import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    await ensure_default_models(make_sessionmaker(engine))
    await engine.dispose()
    await add_model(database_url, "remote-model", "remote_url", g.upstream_url, prices=("0.15", "0.6"))
    await add_model(database_url, "slow-model", "remote_url", g.slow_url)
    await add_model(database_url, "broken-model", "remote_url", g.failing_url)


@pytest.fixture
async def client(gw: Gateway) -> AsyncIterator[Callable[[str], AsyncOpenAI]]:
    """Official SDK clients for a key; closed after the test."""
    made: list[AsyncOpenAI] = []

    def make(key: str) -> AsyncOpenAI:
        made.append(AsyncOpenAI(base_url=gw.base_url, api_key=key, max_retries=0, timeout=30))
        return made[-1]

    yield make
    for c in made:
        await c.close()


async def test_chat_non_streaming_is_valid_and_metered_exactly(
    gw: Gateway, client: Callable[[str], AsyncOpenAI], database_url: str, nats_url: str
) -> None:
    t = await make_tenant(database_url)
    raw = await client(t.key).chat.completions.with_raw_response.create(model="echo-model", messages=MSGS)
    resp = raw.parse()
    assert_valid("CreateChatCompletionResponse", json.loads(raw.content))
    assert resp.choices[0].message.content == "The capital of France is Paris."
    request_id = raw.headers["x-request-id"]
    events = [
        e
        for e in await usage_events(nats_url, gw.stream, gw.subject, 1)
        if e["client_request_id"] == request_id
    ]
    assert len(events) == 1
    ev = events[0]
    assert (ev["org_id"], ev["user_id"], ev["key_id"]) == (str(t.org_id), str(t.user_id), str(t.key_id))
    assert (ev["input_tokens"], ev["output_tokens"]) == (
        resp.usage.prompt_tokens,
        resp.usage.completion_tokens,
    )
    assert ev["model"] == "echo-model" and ev["status"] == "ok"


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("model", ["echo-model", "remote-model"])
async def test_chat_streaming_usage_chunk_only_when_asked(
    gw: Gateway,
    client: Callable[[str], AsyncOpenAI],
    database_url: str,
    nats_url: str,
    model: str,
    include_usage: bool,
) -> None:
    t = await make_tenant(database_url)
    kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
    raw = await client(t.key).chat.completions.with_raw_response.create(
        model=model, messages=MSGS, stream=True, **kwargs
    )
    stream = raw.parse()
    chunks = [c async for c in stream]
    for c in chunks:
        assert_valid("CreateChatCompletionStreamResponse", c.model_dump(mode="json", exclude_unset=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    with_usage = [c for c in chunks if c.usage]
    assert len(with_usage) == (1 if include_usage else 0)
    if model == "remote-model":  # the engine was always asked for usage
        assert gw.upstream.bodies[-1]["stream_options"] == {"include_usage": True}
    # the event carries the mapping's prices of this moment (cost history never rewritten)
    rid = raw.headers["x-request-id"]
    for _ in range(50):
        events = [
            e for e in await usage_events(nats_url, gw.stream, gw.subject, 1) if e["client_request_id"] == rid
        ]
        if events:
            break
        await asyncio.sleep(0.1)
    assert len(events) == 1
    prices = (Decimal(events[0]["price_input"]), Decimal(events[0]["price_output"]))
    assert prices == ((Decimal("0.15"), Decimal("0.6")) if model == "remote-model" else (0, 0))


async def test_completions_embeddings_and_models(
    gw: Gateway, client: Callable[[str], AsyncOpenAI], database_url: str
) -> None:
    t = await make_tenant(database_url)
    other = await make_tenant(database_url)
    await add_model(
        database_url, f"private-{uuid.uuid4().hex[:6]}", "serve", "echo-model", allowed=[other.org_id]
    )
    c = client(t.key)
    comp = await c.completions.with_raw_response.create(
        model="echo-model", prompt="one two three", max_tokens=2
    )
    assert_valid("CreateCompletionResponse", json.loads(comp.content))
    assert comp.parse().choices[0].text == "one two"
    streamed = await c.completions.create(model="echo-model", prompt="one two three", stream=True)
    chunks = [ch async for ch in streamed]
    for ch in chunks:
        assert_valid_completion_chunk(ch.model_dump(mode="json", exclude_unset=True))
    assert "".join(ch.choices[0].text for ch in chunks if ch.choices) == "one two three"
    emb = await c.embeddings.with_raw_response.create(
        model="echo-model", input=["a", "b"], encoding_format="float"
    )
    assert_valid("CreateEmbeddingResponse", json.loads(emb.content))
    decoded = await c.embeddings.create(
        model="echo-model", input="a"
    )  # the SDK's default: base64 on the wire
    assert decoded.data[0].embedding == pytest.approx(emb.parse().data[0].embedding, rel=1e-6)
    models = await c.models.with_raw_response.list()
    assert_valid("ListModelsResponse", json.loads(models.content))
    ids = {m.id for m in models.parse().data}
    assert {"echo-model", "remote-model"} <= ids and not any(i.startswith("private-") for i in ids)
    # the other org sees its private model once the catalog has refreshed (every 0.2 s here)
    for _ in range(50):
        if any(m.id.startswith("private-") for m in (await client(other.key).models.list()).data):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the private model never appeared for the org allowed to use it")


async def test_unknown_fields_are_accepted(
    gw: Gateway, client: Callable[[str], AsyncOpenAI], database_url: str
) -> None:
    t = await make_tenant(database_url)
    resp = await client(t.key).chat.completions.create(
        model="remote-model", messages=MSGS, extra_body={"no_such_option": {"x": 1}}
    )
    assert resp.choices[0].message.content
    assert "no_such_option" not in gw.upstream.bodies[-1]


async def _post(gw: Gateway, path: str, key: str | None, body: bytes | dict) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx.AsyncClient(timeout=30) as h:
        return await h.post(
            gw.base_url + path, content=content, headers={**headers, "Content-Type": "application/json"}
        )


def assert_openai_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert_valid("ErrorResponse", body)
    assert body["error"]["code"] == code
    return body["error"]


async def test_auth_errors_never_echo_the_key(
    gw: Gateway, client: Callable[[str], AsyncOpenAI], database_url: str
) -> None:
    body = {"model": "echo-model", "messages": MSGS}
    assert_openai_error(await _post(gw, "/chat/completions", None, body), 401, "invalid_api_key")
    fake = "ias-" + "x" * 43
    err = assert_openai_error(await _post(gw, "/chat/completions", fake, body), 401, "invalid_api_key")
    assert fake not in json.dumps(err) and err["type"] == "invalid_request_error" and err["param"] is None
    disabled = await make_tenant(database_url, active=False)
    assert_openai_error(await _post(gw, "/chat/completions", disabled.key, body), 403, "org_disabled")
    with pytest.raises(openai.AuthenticationError):
        await client(fake).models.list()


async def test_bad_input_and_unknown_model(
    gw: Gateway, client: Callable[[str], AsyncOpenAI], database_url: str
) -> None:
    t = await make_tenant(database_url)
    assert_openai_error(await _post(gw, "/chat/completions", t.key, b"{oops"), 400, "invalid_json")
    e = assert_openai_error(
        await _post(gw, "/chat/completions", t.key, {"model": "echo-model"}), 400, "invalid_request"
    )
    assert e["param"] == "messages"
    big = {"model": "echo-model", "messages": MSGS, "max_tokens": -5}
    assert (
        assert_openai_error(await _post(gw, "/chat/completions", t.key, big), 400, "invalid_request")["param"]
        == "max_tokens"
    )
    huge = {"model": "echo-model", "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]}
    assert_openai_error(await _post(gw, "/chat/completions", t.key, huge), 400, "request_too_large")
    nf = await _post(gw, "/chat/completions", t.key, {"model": "nope", "messages": MSGS})
    assert assert_openai_error(nf, 404, "model_not_found")["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        await client(t.key).chat.completions.create(model="nope", messages=MSGS)


async def used(gw: Gateway, t: Tenant) -> int:
    return await budget_used(gw.settings.redis_url or "", t.org_id)


async def test_budget_cannot_be_overspent_by_concurrency(
    gw: Gateway, client: Callable[[str], AsyncOpenAI], database_url: str, nats_url: str
) -> None:
    # each request reserves 3 + (4 + 8) prompt tokens + max_tokens 10 = 25; the limit fits N = 4
    t = await make_tenant(database_url, limit=100)
    c = client(t.key)

    async def one() -> str:
        try:
            await c.chat.completions.create(model="echo-model", messages=MSGS, max_tokens=10)
            return "ok"
        except openai.RateLimitError as e:
            assert e.body["code"] == "insufficient_quota" and e.body["type"] == "insufficient_quota"
            assert "limit 100" in e.body["message"]
            return "429"

    results = await asyncio.gather(*(one() for _ in range(40)))
    assert 1 <= results.count("ok") <= 4 and results.count("429") >= 36
    await asyncio.sleep(0.3)  # settlements run after the response
    assert await used(gw, t) <= 100


async def test_engine_failure_is_a_502_and_charges_only_the_prompt(
    gw: Gateway, database_url: str, nats_url: str
) -> None:
    """The engine took the request and failed: the reservation is released down to the prompt
    (the gateway's estimate: the engine gave no count), which is metered as an error."""
    t = await make_tenant(database_url, limit=10_000)
    body = {"model": "broken-model", "messages": MSGS}
    r1 = await _post(gw, "/chat/completions", t.key, body)
    assert_openai_error(r1, 502, "upstream_error")
    r2 = await _post(gw, "/chat/completions", t.key, {**body, "stream": True})
    assert_openai_error(r2, 502, "upstream_error")
    rids = {r1.headers["x-request-id"], r2.headers["x-request-id"]}
    events = [
        e for e in await usage_events(nats_url, gw.stream, gw.subject, 1) if e["client_request_id"] in rids
    ]
    for _ in range(50):
        if len(events) == 2:
            break
        await asyncio.sleep(0.1)
        events = [
            e
            for e in await usage_events(nats_url, gw.stream, gw.subject, 1)
            if e["client_request_id"] in rids
        ]
    prompt = 3 + 4 + 7  # cl100k counts MSGS as 7 tokens; the chat framing adds 3 + 4
    assert [(e["status"], e["input_tokens"], e["output_tokens"]) for e in events] == [
        ("error", prompt, 0)
    ] * 2
    await asyncio.sleep(0.3)
    assert await used(gw, t) == 2 * prompt


async def test_client_disconnect_cancels_the_engine_and_meters_what_was_sent(
    gw: Gateway, database_url: str, nats_url: str
) -> None:
    t = await make_tenant(database_url, limit=100_000)
    cancelled_before = gw.slow.cancelled
    async with (
        httpx.AsyncClient(timeout=30) as h,
        h.stream(
            "POST",
            gw.base_url + "/chat/completions",
            json={"model": "slow-model", "messages": MSGS, "stream": True},
            headers={"Authorization": f"Bearer {t.key}"},
        ) as r,
    ):
        request_id = r.headers["x-request-id"]
        seen = 0
        async for line in r.aiter_lines():
            seen += line.startswith("data: ")
            if seen >= 4:
                break  # leave mid-stream
    for _ in range(100):
        if gw.slow.cancelled > cancelled_before:
            break
        await asyncio.sleep(0.05)
    assert gw.slow.cancelled == cancelled_before + 1, "the upstream request was not cancelled"
    events = [
        e
        for e in await usage_events(nats_url, gw.stream, gw.subject, 1)
        if e["client_request_id"] == request_id
    ]
    for _ in range(50):
        if events:
            break
        await asyncio.sleep(0.1)
        events = [
            e
            for e in await usage_events(nats_url, gw.stream, gw.subject, 1)
            if e["client_request_id"] == request_id
        ]
    assert len(events) == 1 and events[0]["status"] == "cancelled"
    assert 3 <= events[0]["output_tokens"] < 40 and events[0]["input_tokens"] > 0
    assert await used(gw, t) == events[0]["input_tokens"] + events[0]["output_tokens"]


async def test_client_leaving_right_after_done_is_a_complete_answer(
    gw: Gateway, database_url: str, nats_url: str
) -> None:
    """The answer was whole ([DONE] relayed) when the client hung up, while the upstream still
    held its stream open: metered as ``ok``, not ``cancelled`` (seen through HAProxy in E2E)."""
    t = await make_tenant(database_url, limit=100_000)
    async with (
        httpx.AsyncClient(timeout=30) as h,
        h.stream(
            "POST",
            gw.base_url + "/chat/completions",
            json={"model": "slow-model", "messages": MSGS, "stream": True, "max_tokens": 3},
            headers={"Authorization": f"Bearer {t.key}"},
        ) as r,
    ):
        request_id = r.headers["x-request-id"]
        async for line in r.aiter_lines():
            if line == "data: [DONE]":
                break  # the SDK's behaviour: stop reading at [DONE], close the connection
    for _ in range(50):
        events = [
            e
            for e in await usage_events(nats_url, gw.stream, gw.subject, 1)
            if e["client_request_id"] == request_id
        ]
        if events:
            break
        await asyncio.sleep(0.1)
    assert len(events) == 1, events
    assert (events[0]["status"], events[0]["output_tokens"]) == ("ok", 3), events[0]


async def test_json_access_log_and_metrics(
    gw: Gateway, client: Callable[[str], AsyncOpenAI], database_url: str
) -> None:
    import io
    import logging

    from ias_serve.observability.logging import JsonFormatter

    t = await make_tenant(database_url)
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("ias.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        secret_prompt = "my secret prompt text"
        raw = await client(t.key).chat.completions.with_raw_response.create(
            model="echo-model", messages=[{"role": "user", "content": secret_prompt}]
        )
        await asyncio.sleep(0.1)
    finally:
        access.removeHandler(handler)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == raw.headers["x-request-id"]]
    assert len(mine) == 1, lines
    rec = mine[0]
    assert rec["org_id"] == str(t.org_id) and rec["model"] == "echo-model" and rec["status"] == 200
    assert rec["input_tokens"] == raw.parse().usage.prompt_tokens and rec["output_tokens"] == 4
    assert rec["latency_ms"] >= 0 and rec["level"] == "INFO"
    assert secret_prompt not in buf.getvalue() and t.key not in buf.getvalue()

    async with httpx.AsyncClient() as h:
        metrics = (await h.get(gw.base_url + "/metrics")).text
    assert 'ias_gateway_requests_total{model="echo-model",status="ok"}' in metrics
    assert f'ias_gateway_tokens_total{{direction="output",model="echo-model",org_id="{t.org_id}"}}' in metrics
    for name in (
        "ias_gateway_ttft_seconds",
        "ias_gateway_budget_rejections_total",
        "ias_auth_failures_total",
    ):
        assert name in metrics
    assert "ias_usage_publish_backlog" in metrics


async def test_unreachable_engine_is_a_503(
    gw: Gateway, client: Callable[[str], AsyncOpenAI], database_url: str, refused_port: int
) -> None:
    from tests.component.gateway_harness import add_model

    t = await make_tenant(database_url, limit=100_000)
    name = f"gone-{uuid.uuid4().hex[:6]}"
    await add_model(database_url, name, "remote_url", f"http://127.0.0.1:{refused_port}/v1")
    for _ in range(40):  # the catalog is refreshed in the background every 0.2 s here
        r = await _post(gw, "/chat/completions", t.key, {"model": name, "messages": MSGS})
        if r.status_code != 404:
            break
        await asyncio.sleep(0.1)
    assert_openai_error(r, 503, "service_unavailable")
    await asyncio.sleep(0.3)
    assert await used(gw, t) == 0
