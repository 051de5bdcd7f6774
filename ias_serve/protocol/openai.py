"""The OpenAI wire format of `/v1`, as the gateway needs it.

The gateway validates only the fields it acts on (model, messages/prompt/input, stream,
stream_options, max_tokens, n); the engine validates the rest. Which request fields exist is
taken from the official `openai` SDK's parameter types, not retyped here: fields outside that
set are accepted and ignored (dropped before the engine sees them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from openai.types import completion_create_params as _completion_params
from openai.types import embedding_create_params as _embedding_params
from openai.types.chat import completion_create_params as _chat_params
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ias_serve.errors import BadRequest

Op = Literal["chat", "completions", "embeddings"]

# What the official API defines for each operation (+ `stream`, which the SDK models apart).
FORWARDED_FIELDS: Mapping[Op, frozenset[str]] = {
    "chat": frozenset(_chat_params.CompletionCreateParamsBase.__annotations__) | {"stream"},
    "completions": frozenset(_completion_params.CompletionCreateParamsBase.__annotations__) | {"stream"},
    "embeddings": frozenset(_embedding_params.EmbeddingCreateParams.__annotations__),
}

MAX_TOKENS_CEILING = 1_000_000  # "absurd" beyond this, whatever the model

PositiveTokens = Annotated[int, Field(ge=1, le=MAX_TOKENS_CEILING, strict=True)]
StrictBool = Annotated[bool, Field(strict=True)]


class _Lenient(BaseModel):
    """Unknown fields are accepted (and later dropped), never rejected."""

    model_config = ConfigDict(extra="allow", frozen=True)


class StreamOptions(_Lenient):
    include_usage: StrictBool = False


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    function_call: dict[str, Any] | None = None


class _Generation(_Lenient):
    model: str = Field(min_length=1, max_length=256)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    max_tokens: PositiveTokens | None = None
    n: Annotated[int, Field(ge=1, le=16, strict=True)] = 1

    @property
    def include_usage(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)


class ChatCompletionRequest(_Generation):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: PositiveTokens | None = None
    tools: list[dict[str, Any]] | None = None
    functions: list[dict[str, Any]] | None = None

    @property
    def max_output_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class CompletionRequest(_Generation):
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: PositiveTokens | None = 16  # the API's default for completions
    best_of: Annotated[int, Field(ge=1, le=16, strict=True)] | None = None
    suffix: str | None = None

    @property
    def max_output_tokens(self) -> int | None:
        return self.max_tokens


class EmbeddingRequest(_Lenient):
    model: str = Field(min_length=1, max_length=256)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Annotated[int, Field(ge=1, le=65536, strict=True)] | None = None


REQUEST_MODELS: Mapping[Op, type[_Lenient]] = {
    "chat": ChatCompletionRequest,
    "completions": CompletionRequest,
    "embeddings": EmbeddingRequest,
}


def parse_request(op: Op, raw: bytes, *, max_bytes: int) -> tuple[Any, dict[str, Any]]:
    """Body bytes → (validated request model, body to forward to the engine).

    Raises :class:`BadRequest` with the offending parameter named; never echoes the body.
    """
    if len(raw) > max_bytes:
        raise BadRequest(
            f"request body of {len(raw)} bytes exceeds the limit of {max_bytes}", code="request_too_large"
        )
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", code="invalid_json")
    try:
        req = REQUEST_MODELS[op].model_validate(body)
    except ValidationError as e:
        err = e.errors(include_url=False, include_input=False)[0]
        param = ".".join(str(p) for p in err["loc"]) or None
        raise BadRequest(
            f"invalid request: {param}: {err['msg']}", param=param, code="invalid_request"
        ) from None
    allowed = FORWARDED_FIELDS[op]
    return req, {k: v for k, v in body.items() if k in allowed}


@dataclass(frozen=True, slots=True)
class PromptParts:
    """What a request asks the engine to read, for the gateway's token estimate.

    ``texts`` are counted with the tokenizer; ``token_ids`` are prompts given as token ids
    (counted as they are); ``non_text_parts`` are images, audio and files (counted at a fixed
    rate by the caller); ``overhead`` is the chat template's per-message framing.
    """

    texts: tuple[str, ...]
    prompts: int
    token_ids: int = 0
    non_text_parts: int = 0
    overhead: int = 0

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)


def prompt_parts(op: Op, req: Any) -> PromptParts:
    """The parts of a validated request that the engine reads as its prompt: message texts,
    tool calls and tool/function schemas (chat), or every prompt/input of a batch."""
    if op == "chat":
        texts: list[str] = []
        non_text = 0
        for m in req.messages:
            texts.append(message_text(m.content))
            if isinstance(m.content, list):
                non_text += sum(1 for p in m.content if not (isinstance(p, dict) and p.get("type") == "text"))
            for extra in (m.tool_calls, m.function_call):
                if extra:
                    texts.append(_compact(extra))
        for schemas in (req.tools, req.functions):
            if schemas:
                texts.append(_compact(schemas))
        # the chat template: ~4 tokens around each message, 3 to prime the answer
        return PromptParts(tuple(texts), 1, non_text_parts=non_text, overhead=3 + 4 * len(req.messages))
    value = req.prompt if op == "completions" else req.input
    suffix = (req.suffix,) if op == "completions" and req.suffix else ()
    if isinstance(value, str):
        return PromptParts((value, *suffix), 1)
    if value and all(isinstance(v, int) for v in value):
        return PromptParts(suffix, 1, token_ids=len(value))
    return PromptParts(
        tuple(v for v in value if isinstance(v, str)) + suffix,
        len(value),
        token_ids=sum(len(v) for v in value if isinstance(v, list)),
    )


def with_max_tokens(op: Op, body: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """The body to forward, with an explicit output bound: every max-tokens field the client
    sent is set to ``max_tokens`` (chat may carry ``max_completion_tokens`` and/or the older
    ``max_tokens``), and ``max_tokens`` when it sent none."""
    fields = [f for f in ("max_completion_tokens", "max_tokens") if op == "chat" and body.get(f) is not None]
    return {**body, **{f: max_tokens for f in fields or ["max_tokens"]}}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def message_text(content: Any) -> str:
    """The text of a chat message's `content`: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


# Keys the OpenAI schemas require even when null (chat `message.content` / `message.refusal`,
# `choices[].logprobs` of chat and completions); any other null means "absent" there.
REQUIRED_NULLABLE = frozenset({"content", "refusal", "logprobs"})


def openai_response(payload: Any) -> Any:
    """An engine's whole (non-streamed) response as the OpenAI schemas have it: vLLM's pydantic
    responses dump every optional field, as null (`function_call`, `annotations`,
    `prompt_tokens_details`, …), where the API leaves them out. Lists of numbers (embeddings)
    are returned as they are, without a walk over them."""
    if isinstance(payload, dict):
        return {k: openai_response(v) for k, v in payload.items() if v is not None or k in REQUIRED_NULLABLE}
    if isinstance(payload, list) and payload and isinstance(payload[0], dict | list):
        return [openai_response(v) for v in payload]
    return payload
