"""Engine deployments and the client the gateway uses to reach them through a handle.

`EchoEngineDeployment` serves `echo-model` (ias_serve/services/engines/echo.py) with the same
method names and output shapes as Ray Serve LLM's `LLMServer`, so the gateway composes both
the same way: `handle.options(stream=True).chat.remote(body)` yields lists of SSE strings for a
streaming request and one JSON object otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ray import exceptions as ray_errors
from ray import serve
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle

from ias_serve.errors import IASError, ServiceUnavailable, UpstreamError
from ias_serve.protocol.openai import Op
from ias_serve.services.engines.base import single_result, sse_text
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
                    yield sse_text(batch)
                else:
                    single_result(batch)  # an error object instead of a stream
                    raise UpstreamError("engine answered a streaming request without a stream")
        except Exception as e:
            raise _engine_failure(e) from e
        finally:
            gen.cancel()  # a no-op once finished; cancels the engine request on disconnect

    async def call(self, op: Op, body: dict[str, Any]) -> dict[str, Any]:
        gen = getattr(self.streaming, op).remote(body)
        try:
            async for result in gen:
                return single_result(result)
        except Exception as e:
            raise _engine_failure(e) from e
        finally:
            gen.cancel()
        raise UpstreamError("engine returned nothing")


def _engine_failure(e: Exception) -> IASError:
    """What went wrong between the gateway and an engine replica, as the gateway's error."""
    if isinstance(e, IASError):
        return e
    if isinstance(e, BackPressureError):
        return ServiceUnavailable("the engine is at capacity; retry shortly", code="engine_busy")
    if isinstance(e, DeploymentUnavailableError):
        return ServiceUnavailable("the engine is not available", code="engine_unavailable")
    if isinstance(e, ray_errors.ActorDiedError | ray_errors.ActorUnavailableError):
        return UpstreamError("the engine replica failed while serving this request")
    return UpstreamError(f"engine failed: {type(e).__name__}")
