"""What the gateway makes of engine answers: error objects (vLLM's and others'), SSE batches."""

from __future__ import annotations

import pytest

from ias_serve.errors import BadRequest, ServiceUnavailable, UpstreamError
from ias_serve.services.engines.base import error_status, single_result, sse_text

VLLM_400 = {
    "error": {"message": "max_tokens too large", "type": "BadRequestError", "param": None, "code": 400}
}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (VLLM_400, 400),  # vLLM: the code inside `error`
        ({"object": "error", "message": "x", "code": 503}, 503),  # older vLLM: at the top
        ({"error": "boom", "status": 422}, 422),
        ({"error": {"code": "not_a_number"}}, 502),
        ({"error": {"code": 200}}, 502),  # not an error status
    ],
)
def test_error_status(body: dict, status: int) -> None:
    assert error_status(body) == status


def test_single_result_raises_the_engines_error_and_passes_answers() -> None:
    with pytest.raises(BadRequest, match="max_tokens too large"):
        single_result(VLLM_400)
    with pytest.raises(ServiceUnavailable):
        single_result({"object": "error", "message": "overloaded", "code": 503})
    answer = {"object": "chat.completion", "choices": []}
    assert single_result(answer) is answer
    with pytest.raises(UpstreamError):
        single_result(["not", "an", "object"])


def test_sse_text_joins_strings_and_raises_an_error_item() -> None:
    assert sse_text(["data: 1\n\n", "data: 2\n\n"]) == "data: 1\n\ndata: 2\n\n"
    with pytest.raises(BadRequest):
        sse_text(["data: 1\n\n", VLLM_400])
    with pytest.raises(UpstreamError, match="not server-sent events"):
        sse_text(["data: 1\n\n", {"object": "chat.completion.chunk"}])
