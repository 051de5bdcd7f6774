"""Monthly token budgets: the calendar-month window (UTC) and human token amounts.

* :func:`month_window` → ``[start, end)`` of the UTC calendar month containing an instant
* :func:`period_key` → ``"YYYY-MM"``, the name of a month's budget counter
* :func:`parse_token_amount` ``"500M"``, ``"2B"``, ``"1.5k"``, ``"1_000"``, ``"unlimited"`` → int | None
* :func:`format_token_amount` the inverse (``parse(format(n)) == n`` for every n)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from ias_serve.domain.validation import InvalidValue

UNLIMITED = "unlimited"
_UNLIMITED_WORDS = frozenset({"unlimited", "none", "null", "inf", "infinity", "∞"})
# ascending; "g" is accepted as a synonym of "b" (giga), lower/upper case alike on input
_UNITS: tuple[tuple[str, int], ...] = (("k", 10**3), ("M", 10**6), ("B", 10**9), ("T", 10**12))
_SUFFIX = {"k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
_AMOUNT_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[kmbgt])?$", re.IGNORECASE)
MAX_TOKEN_AMOUNT = 2**63 - 1  # PostgreSQL BIGINT


@dataclass(frozen=True, slots=True)
class MonthWindow:
    start: datetime  # inclusive, first instant of the month, UTC
    end: datetime  # exclusive, first instant of the next month, UTC

    def contains(self, ts: datetime) -> bool:
        return self.start <= _utc(ts) < self.end

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (self.end - _utc(now)).total_seconds())


def month_window(ts: datetime) -> MonthWindow:
    """The UTC calendar month containing ``ts`` (naive datetimes are read as UTC)."""
    t = _utc(ts)
    start = datetime(t.year, t.month, 1, tzinfo=UTC)
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    end = datetime(year, month, 1, tzinfo=UTC)
    return MonthWindow(start, end)


def period_key(ts: datetime) -> str:
    """``"2025-03"`` for any instant of March 2025 UTC."""
    t = _utc(ts)
    return f"{t.year:04d}-{t.month:02d}"


def remaining_tokens(limit: int | None, used: int) -> int | None:
    """Tokens left this month (never negative); ``None`` when the budget is unlimited."""
    if limit is None:
        return None
    return max(0, limit - max(0, used))


def is_exhausted(limit: int | None, used: int) -> bool:
    return limit is not None and used >= limit


def parse_token_amount(value: str | int | None) -> int | None:
    """Human token amount → int, or ``None`` for unlimited.

    Accepts plain integers (``"1000"``, ``"1_000"``, ``"1,000"``), a decimal number with a unit
    suffix ``k``/``M``/``B`` (or ``G``)/``T`` in any case (``"1.5k"`` = 1500, ``"2B"``), and
    ``"unlimited"``/``"none"``/``"inf"`` (also ``None``). Rejects negatives, fractions of a
    token (``"1.2345k"``) and amounts beyond a BIGINT.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidValue("token amount must be a number", param="monthly_token_limit")
    if isinstance(value, int):
        return _check_range(value, str(value))
    text = value.strip()
    if text.lower() in _UNLIMITED_WORDS:
        return None
    compact = text.replace("_", "").replace(",", "")
    m = _AMOUNT_RE.fullmatch(compact)
    if not m:
        raise InvalidValue(
            f"not a token amount: {value!r} (examples: 1000000, 500M, 2B, 1.5k, unlimited)",
            param="monthly_token_limit",
        )
    try:
        number = Decimal(m["num"])
    except InvalidOperation:  # pragma: no cover - the regex only lets decimals through
        raise InvalidValue(f"not a token amount: {value!r}", param="monthly_token_limit") from None
    unit = m["unit"]
    amount = number * (_SUFFIX[unit.lower()] if unit else 1)
    if amount != amount.to_integral_value():
        raise InvalidValue(
            f"token amount {value!r} is not a whole number of tokens", param="monthly_token_limit"
        )
    return _check_range(int(amount), value)


def format_token_amount(amount: int | None) -> str:
    """Inverse of :func:`parse_token_amount`: ``None`` → ``"unlimited"``, 1500 → ``"1.5k"``,
    500_000_000 → ``"500M"``, 1234 → ``"1.234k"``, 1_000_001 → ``"1000001"``.

    A suffix is used only when it is exact with at most 3 decimals and (below ``T``) leaves
    fewer than 1000 whole units; otherwise the plain digits are returned.
    """
    if amount is None:
        return UNLIMITED
    if amount < 0:
        raise InvalidValue("token amount must not be negative", param="monthly_token_limit")
    for suffix, unit in reversed(_UNITS):
        fits = amount < unit * 1000 or suffix == _UNITS[-1][0]
        if amount >= unit and fits and (amount * 1000) % unit == 0:
            whole, frac = divmod(amount, unit)
            if frac == 0:
                return f"{whole}{suffix}"
            decimals = f"{frac * 1000 // unit:03d}".rstrip("0")
            return f"{whole}.{decimals}{suffix}"
    return str(amount)


def _check_range(amount: int, original: object) -> int:
    if amount < 0:
        raise InvalidValue(f"token amount must not be negative: {original!r}", param="monthly_token_limit")
    if amount > MAX_TOKEN_AMOUNT:
        raise InvalidValue(f"token amount too large: {original!r}", param="monthly_token_limit")
    return amount


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
