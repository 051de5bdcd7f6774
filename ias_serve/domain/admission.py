"""What one inference request may cost, decided before the engine runs (pure arithmetic).

* :func:`output_bound` → the ``max_tokens`` the gateway forwards: the client's, clamped to the
  gateway's ceiling, or the default when the client named none. The engine is always told an
  explicit bound, so it can never generate more than was reserved.
* :func:`reservation` → the tokens to set aside in the budget (and the tokens-per-minute
  window): every prompt of a batch, plus every sequence the engine may generate
  (``prompts × max(n, best_of) × max_tokens``).
* :func:`charged_prompt` → the prompt tokens a request is charged when it did not complete:
  a request the engine worked on (it answered, failed, or was cancelled on the way) costs at
  least its prompt — the engine's own count when it gave one, else the gateway's estimate; a
  request the engine never took (unreachable, refused as invalid, overloaded) costs nothing.
* :func:`duration_text` → OpenAI's ``x-ratelimit-reset-*`` duration format (``"1s"``,
  ``"6m0s"``, ``"20ms"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EngineOutcome(StrEnum):
    """How far a request got with the engine (decides what an unfinished request costs)."""

    COMPLETED = "completed"
    """The engine answered (its usage, when given, is the charge)."""
    WORKED = "worked"
    """The engine took the request and then failed, or the client left meanwhile."""
    NOT_TAKEN = "not_taken"
    """Never reached the engine, or refused by it before any work (4xx, 503)."""


@dataclass(frozen=True, slots=True)
class OutputPolicy:
    """The gateway's bounds on generation (settings)."""

    default_max_tokens: int = 1024
    """Forwarded (and reserved) when the request names no ``max_tokens``."""
    max_output_tokens: int = 32_768
    """A larger ``max_tokens`` is clamped to this before it is forwarded and reserved."""

    def __post_init__(self) -> None:
        if not 1 <= self.default_max_tokens <= self.max_output_tokens:
            raise ValueError("need 1 <= default_max_tokens <= max_output_tokens")


def output_bound(requested: int | None, policy: OutputPolicy) -> int:
    """The ``max_tokens`` to forward: ``requested`` clamped, or the default."""
    if requested is None:
        return policy.default_max_tokens
    return max(1, min(int(requested), policy.max_output_tokens))


def reservation(prompt_tokens: int, *, prompts: int, sequences: int, max_tokens: int) -> int:
    """Prompt tokens + the most the engine may generate: ``prompts × sequences × max_tokens``.

    ``sequences`` is ``max(n, best_of)`` (an engine generates ``best_of`` candidates to return
    ``n``); ``max_tokens`` 0 for requests that generate nothing (embeddings).
    """
    if prompt_tokens < 0 or prompts < 0 or sequences < 0 or max_tokens < 0:
        raise ValueError("token counts cannot be negative")
    return prompt_tokens + max(1, prompts) * max(1, sequences) * max_tokens


def charged_prompt(outcome: EngineOutcome, engine_count: int | None, estimate: int) -> int:
    """Prompt tokens charged: the engine's count if it gave one, else the estimate; 0 when the
    engine never took the request."""
    if outcome is EngineOutcome.NOT_TAKEN:
        return 0
    return max(0, engine_count) if engine_count is not None else max(0, estimate)


def duration_text(seconds: float) -> str:
    """OpenAI's reset durations: ``"20ms"`` below a second, else ``"1s"``, ``"6m0s"``,
    ``"1h2m3s"`` (whole seconds, rounded up so a client that waits that long is admitted)."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, int(-(-seconds * 1000 // 1)))}ms"
    total = int(-(-seconds // 1))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
