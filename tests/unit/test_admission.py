"""What a request may cost before the engine runs: output bound, reservation, charge rule,
the prompt parts the estimate counts, and the explicit max_tokens forwarded."""

from __future__ import annotations

import json

import pytest

from ias_serve.domain.admission import (
    EngineOutcome,
    OutputPolicy,
    charged_prompt,
    duration_text,
    output_bound,
    reservation,
)
from ias_serve.protocol.openai import parse_request, prompt_parts, with_max_tokens
from ias_serve.protocol.usage import UsageEvent, new_usage_id

POLICY = OutputPolicy(default_max_tokens=100, max_output_tokens=1000)


def test_output_bound_is_the_clients_clamped_or_the_default() -> None:
    assert output_bound(None, POLICY) == 100
    assert output_bound(7, POLICY) == 7
    assert output_bound(5000, POLICY) == 1000
    with pytest.raises(ValueError):
        OutputPolicy(default_max_tokens=2000, max_output_tokens=1000)


def test_reservation_covers_every_prompt_and_sequence() -> None:
    # the case: 200 prompts × max_tokens 16 must reserve 200 × 16, not 16
    assert reservation(4000, prompts=200, sequences=1, max_tokens=16) == 4000 + 3200
    assert reservation(10, prompts=1, sequences=4, max_tokens=50) == 210
    assert reservation(10, prompts=0, sequences=1, max_tokens=5) == 15  # an empty batch still bounds
    assert reservation(10, prompts=3, sequences=1, max_tokens=0) == 10  # embeddings
    with pytest.raises(ValueError):
        reservation(-1, prompts=1, sequences=1, max_tokens=1)


def test_unfinished_requests_are_charged_their_prompt_unless_never_taken() -> None:
    assert charged_prompt(EngineOutcome.WORKED, None, 42) == 42
    assert charged_prompt(EngineOutcome.WORKED, 40, 42) == 40  # the engine's count wins
    assert charged_prompt(EngineOutcome.COMPLETED, 40, 42) == 40
    assert charged_prompt(EngineOutcome.NOT_TAKEN, 40, 42) == 0
    assert charged_prompt(EngineOutcome.WORKED, -3, 42) == 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-1, "0s"),
        (0.0201, "21ms"),
        (0.0004, "1ms"),
        (1, "1s"),
        (1.2, "2s"),
        (360, "6m0s"),
        (3723, "1h2m3s"),
    ],
)
def test_duration_text_is_openais_format(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def _chat(**body: object):
    return parse_request("chat", json.dumps({"model": "m", **body}).encode(), max_bytes=1 << 20)[0]


def test_chat_parts_count_tool_schemas_tool_calls_and_non_text_parts() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    call = [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    ]
    req = _chat(
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {}}],
            },
            {"role": "assistant", "content": None, "tool_calls": call},
            {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
        ],
        tools=tools,
        functions=[{"name": "legacy"}],
    )
    parts = prompt_parts("chat", req)
    assert parts.prompts == 1 and parts.non_text_parts == 1 and parts.overhead == 3 + 4 * 3
    joined = " ".join(parts.texts)
    assert "look" in joined and "sunny" in joined and "Paris" in joined
    assert "get_weather" in joined and "legacy" in joined
    assert parts.chars == sum(len(t) for t in parts.texts)


@pytest.mark.parametrize(
    ("prompt", "prompts", "texts", "ids"),
    [
        ("one", 1, ("one",), 0),
        (["a", "b", "c"], 3, ("a", "b", "c"), 0),
        ([1, 2, 3], 1, (), 3),
        ([[1, 2], [3]], 2, (), 3),
    ],
)
def test_completion_parts_count_every_prompt_of_a_batch(prompt, prompts, texts, ids) -> None:
    req = parse_request(
        "completions", json.dumps({"model": "m", "prompt": prompt}).encode(), max_bytes=1 << 20
    )[0]
    parts = prompt_parts("completions", req)
    assert (parts.prompts, parts.texts, parts.token_ids) == (prompts, texts, ids)
    emb = parse_request(
        "embeddings", json.dumps({"model": "m", "input": prompt}).encode(), max_bytes=1 << 20
    )[0]
    assert prompt_parts("embeddings", emb).prompts == prompts


def test_a_completion_suffix_is_part_of_the_prompt() -> None:
    body = {"model": "m", "prompt": ["a", "b"], "suffix": "tail"}
    req = parse_request("completions", json.dumps(body).encode(), max_bytes=1 << 20)[0]
    assert prompt_parts("completions", req).texts == ("a", "b", "tail")


def test_best_of_is_bounded_like_n() -> None:
    from ias_serve.errors import BadRequest

    with pytest.raises(BadRequest) as e:
        parse_request("completions", b'{"model": "m", "prompt": "x", "best_of": 17}', max_bytes=1 << 20)
    assert e.value.param == "best_of"


def test_an_explicit_max_tokens_is_always_forwarded() -> None:
    assert with_max_tokens("chat", {"model": "m"}, 64) == {"model": "m", "max_tokens": 64}
    # every bound the client sent is replaced, whichever the engine honours first
    assert with_max_tokens("chat", {"max_completion_tokens": 9000, "max_tokens": 5}, 64) == {
        "max_completion_tokens": 64,
        "max_tokens": 64,
    }
    assert with_max_tokens("chat", {"max_completion_tokens": 9000}, 64) == {"max_completion_tokens": 64}
    assert with_max_tokens("completions", {"max_tokens": 9000}, 64) == {"max_tokens": 64}


def test_usage_ids_are_fresh_and_the_client_id_is_only_a_field() -> None:
    ids = {new_usage_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 32 for i in ids)
    from datetime import UTC, datetime
    from uuid import uuid4

    e = UsageEvent(
        request_id=new_usage_id(),
        client_request_id="client-chosen",
        ts=datetime.now(UTC),
        org_id=uuid4(),
        user_id=uuid4(),
        key_id=uuid4(),
        model="m",
        input_tokens=1,
        output_tokens=2,
        latency_ms=3,
    )
    assert e.to_row()[1] == "client-chosen"
    assert e.model_copy(update={"client_request_id": None}).to_row()[1] == ""
