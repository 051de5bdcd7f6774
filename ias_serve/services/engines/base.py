"""The one engine interface the gateway calls.

An engine *deployment* (echo-model here, Ray Serve LLM's `LLMServer` for vLLM) exposes
`chat(body)`, `completions(body)` and `embeddings(body)` as async generators: a non-streaming
call yields one JSON object (or an error object); a streaming call yields lists of ready SSE
strings (`"data: {json}\\n\\n"`, the last `"data: [DONE]\\n\\n"`), the shape `LLMServer` yields.

The gateway reaches every engine through an :class:`EngineClient`, whatever transport sits in
between (a Serve `DeploymentHandle`, an in-process object, HTTP to a remote URL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from ias_serve.errors import BadRequest, IASError, ServiceUnavailable, UpstreamError
from ias_serve.protocol.openai import Op


class EngineClient(Protocol):
    def stream(self, op: Op, body: dict[str, Any]) -> AsyncIterator[str]:
        """SSE text as the engine produces it (each item one or more complete events)."""
        ...

    async def call(self, op: Op, body: dict[str, Any]) -> dict[str, Any]:
        """One JSON response; raises an :class:`IASError` for an engine-side error."""
        ...


def engine_error(status: int, body: Any) -> IASError:
    """An engine's error response → the gateway's error (4xx stays the client's fault)."""
    message = "engine error"
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            message = str(err.get("message") or message)[:500]
        elif isinstance(err, str):
            message = err[:500]
    if status in (400, 422):
        return BadRequest(message, code="invalid_request")
    if status == 503:
        return ServiceUnavailable(f"engine unavailable: {message}")
    return UpstreamError(f"engine failed (HTTP {status}): {message}")


def single_result(result: Any) -> dict[str, Any]:
    """The one object a non-streaming engine call yields; an error object becomes an error."""
    if hasattr(result, "model_dump"):  # LLMServer yields pydantic models
        result = result.model_dump(mode="json")
    if not isinstance(result, dict):
        raise UpstreamError(f"engine returned {type(result).__name__}, not a JSON object")
    if ("error" in result and "object" not in result) or result.get("object") == "error":
        raise engine_error(error_status(result), result)
    return result


def error_status(body: dict[str, Any]) -> int:
    """The HTTP status an engine's error object carries (vLLM: `{"error": {"code": 400, …}}`)."""
    err = body.get("error")
    for holder in (err if isinstance(err, dict) else {}, body):
        for key in ("code", "status"):
            value = holder.get(key)
            if isinstance(value, int) and 400 <= value <= 599:
                return value
    return 502


def sse_text(batch: list[Any]) -> str:
    """One batch of a streaming engine call → SSE text; an error object in it → the error."""
    if all(isinstance(item, str) for item in batch):
        return "".join(batch)
    for item in batch:
        if not isinstance(item, str):
            single_result(item)  # raises for an error object
    raise UpstreamError("engine streamed something that is not server-sent events")


class LocalEngineClient:
    """An engine object in this process (tests, and engines co-located with the ingress)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def stream(self, op: Op, body: dict[str, Any]) -> AsyncIterator[str]:
        async for batch in getattr(self.engine, op)(body):
            if isinstance(batch, list):
                yield sse_text(batch)
            else:
                single_result(batch)  # an error object instead of a stream
                raise UpstreamError("engine answered a streaming request without a stream")

    async def call(self, op: Op, body: dict[str, Any]) -> dict[str, Any]:
        async for result in getattr(self.engine, op)(body):
            return single_result(result)
        raise UpstreamError("engine returned nothing")
