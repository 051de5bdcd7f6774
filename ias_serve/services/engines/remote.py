"""A model mapped to a remote OpenAI-compatible URL (e.g. an existing vLLM Service).

The mapping's target is the base URL of the upstream's OpenAI API (`http://host:8000/v1`); the
request goes there as the client sent it (public model name included), straight from the
gateway ingress (no extra Serve hop).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ias_serve.errors import ServiceUnavailable
from ias_serve.protocol.openai import Op
from ias_serve.services.engines.base import engine_error

PATHS: dict[str, str] = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
}


class RemoteEngineClient:
    def __init__(self, target: str, http: httpx.AsyncClient, *, api_key: str | None = None) -> None:
        self.base = target.rstrip("/")
        self.http = http
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def call(self, op: Op, body: dict[str, Any]) -> dict[str, Any]:
        try:
            r = await self.http.post(self.base + PATHS[op], json=body, headers=self.headers)
        except httpx.HTTPError as e:
            raise ServiceUnavailable(f"engine unreachable: {type(e).__name__}") from None
        data = _json(r.content)
        if r.status_code >= 400:
            raise engine_error(r.status_code, data)
        return data

    async def stream(self, op: Op, body: dict[str, Any]) -> AsyncIterator[str]:
        req = self.http.build_request("POST", self.base + PATHS[op], json=body, headers=self.headers)
        try:
            resp = await self.http.send(req, stream=True)
        except httpx.HTTPError as e:
            raise ServiceUnavailable(f"engine unreachable: {type(e).__name__}") from None
        try:
            if resp.status_code >= 400:
                raise engine_error(resp.status_code, _json(await resp.aread()))
            pending = ""
            async for text in resp.aiter_text():
                # forward whole SSE events only; keep a partial one for the next read
                pending += text
                cut = pending.rfind("\n\n")
                if cut >= 0:
                    ready, pending = pending[: cut + 2], pending[cut + 2 :]
                    yield ready
            if pending.strip():
                yield pending if pending.endswith("\n\n") else pending + "\n\n"
        except httpx.HTTPError as e:
            raise ServiceUnavailable(f"engine stream broke: {type(e).__name__}") from None
        finally:
            await resp.aclose()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return {"error": {"message": raw[:200].decode(errors="replace")}}
