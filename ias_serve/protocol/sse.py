"""Server-sent events of the OpenAI streaming API: writing them, and reading the usage out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SSE_DONE = "data: [DONE]\n\n"


def sse(payload: Mapping[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


class UsageScanner:
    """Finds the engine's usage chunk in the SSE text (and drops it, and the `usage: null` of the
    other chunks, when the client did not ask for usage), counting content events as the
    fallback count of a cut-off stream. A cheap substring test decides; JSON is parsed only
    for the one event that carries usage."""

    def __init__(self, keep_usage: bool) -> None:
        self.keep_usage = keep_usage
        self.usage: dict[str, Any] | None = None
        self.events = 0
        self.finished = False
        """The engine's ``data: [DONE]`` went by: the answer is complete, whatever happens to
        the connection afterwards."""

    def feed(self, text: str) -> str:
        self.events += text.count("data: ")
        if "data: [DONE]" in text:
            self.finished = True
        if not self.keep_usage and "null" in text:
            # the engine was asked for usage, the client was not: no `"usage": null` either
            text = text.replace(',"usage":null', "").replace(', "usage": null', "")
        if '"usage":{' not in text and '"usage": {' not in text:
            return text
        kept = []
        for event in text.split("\n\n"):
            if event.startswith("data: {") and ('"usage":{' in event or '"usage": {' in event):
                payload = json.loads(event[6:])
                if payload.get("usage"):
                    self.usage = payload["usage"]
                    if not payload.get("choices") and not self.keep_usage:
                        continue
            kept.append(event)
        return "\n\n".join(kept)

    def tokens(self) -> tuple[int | None, int]:
        if self.usage:
            return int(self.usage.get("prompt_tokens", 0)), int(self.usage.get("completion_tokens", 0))
        # cut off before the usage chunk: each content event carried at least one token
        return None, max(0, self.events - 1)
