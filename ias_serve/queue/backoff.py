"""Capped exponential backoff with jitter, for retry loops of background tasks."""

from __future__ import annotations

import asyncio
import random


class Backoff:
    """Delays ``initial_s``, 2x, 4x ... up to ``max_s``, each scaled by a random factor in
    [0.5, 1] (so that many replicas retrying after one outage do not retry in step)."""

    def __init__(self, initial_s: float = 0.1, max_s: float = 5.0, rng: random.Random | None = None) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError("need 0 < initial_s <= max_s")
        self.initial_s = initial_s
        self.max_s = max_s
        self._rng = rng or random.Random()
        self._current = 0.0

    def next_delay(self) -> float:
        """The next delay to wait (grows until :meth:`reset`)."""
        self._current = min(self.max_s, self._current * 2 if self._current else self.initial_s)
        return self._current * self._rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._current = 0.0

    async def sleep(self) -> None:
        await asyncio.sleep(self.next_delay())
