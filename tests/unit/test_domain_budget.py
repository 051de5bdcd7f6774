from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ias_serve.domain import budget
from ias_serve.domain.budget import format_token_amount as fmt
from ias_serve.domain.budget import parse_token_amount as parse
from ias_serve.domain.validation import InvalidValue


def test_month_window_middle_of_month() -> None:
    w = budget.month_window(datetime(2025, 3, 15, 12, 30, tzinfo=UTC))
    assert w.start == datetime(2025, 3, 1, tzinfo=UTC)
    assert w.end == datetime(2025, 4, 1, tzinfo=UTC)
    assert w.start.tzinfo is UTC


def test_month_window_december_and_leap_february() -> None:
    dec = budget.month_window(datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert (dec.start, dec.end) == (datetime(2024, 12, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    feb = budget.month_window(datetime(2024, 2, 29, tzinfo=UTC))
    assert feb.end - feb.start == timedelta(days=29)


def test_month_window_converts_other_timezones_to_utc() -> None:
    # 1 April 01:00 in UTC+2 is still 31 March in UTC
    ts = datetime(2025, 4, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    w = budget.month_window(ts)
    assert w.start == datetime(2025, 3, 1, tzinfo=UTC)
    assert budget.period_key(ts) == "2025-03"


def test_month_window_naive_is_utc() -> None:
    assert budget.month_window(datetime(2025, 1, 1)).start == datetime(2025, 1, 1, tzinfo=UTC)


def test_window_contains_and_seconds_left() -> None:
    w = budget.month_window(datetime(2025, 1, 10, tzinfo=UTC))
    assert w.contains(datetime(2025, 1, 1, tzinfo=UTC))
    assert not w.contains(datetime(2025, 2, 1, tzinfo=UTC))  # end is exclusive
    assert w.contains(datetime(2025, 1, 31, 23, 59))
    assert w.seconds_left(datetime(2025, 1, 31, 23, 59, tzinfo=UTC)) == 60
    assert w.seconds_left(datetime(2025, 3, 1, tzinfo=UTC)) == 0


def test_period_key() -> None:
    assert budget.period_key(datetime(2025, 11, 30, 23, 59, tzinfo=UTC)) == "2025-11"
    assert budget.period_key(datetime(987, 1, 1, tzinfo=UTC)) == "0987-01"


def test_remaining_and_exhausted() -> None:
    assert budget.remaining_tokens(None, 10**12) is None
    assert budget.remaining_tokens(100, 30) == 70
    assert budget.remaining_tokens(100, 130) == 0
    assert budget.remaining_tokens(100, -5) == 100
    assert not budget.is_exhausted(None, 10**15)
    assert not budget.is_exhausted(100, 99)
    assert budget.is_exhausted(100, 100)
    assert budget.is_exhausted(0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500M", 500_000_000),
        ("500m", 500_000_000),
        ("2B", 2_000_000_000),
        ("2g", 2_000_000_000),
        ("1.5k", 1500),
        ("1.5K", 1500),
        ("3T", 3 * 10**12),
        (".5k", 500),
        ("0", 0),
        ("1000", 1000),
        ("1_000_000", 1_000_000),
        ("1,000,000", 1_000_000),
        ("  250 M ", 250_000_000),
        ("1.000k", 1000),
        ("unlimited", None),
        ("Unlimited", None),
        ("none", None),
        ("inf", None),
        ("∞", None),
        (None, None),
        (42, 42),
        (0, 0),
    ],
)
def test_parse_token_amount(text: str | int | None, expected: int | None) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "-5", "5X", "1.2345k", "0.5", "1e6", "1.5.2k", "k", "M5", "1 000", "10 MB", "nan"]
)
def test_parse_token_amount_rejects(text: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        parse(text)
    assert exc.value.param == "monthly_token_limit"


@pytest.mark.parametrize("value", [-1, 2**63, True])
def test_parse_token_amount_rejects_ints(value: int) -> None:
    with pytest.raises(ValueError):
        parse(value)


def test_parse_token_amount_bigint_bound() -> None:
    assert parse(str(2**63 - 1)) == 2**63 - 1
    with pytest.raises(InvalidValue):
        parse("10000000T")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (None, "unlimited"),
        (0, "0"),
        (999, "999"),
        (1000, "1k"),
        (1500, "1.5k"),
        (1234, "1.234k"),
        (999_999, "999.999k"),
        (1_000_000, "1M"),
        (1_000_001, "1000001"),
        (500_000_000, "500M"),
        (1_250_000_000, "1.25B"),
        (2_000_000_000, "2B"),
        (10**12, "1T"),
        (5000 * 10**12, "5000T"),
        (123_456_789, "123456789"),
    ],
)
def test_format_token_amount(amount: int | None, text: str) -> None:
    assert fmt(amount) == text
    assert parse(fmt(amount)) == amount


def test_format_round_trips_many_values() -> None:
    values = [0, 1, 7, 10, 999, 1001, 12_345, 100_000, 1_500_000, 999_500_000, 2**40, 2**63 - 1]
    values += [k * 10**e for k in (1, 15, 125, 999) for e in range(0, 13)]
    for v in values:
        assert parse(fmt(v)) == v, v


def test_format_rejects_negative() -> None:
    with pytest.raises(InvalidValue):
        fmt(-1)
