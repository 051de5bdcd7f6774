"""A model mapped to a remote OpenAI-compatible URL (e.g. an existing vLLM Service).

The mapping's target is the base URL of the upstream's OpenAI API (`http://host:8000/v1`); the
request goes there as the client sent it (public model name included), straight from the
gateway ingress (no extra Serve hop). aiohttp, not httpx: on the streaming hot path httpx's
client cost about 17% of the ingress replica's CPU (py-spy, bench/gateway.py load).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from ias_serve.errors import ServiceUnavailable
from ias_serve.protocol.openai import Op
from ias_serve.services.engines.base import engine_error

PATHS: dict[str, str] = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
}


class RemoteEngineClient:
    def __init__(self, target: str, session: aiohttp.ClientSession, *, api_key: str | None = None) -> None:
        self.base = target.rstrip("/")
        self.session = session
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def call(self, op: Op, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self.session.post(self.base + PATHS[op], json=body, headers=self.headers) as r:
                raw = await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ServiceUnavailable(f"engine unreachable: {type(e).__name__}") from None
        data = _json(raw)
        if status >= 400:
            raise engine_error(status, data)
        return data

    async def stream(self, op: Op, body: dict[str, Any]) -> AsyncIterator[str]:
        try:
            resp = await self.session.post(self.base + PATHS[op], json=body, headers=self.headers)
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ServiceUnavailable(f"engine unreachable: {type(e).__name__}") from None
        complete = False
        try:
            if resp.status >= 400:
                raise engine_error(resp.status, _json(await resp.read()))
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            pending = ""
            async for data in resp.content.iter_any():
                # forward whole SSE events only; keep a partial one for the next read
                pending += decoder.decode(data)
                cut = pending.rfind("\n\n")
                if cut >= 0:
                    ready, pending = pending[: cut + 2], pending[cut + 2 :]
                    yield ready
            pending += decoder.decode(b"", final=True)
            complete = True
            if pending.strip():
                yield pending if pending.endswith("\n\n") else pending + "\n\n"
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ServiceUnavailable(f"engine stream broke: {type(e).__name__}") from None
        finally:
            if complete:
                resp.release()  # the connection goes back to the pool
            else:
                resp.close()  # cut short (client gone, error): the upstream sees the disconnect


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return {"error": {"message": raw[:200].decode(errors="replace")}}
