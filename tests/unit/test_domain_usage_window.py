from __future__ import annotations

from datetime import date

import pytest

from ias_serve.domain.usage_window import MAX_DATE, UsageWindow, resolve_window
from ias_serve.domain.validation import InvalidValue

TODAY = date(2026, 3, 10)


def test_default_is_the_last_30_days_today_included() -> None:
    w = resolve_window(today=TODAY)
    assert w == UsageWindow(date(2026, 2, 9), date(2026, 3, 11))
    assert w.days == 30 and w.last == TODAY
    dates = list(w.dates())
    assert len(dates) == 30 and dates[0] == date(2026, 2, 9) and dates[-1] == TODAY


@pytest.mark.parametrize(("days", "start"), [(1, TODAY), (7, date(2026, 3, 4)), (366, date(2025, 3, 10))])
def test_days(days: int, start: date) -> None:
    w = resolve_window(today=TODAY, days=days)
    assert (w.start, w.last, w.days) == (start, TODAY, days)


@pytest.mark.parametrize("days", [0, -1, 367, True])
def test_days_out_of_range(days: int) -> None:
    with pytest.raises(InvalidValue) as e:
        resolve_window(today=TODAY, days=days)
    assert e.value.param == "days" and e.value.status == 422


def test_from_to_both_inclusive() -> None:
    w = resolve_window(today=TODAY, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert (w.start, w.end, w.days) == (date(2026, 1, 1), date(2026, 2, 1), 31)


def test_from_alone_runs_to_today_and_one_day_is_fine() -> None:
    assert resolve_window(today=TODAY, start=date(2026, 3, 1)).last == TODAY
    assert resolve_window(today=TODAY, start=TODAY, end=TODAY).days == 1


def test_range_of_366_days_is_the_limit() -> None:
    assert resolve_window(today=TODAY, start=date(2024, 1, 1), end=date(2024, 12, 31)).days == 366  # leap
    with pytest.raises(InvalidValue) as e:
        resolve_window(today=TODAY, start=date(2025, 1, 1), end=date(2026, 1, 2))
    assert e.value.param == "to"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"start": date(2026, 3, 2), "end": date(2026, 3, 1)}, "from"),  # from > to
        ({"start": date(2026, 3, 11)}, "from"),  # from after today, to defaulting to today
        ({"days": 7, "start": date(2026, 3, 1)}, "days"),  # both forms
        ({"days": 7, "end": date(2026, 3, 1)}, "days"),
        ({"end": date(2026, 3, 1)}, "from"),  # to alone
        ({"start": date(1969, 12, 31), "end": date(1970, 1, 2)}, "from"),  # before a ClickHouse Date
        ({"start": MAX_DATE, "end": date(2149, 6, 6)}, "to"),
    ],
)
def test_refused(kwargs: dict, param: str) -> None:
    with pytest.raises(InvalidValue) as e:
        resolve_window(today=TODAY, **kwargs)
    assert e.value.param == param and e.value.code == "validation_error"
