"""echo-model: deterministic answers, real token counts, OpenAI-valid shapes."""

from __future__ import annotations

import base64
import json
import struct

import pytest

from ias_serve.services.engines.base import LocalEngineClient
from ias_serve.services.engines.echo import EchoEngine
from tests.openai_schema import assert_valid, assert_valid_completion_chunk

ENGINE = LocalEngineClient(EchoEngine())
MSGS = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Héllo wörld, echo me!"}]


def events(sse_text: str) -> list[str]:
    return [e.removeprefix("data: ") for e in sse_text.split("\n\n") if e]


async def collect(op: str, body: dict) -> list[str]:
    out = []
    async for text in ENGINE.stream(op, body):  # type: ignore[arg-type]
        out.extend(events(text))
    return out


async def test_chat_echoes_the_last_user_message_with_exact_counts() -> None:
    enc = EchoEngine().enc
    resp = await ENGINE.call("chat", {"model": "echo-model", "messages": MSGS})
    assert_valid("CreateChatCompletionResponse", resp)
    assert resp["choices"][0]["message"]["content"] == "Héllo wörld, echo me!"
    assert resp["choices"][0]["finish_reason"] == "stop"
    expected_prompt = 3 + sum(4 + len(enc.encode(m["content"])) for m in MSGS)
    assert resp["usage"] == {
        "prompt_tokens": expected_prompt,
        "completion_tokens": len(enc.encode("Héllo wörld, echo me!")),
        "total_tokens": expected_prompt + len(enc.encode("Héllo wörld, echo me!")),
    }


async def test_chat_max_tokens_cuts_with_finish_reason_length() -> None:
    resp = await ENGINE.call("chat", {"model": "echo-model", "messages": MSGS, "max_tokens": 2, "n": 2})
    assert [c["finish_reason"] for c in resp["choices"]] == ["length", "length"]
    assert resp["usage"]["completion_tokens"] == 4


@pytest.mark.parametrize("include_usage", [True, False])
async def test_chat_stream_chunks_are_valid_and_add_up(include_usage: bool) -> None:
    body = {
        "model": "echo-model",
        "messages": MSGS,
        "stream": True,
        "stream_options": {"include_usage": include_usage},
    }
    evs = await collect("chat", body)
    assert evs[-1] == "[DONE]"
    chunks = [json.loads(e) for e in evs[:-1]]
    for c in chunks:
        assert_valid("CreateChatCompletionStreamResponse", c)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Héllo wörld, echo me!"
    usage_chunks = [c for c in chunks if c.get("usage")]
    assert len(usage_chunks) == (1 if include_usage else 0)
    if include_usage:
        assert usage_chunks[0]["choices"] == [] and usage_chunks[0]["usage"]["completion_tokens"] > 0


async def test_stream_comes_in_two_batches_first_one_small() -> None:
    batches = [b async for b in EchoEngine().chat({"model": "m", "messages": MSGS, "stream": True})]
    assert len(batches) == 2 and len(batches[0]) == 2


async def test_completions_and_streamed_completions() -> None:
    resp = await ENGINE.call(
        "completions", {"model": "echo-model", "prompt": ["one two", "three"], "max_tokens": 1}
    )
    assert_valid("CreateCompletionResponse", resp)
    assert [c["text"] for c in resp["choices"]] == ["one", "three"]
    assert resp["usage"]["completion_tokens"] == 2
    evs = await collect("completions", {"model": "echo-model", "prompt": "a b c", "stream": True})
    chunks = [json.loads(e) for e in evs[:-1]]
    for c in chunks:
        assert_valid_completion_chunk(c)
    assert "".join(c["choices"][0]["text"] for c in chunks) == "a b c"


async def test_embeddings_are_deterministic_unit_vectors() -> None:
    a = await ENGINE.call("embeddings", {"model": "echo-model", "input": ["x", "y"]})
    b = await ENGINE.call("embeddings", {"model": "echo-model", "input": "x", "dimensions": 16})
    assert_valid("CreateEmbeddingResponse", a)
    assert a["data"][0]["embedding"] == b["data"][0]["embedding"] != a["data"][1]["embedding"]
    assert abs(sum(v * v for v in a["data"][0]["embedding"]) - 1) < 1e-9
    c = await ENGINE.call("embeddings", {"model": "echo-model", "input": "x", "encoding_format": "base64"})
    floats = struct.unpack("<16f", base64.b64decode(c["data"][0]["embedding"]))
    assert floats == pytest.approx(a["data"][0]["embedding"], rel=1e-6)
