"""Real engines: Ray Serve LLM's `LLMServer` (vLLM) deployments, built from serve_config.yaml.

Everything vLLM-related is Ray Serve LLM's: `LLMConfig` (model source, engine kwargs,
accelerator, autoscaling, placement), `build_llm_deployment`, the `LLMServer` replica that
starts and drives the vLLM engine, its health check, stream batching and request ids. The
subclass below adds only what composing it behind our own gateway needs (each with its why):

1. **Plain data across the handle, both ways.** `LLMServer.chat` takes vLLM's pydantic
   `ChatCompletionRequest` and yields vLLM's response models. Built in the gateway, those
   would import vLLM (and torch) into every gateway replica and pickle pydantic objects on
   every hop. The gateway sends the request body as a dict; the replica validates it into
   vLLM's own request model (the same validation Ray's `OpenAiIngress` does) and sends back
   JSON-ready dicts. So a gateway pod needs no vLLM at all.
2. **The engine's own model id.** Clients name a public model (`test-model`); vLLM refuses a
   request for a model name it does not serve, so the replica puts its `model_id` in.
3. **First token unbatched.** Ray 2.60's stream `Batcher` waits out the whole batching
   interval before its first flush, adding up to the interval (default 50 ms) to the
   time-to-first-token of every stream (ray issue 59681; the upstream fix, ray PR 64534, is
   not released). We flush the first item as soon as vLLM produces it and batch the rest
   at the configured `experimental_configs.stream_batching_interval_ms`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from ray.serve import Application
from ray.serve.llm import LLMConfig, LLMServer, build_llm_deployment
from ray.serve.llm.openai_api_models import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
)

from ias_serve.errors import ConfigurationError
from ias_serve.protocol.openai import openai_response
from ias_serve.serve_config import LLMEngineSpec
from ias_serve.stack.models import resolve_source

try:  # Ray's internal batcher: the one `LLMServer` uses, reused for all but the first item
    from ray.llm._internal.serve.utils.batcher import Batcher
except ImportError:  # pragma: no cover - moved in a later Ray; then its own batching applies
    Batcher = None  # type: ignore[assignment,misc]


def _plain(item: Any) -> Any:
    """vLLM's pydantic response/error models → JSON-ready data in the OpenAI schemas' shape;
    SSE strings (already serialised by vLLM) stay as they are."""
    if isinstance(item, str):
        return item
    if isinstance(item, list):
        return [_plain(i) for i in item]
    if hasattr(item, "model_dump"):
        return openai_response(item.model_dump(mode="json"))
    return item


async def _plain_stream(gen: AsyncIterator[Any]) -> AsyncGenerator[Any, None]:
    async for item in gen:
        yield _plain(item)


async def _first_then_batched(gen: AsyncGenerator[Any, None], interval_ms: float | None):
    """The first item alone as soon as it exists, then Ray's batching for the rest."""
    try:
        first = await gen.__anext__()
    except StopAsyncIteration:
        return
    yield [first]
    if Batcher is None or interval_ms == 0:
        async for item in gen:
            yield [item]
        return
    async for batch in Batcher(gen, interval_ms=interval_ms).stream():
        yield batch


_REQUESTS: dict[str, TypeAdapter[Any]] = {
    "chat": TypeAdapter(ChatCompletionRequest),
    "completions": TypeAdapter(CompletionRequest),
    "embeddings": TypeAdapter(EmbeddingRequest),  # a union: `input` or `messages`
}


class IASLLMServer(LLMServer):
    """`LLMServer` taking and returning plain data (see the module docstring)."""

    def _request(self, op: str, body: Any) -> Any:
        if not isinstance(body, dict):
            return body  # already vLLM's model (Ray's own ingress, tests)
        try:
            return _REQUESTS[op].validate_python({**body, "model": self._llm_config.model_id})
        except ValidationError as e:
            return _InvalidRequest(e)

    def _batch_output_stream(self, generator: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
        if self._llm_config.experimental_configs.get("ias_first_token_unbatched", True) is False:
            return super()._batch_output_stream(generator)  # Ray's own behaviour (benchmarks)
        return _first_then_batched(generator, self._get_batch_interval_ms())

    async def _serve(self, op: str, body: Any, raw_request_info: Any) -> Any:
        request = self._request(op, body)
        if isinstance(request, _InvalidRequest):
            return _one(request.error())
        return _plain_stream(await getattr(super(), op)(request, raw_request_info))

    async def chat(self, request: Any, raw_request_info: Any = None) -> Any:  # type: ignore[override]
        return await self._serve("chat", request, raw_request_info)

    async def completions(self, request: Any, raw_request_info: Any = None) -> Any:  # type: ignore[override]
        return await self._serve("completions", request, raw_request_info)

    async def embeddings(self, request: Any, raw_request_info: Any = None) -> Any:  # type: ignore[override]
        return await self._serve("embeddings", request, raw_request_info)


class _InvalidRequest:
    def __init__(self, e: ValidationError) -> None:
        self.e = e

    def error(self) -> dict[str, Any]:
        first = self.e.errors()[0] if self.e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else str(self.e)
        return {"error": {"message": message, "type": "BadRequestError", "param": where or None, "code": 400}}


async def _one(item: Any) -> AsyncGenerator[Any, None]:
    yield item


def llm_config(spec: LLMEngineSpec, models_dir: Path) -> LLMConfig:
    """The engine's `LLMConfig`, validated by Ray Serve LLM, with `ias-models://` resolved."""
    raw = dict(spec.llm_config)
    mlc = dict(raw["model_loading_config"])
    if mlc.get("model_source"):
        mlc["model_source"] = resolve_source(str(mlc["model_source"]), models_dir)
    raw["model_loading_config"] = mlc
    try:
        return LLMConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigurationError(f"serve_config.yaml: engine {spec.name!r}: invalid llm_config: {e}") from e


def build_llm_engine(spec: LLMEngineSpec, models_dir: Path) -> Application:
    """One `LLMServer` deployment named `LLMServer:<engine name>`."""
    return build_llm_deployment(
        llm_config(spec, models_dir),
        deployment_cls=IASLLMServer,
        override_serve_options={"name": f"LLMServer:{spec.name}"},
    )
