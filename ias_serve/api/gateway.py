"""`/v1`: the OpenAI-compatible inference routes (thin: parse → one service call → response)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ias_serve.api.deps import Gateway, Principal, RequestId
from ias_serve.protocol.openai import Op
from ias_serve.services.gateway import Answered, Streamed

router = APIRouter(tags=["inference"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _respond(result: Answered | Streamed) -> JSONResponse | StreamingResponse:
    if isinstance(result, Streamed):
        return StreamingResponse(
            result.body, media_type="text/event-stream", headers={**SSE_HEADERS, **result.headers}
        )
    return JSONResponse(result.body, headers=result.headers or None)


async def _generate(op: Op, request: Request, gateway: Gateway, principal: Principal, request_id: RequestId):
    return _respond(await gateway.handle(op, principal, await request.body(), request_id))


@router.post("/chat/completions", summary="Create a chat completion (OpenAI-compatible)")
async def chat_completions(request: Request, gateway: Gateway, principal: Principal, request_id: RequestId):
    return await _generate("chat", request, gateway, principal, request_id)


@router.post("/completions", summary="Create a completion (OpenAI-compatible)")
async def completions(request: Request, gateway: Gateway, principal: Principal, request_id: RequestId):
    return await _generate("completions", request, gateway, principal, request_id)


@router.post("/embeddings", summary="Create embeddings (OpenAI-compatible)")
async def embeddings(request: Request, gateway: Gateway, principal: Principal, request_id: RequestId):
    return await _generate("embeddings", request, gateway, principal, request_id)


@router.get("/models", summary="Models this key's organisation may use")
async def models(gateway: Gateway, principal: Principal) -> JSONResponse:
    return JSONResponse(await gateway.models(principal))
