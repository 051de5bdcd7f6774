from __future__ import annotations

import json

import pytest

from ias_serve.errors import BadRequest
from ias_serve.protocol.openai import FORWARDED_FIELDS, openai_response, parse_request


def body(**kw: object) -> bytes:
    return json.dumps(kw).encode()


def test_unknown_fields_are_accepted_and_not_forwarded() -> None:
    req, fwd = parse_request(
        "chat",
        body(model="m", messages=[{"role": "user", "content": "hi"}], temperature=0.2, frobnicate=True),
        max_bytes=10_000,
    )
    assert req.model == "m" and req.stream is False and req.max_output_tokens is None
    assert fwd == {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2}


def test_forwarded_fields_come_from_the_official_sdk() -> None:
    assert {"messages", "max_tokens", "stream", "stream_options", "tools"} <= FORWARDED_FIELDS["chat"]
    assert {"prompt", "suffix", "stream"} <= FORWARDED_FIELDS["completions"]
    assert FORWARDED_FIELDS["embeddings"] >= {"input", "model", "dimensions", "encoding_format"}


def test_stream_options_and_token_limits() -> None:
    req, _ = parse_request(
        "chat",
        body(
            model="m",
            messages=[{"role": "user", "content": "x"}],
            stream=True,
            stream_options={"include_usage": True},
            max_completion_tokens=7,
            max_tokens=9,
        ),
        max_bytes=10_000,
    )
    assert req.include_usage and req.max_output_tokens == 7
    comp, _ = parse_request("completions", body(model="m", prompt=[1, 2, 3]), max_bytes=10_000)
    assert comp.max_output_tokens == 16 and not comp.include_usage  # the API's default


@pytest.mark.parametrize(
    ("op", "raw", "param", "code"),
    [
        ("chat", b"{not json", None, "invalid_json"),
        ("chat", b"[1, 2]", None, "invalid_json"),
        ("chat", body(messages=[{"role": "user", "content": "x"}]), "model", "invalid_request"),
        ("chat", body(model="m"), "messages", "invalid_request"),
        ("chat", body(model="m", messages=[]), "messages", "invalid_request"),
        (
            "chat",
            body(model="m", messages=[{"role": "wizard", "content": "x"}]),
            "messages.0.role",
            "invalid_request",
        ),
        (
            "chat",
            body(model="m", messages=[{"role": "user"}], max_tokens=-1),
            "max_tokens",
            "invalid_request",
        ),
        (
            "chat",
            body(model="m", messages=[{"role": "user"}], max_tokens=10**9),
            "max_tokens",
            "invalid_request",
        ),
        (
            "chat",
            body(model="m", messages=[{"role": "user"}], max_tokens="12"),
            "max_tokens",
            "invalid_request",
        ),
        ("chat", body(model="m", messages=[{"role": "user"}], stream="yes"), "stream", "invalid_request"),
        ("completions", body(model="m"), "prompt", "invalid_request"),
        (
            "embeddings",
            body(model="m", input="x", encoding_format="hex"),
            "encoding_format",
            "invalid_request",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(op: str, raw: bytes, param: str | None, code: str) -> None:
    with pytest.raises(BadRequest) as exc:
        parse_request(op, raw, max_bytes=10_000)  # type: ignore[arg-type]
    assert exc.value.status == 400 and exc.value.code == code
    assert exc.value.param == param


def test_oversized_body() -> None:
    with pytest.raises(BadRequest) as exc:
        parse_request("chat", b" " * 2048, max_bytes=1024)
    assert exc.value.code == "request_too_large" and "1024" in exc.value.message


def test_error_message_never_echoes_the_body() -> None:
    secret = "sk-very-secret-value"
    with pytest.raises(BadRequest) as exc:
        parse_request("chat", body(model="m", messages=secret), max_bytes=10_000)
    assert secret not in exc.value.message


def test_message_text_of_strings_and_parts() -> None:
    from ias_serve.protocol.openai import message_text

    assert message_text("hi") == "hi"
    assert (
        message_text([{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}])
        == "ab"
    )
    assert message_text(None) == ""


def test_openai_response_drops_nulls_the_api_leaves_out_and_keeps_required_ones() -> None:
    vllm_like = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "function_call": None,
                    "annotations": None,
                    "tool_calls": [],
                },
                "logprobs": None,
                "finish_reason": "length",
                "stop_reason": None,
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "prompt_tokens_details": None},
        "kv_transfer_params": None,
    }
    out = openai_response(vllm_like)
    choice = out["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": None, "refusal": None, "tool_calls": []}
    assert "logprobs" in choice and choice["logprobs"] is None and "stop_reason" not in choice
    assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 2}
    assert "kv_transfer_params" not in out
    vector = [0.5, -1.0, 0.25]
    emb = openai_response({"data": [{"embedding": vector, "index": 0}], "model": "m"})
    assert emb["data"][0]["embedding"] is vector  # numbers are not walked or copied
    assert openai_response([[{"a": None}]]) == [[{}]] and openai_response("x") == "x"
