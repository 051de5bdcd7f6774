from __future__ import annotations

from ias_serve.protocol.sse import SSE_DONE, UsageScanner, sse

CHUNK = sse({"id": "c", "choices": [{"index": 0, "delta": {"content": "hi"}}], "usage": None})
USAGE = sse(
    {"id": "c", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}
)


def test_usage_chunk_is_read_and_dropped_when_not_asked_for() -> None:
    s = UsageScanner(keep_usage=False)
    assert s.feed(CHUNK) == CHUNK.replace(',"usage":null', "")  # as if never asked for
    assert s.feed(USAGE + SSE_DONE) == SSE_DONE
    assert s.tokens() == (5, 2)


def test_usage_chunk_is_kept_when_asked_for() -> None:
    s = UsageScanner(keep_usage=True)
    assert s.feed(CHUNK + USAGE + SSE_DONE) == CHUNK + USAGE + SSE_DONE  # "usage": null kept too
    assert s.tokens() == (5, 2)


def test_usage_on_a_content_chunk_is_never_dropped() -> None:
    both = sse(
        {
            "id": "c",
            "choices": [{"index": 0, "delta": {"content": "x"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
        }
    )
    s = UsageScanner(keep_usage=False)
    assert s.feed(both) == both and s.tokens() == (1, 1)


def test_cut_off_stream_counts_content_events() -> None:
    s = UsageScanner(keep_usage=False)
    role = sse({"id": "c", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    s.feed(role + CHUNK)
    s.feed(CHUNK + CHUNK)
    assert s.tokens() == (None, 3)


def test_done_marks_the_answer_finished() -> None:
    s = UsageScanner(keep_usage=True)
    s.feed(CHUNK)
    assert not s.finished
    s.feed(CHUNK + "data: [DONE]\n\n")
    assert s.finished and s.tokens() == (None, 2)
