"""Engine deployments and the client the gateway uses to reach them through a handle.

`EchoEngineDeployment` serves `echo-model` (ias_serve/services/engines/echo.py) with the same
method names and output shapes as Ray Serve LLM's `LLMServer`, so the gateway composes both
the same way: `handle.options(stream=True).chat.remote(body)` yields lists of SSE strings for a
streaming request and one JSON object otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from ias_serve.errors import UpstreamError
from ias_serve.protocol.openai import Op
from ias_serve.services.engines.base import single_result
from ias_serve.services.engines.echo import EchoEngine


@serve.deployment(name="EchoEngine", ray_actor_options={"num_cpus": 0.1})
class EchoEngineDeployment(EchoEngine):
    """echo-model as a Serve deployment (one instance per replica)."""


class ServeEngineClient:
    """EngineClient over a DeploymentHandle: one Serve hop per batch the engine yields."""

    def __init__(self, handle: DeploymentHandle) -> None:
        self.handle = handle
        self.streaming = handle.options(stream=True)

    async def stream(self, op: Op, body: dict[str, Any]) -> AsyncIterator[str]:
        gen = getattr(self.streaming, op).remote(body)
        try:
            async for batch in gen:
                if isinstance(batch, list):
                    yield "".join(batch)
                else:
                    single_result(batch)  # an error object instead of a stream
                    raise UpstreamError("engine answered a streaming request without a stream")
        finally:
            gen.cancel()  # a no-op once finished; cancels the engine request on disconnect

    async def call(self, op: Op, body: dict[str, Any]) -> dict[str, Any]:
        gen = getattr(self.streaming, op).remote(body)
        try:
            async for result in gen:
                return single_result(result)
        finally:
            gen.cancel()
        raise UpstreamError("engine returned nothing")
