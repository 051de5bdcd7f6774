"""The parts `deployments/llm.py` adds to Ray Serve LLM's `LLMServer`, without starting vLLM:
first-token flushing, plain-data conversion, request validation into vLLM's models."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

from deployments.llm import IASLLMServer, _first_then_batched, _plain


async def tokens(n: int, every_s: float, first_after_s: float = 0.0) -> AsyncGenerator[str, None]:
    await asyncio.sleep(first_after_s)
    for i in range(n):
        if i:
            await asyncio.sleep(every_s)
        yield f"data: {i}\n\n"


async def test_first_item_is_not_held_for_the_batching_interval() -> None:
    t0 = time.perf_counter()
    out: list[tuple[float, list[str]]] = []
    async for batch in _first_then_batched(tokens(10, 0.01, first_after_s=0.02), interval_ms=200):
        out.append((time.perf_counter() - t0, batch))
    first_at, first = out[0]
    assert first == ["data: 0\n\n"] and first_at < 0.15  # Ray's own batcher: >= 0.2 s
    assert [item for _, batch in out for item in batch] == [f"data: {i}\n\n" for i in range(10)]
    assert len(out) < 10  # the rest was batched


async def test_interval_zero_streams_every_item_and_empty_stream_ends() -> None:
    batches = [b async for b in _first_then_batched(tokens(3, 0.0), interval_ms=0)]
    assert batches == [["data: 0\n\n"], ["data: 1\n\n"], ["data: 2\n\n"]]
    assert [b async for b in _first_then_batched(tokens(0, 0.0), interval_ms=50)] == []


def test_plain_turns_vllm_models_into_openai_json() -> None:
    from ray.serve.llm.openai_api_models import ErrorResponse

    err = ErrorResponse.model_validate({"error": {"message": "bad", "type": "BadRequestError", "code": 400}})
    assert _plain(err) == {"error": {"message": "bad", "type": "BadRequestError", "code": 400}}
    assert _plain(["data: x\n\n", err])[1]["error"]["code"] == 400
    assert _plain("data: [DONE]\n\n") == "data: [DONE]\n\n"


def server(model_id: str = "engine-model") -> IASLLMServer:
    from ray.serve.llm import LLMConfig

    s = IASLLMServer.__new__(IASLLMServer)  # no engine: only the request handling is tested
    s._llm_config = LLMConfig(model_loading_config={"model_id": model_id}, accelerator_config={"kind": "cpu"})
    return s


def test_request_dict_becomes_vllm_request_for_the_engines_own_model() -> None:
    s = server()
    chat = s._request(
        "chat", {"model": "test-model", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    )
    assert type(chat).__name__ == "ChatCompletionRequest" and chat.model == "engine-model" and chat.stream
    emb = s._request("embeddings", {"model": "test-embed", "input": ["a", "b"]})
    assert type(emb).__name__ == "EmbeddingCompletionRequest" and emb.model == "engine-model"
    bad = s._request("completions", {"model": "m", "prompt": "x", "max_tokens": "many"})
    error = bad.error()["error"]
    assert error["code"] == 400 and error["param"] == "max_tokens" and "max_tokens" in error["message"]


async def test_invalid_request_is_answered_with_an_error_object_not_an_exception() -> None:
    s = server()
    gen = await s.chat({"model": "m", "messages": "not a list"})
    items = [item async for item in gen]
    assert len(items) == 1 and items[0]["error"]["code"] == 400 and items[0]["error"]["param"] == "messages"
