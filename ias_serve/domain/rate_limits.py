"""Rate limits per API key and per organisation: requests/minute, tokens/minute, concurrency.

* :class:`RateLimits` — the three limits of one scope; ``None`` = unlimited.
* :class:`EffectiveRateLimits` — what the gateway enforces for one key: the key's own limits
  and its org's limits, each already capped by the org's ceiling.
* :func:`check_limit` / :func:`parse_rate_limits` — validation of values coming from outside
  (strict ints within :data:`MAX_VALUES`); :class:`InvalidValue` names the field (``param``).
* :func:`effective_rate_limits` — key, org and ceiling limits → :class:`EffectiveRateLimits`.

Who sets what: an Org Admin sets the org's limits and each key's limits, never above the
ceiling a System Admin may set for the org. A ceiling lowered below existing limits is allowed;
it caps them (:meth:`RateLimits.capped`), even where nothing was set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Final

from ias_serve.domain.validation import InvalidValue

REQUESTS_PER_MINUTE: Final = "requests_per_minute"
TOKENS_PER_MINUTE: Final = "tokens_per_minute"
MAX_CONCURRENT_REQUESTS: Final = "max_concurrent_requests"
FIELDS: Final = (REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE, MAX_CONCURRENT_REQUESTS)

#: Largest accepted value of each limit (smallest: 1; "no limit" is ``None``).
MAX_VALUES: Final[Mapping[str, int]] = {
    REQUESTS_PER_MINUTE: 1_000_000,
    TOKENS_PER_MINUTE: 10**12,
    MAX_CONCURRENT_REQUESTS: 100_000,
}


def _min(value: int | None, bound: int | None) -> int | None:
    if bound is None:
        return value
    if value is None:
        return bound
    return min(value, bound)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits of one scope (a key, an org, or an org's ceiling); ``None`` = unlimited."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_concurrent_requests: int | None = None

    def capped(self, ceiling: RateLimits) -> RateLimits:
        """Field by field the smaller of ``self`` and ``ceiling`` (``None`` bounds nothing)."""
        return RateLimits(
            _min(self.requests_per_minute, ceiling.requests_per_minute),
            _min(self.tokens_per_minute, ceiling.tokens_per_minute),
            _min(self.max_concurrent_requests, ceiling.max_concurrent_requests),
        )

    def exceeds(self, ceiling: RateLimits) -> str | None:
        """The name of the first field set above ``ceiling``; ``None`` when every field fits.
        An unset field (``None``) never exceeds: it means "up to the ceiling", which
        :meth:`capped` applies."""
        for name in FIELDS:
            value, bound = getattr(self, name), getattr(ceiling, name)
            if value is not None and bound is not None and value > bound:
                return name
        return None

    @property
    def is_unlimited(self) -> bool:
        return all(getattr(self, name) is None for name in FIELDS)

    def as_dict(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in FIELDS}

    def as_tuple(self) -> tuple[int | None, int | None, int | None]:
        return (self.requests_per_minute, self.tokens_per_minute, self.max_concurrent_requests)


@dataclass(frozen=True, slots=True)
class EffectiveRateLimits:
    """The limits one request is checked against: the key's and its org's (both capped)."""

    key: RateLimits = field(default_factory=RateLimits)
    org: RateLimits = field(default_factory=RateLimits)

    @property
    def is_unlimited(self) -> bool:
        return self.key.is_unlimited and self.org.is_unlimited


UNLIMITED: Final = RateLimits()


def effective_rate_limits(key: RateLimits, org: RateLimits, ceiling: RateLimits) -> EffectiveRateLimits:
    """The key's and the org's limits, each capped by the org's ceiling."""
    return EffectiveRateLimits(key=key.capped(ceiling), org=org.capped(ceiling))


def check_limit(name: str, value: object) -> int | None:
    """One limit from outside: ``None`` (unlimited) or a strict ``int`` in
    ``[1, MAX_VALUES[name]]``; anything else raises :class:`InvalidValue` with ``param=name``."""
    if name not in MAX_VALUES:
        raise InvalidValue(f"unknown rate limit {name!r} (known: {', '.join(FIELDS)})", param=name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(
            f"{name} must be a whole number or null (unlimited), not {type(value).__name__}", param=name
        )
    if value < 1:
        raise InvalidValue(f"{name} must be at least 1 (null means unlimited)", param=name)
    top = MAX_VALUES[name]
    if value > top:
        raise InvalidValue(f"{name} must be at most {top}", param=name)
    return value


def parse_rate_limits(data: Mapping[str, object]) -> RateLimits:
    """A mapping of limits (missing keys: unlimited) → :class:`RateLimits`; unknown keys and
    bad values raise :class:`InvalidValue` naming the field."""
    for name in data:
        if name not in MAX_VALUES:
            check_limit(str(name), None)  # raises: unknown field
    return RateLimits(**{name: check_limit(name, data.get(name)) for name in FIELDS})


assert tuple(f.name for f in fields(RateLimits)) == FIELDS, "FIELDS must follow RateLimits"
