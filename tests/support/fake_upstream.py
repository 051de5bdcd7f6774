"""A small, fast OpenAI-compatible upstream (stands in for an existing vLLM Service).

    python -m tests.support.fake_upstream --port 9000 [--tokens 16] [--token-delay-ms 0]

Chat answers are `tokens` words ("tok0 tok1 …", one SSE chunk each, usage chunk when asked);
`max_tokens` caps them. `GET /stats` reports requests seen and streams cut off by the client,
so tests can prove a disconnect reached the engine. Used by tests and bench/gateway.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route


@dataclass
class Stats:
    requests: int = 0
    cancelled: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)


def create_app(
    tokens: int = 16,
    token_delay_s: float = 0.0,
    fail_status: int | None = None,
    linger_after_done_s: float = 0.0,
) -> Starlette:
    """``linger_after_done_s``: keep a stream open that long after ``[DONE]`` (a proxy or a slow
    server closing late): the client has the whole answer before the stream ends."""
    stats = Stats()

    def usage(prompt: int, completion: int) -> dict[str, int]:
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    async def chat(request: Request) -> Any:
        body = await request.json()
        stats.requests += 1
        stats.bodies.append(body)
        if fail_status:
            return JSONResponse(
                {"error": {"message": "upstream exploded", "type": "server_error"}}, fail_status
            )
        n = min(tokens, int(body.get("max_tokens") or body.get("max_completion_tokens") or tokens))
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", [])) + 3
        rid, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), body["model"]
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": rid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": " ".join(f"tok{i}" for i in range(n)),
                            },
                            "logprobs": None,
                            "finish_reason": "length" if n < tokens else "stop",
                        }
                    ],
                    "usage": usage(prompt, n),
                }
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        head = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model}

        def ev(payload: dict[str, Any]) -> str:
            return f"data: {json.dumps(payload)}\n\n"

        async def gen():
            done = False
            try:
                yield ev(
                    {
                        **head,
                        "choices": [
                            {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                        ],
                    }
                )
                for i in range(n):
                    if token_delay_s:
                        await asyncio.sleep(token_delay_s)
                    yield ev(
                        {
                            **head,
                            "choices": [
                                {"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}
                            ],
                        }
                    )
                yield ev({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if include_usage:
                    yield ev({**head, "choices": [], "usage": usage(prompt, n)})
                yield "data: [DONE]\n\n"
                done = True
                if linger_after_done_s:
                    await asyncio.sleep(linger_after_done_s)
            finally:
                if not done:
                    stats.cancelled += 1

        return StreamingResponse(gen(), media_type="text/event-stream")

    async def models(_: Request) -> JSONResponse:
        return JSONResponse(
            {"object": "list", "data": [{"id": "up", "object": "model", "created": 0, "owned_by": "x"}]}
        )

    async def get_stats(_: Request) -> JSONResponse:
        return JSONResponse({"requests": stats.requests, "cancelled": stats.cancelled})

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/models", models),
            Route("/stats", get_stats),
        ]
    )
    app.state.stats = stats
    return app


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tokens", type=int, default=16)
    p.add_argument("--token-delay-ms", type=float, default=0.0)
    a = p.parse_args()
    uvicorn.run(
        create_app(a.tokens, a.token_delay_ms / 1000),
        host="127.0.0.1",
        port=a.port,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
