"""The date window of a usage dashboard: ``?days=N`` or ``?from=…&to=…`` → ``[start, end)``.

Dashboards count whole UTC days (the ClickHouse rollup's ``day`` is the UTC date of each
request), so a window is a half-open range of dates:

* ``days=N`` (1-366, default 30): the last N days, today (UTC) included —
  ``[today - N + 1, today + 1)``;
* ``from`` (and optionally ``to``, default today), both inclusive ISO dates:
  ``[from, to + 1)``; ``from <= to``; at most 366 days;
* ``days`` together with ``from``/``to``, or ``to`` alone, is refused (two answers to one
  question), as are dates outside what a ClickHouse ``Date`` holds (1970-01-01 … 2149-06-06):
  the query would otherwise fail or wrap around.

Bad combinations raise :class:`InvalidValue` (HTTP 422 ``validation_error``), naming the
parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from ias_serve.domain.validation import InvalidValue

DEFAULT_DAYS: Final = 30
MAX_DAYS: Final = 366
MIN_DATE: Final = date(1970, 1, 1)
MAX_DATE: Final = date(2149, 6, 5)  # the last inclusive day whose exclusive end still fits a Date


@dataclass(frozen=True, slots=True)
class UsageWindow:
    start: date  # first day counted
    end: date  # first day NOT counted

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last(self) -> date:
        """The last day counted (the inclusive ``to``)."""
        return self.end - timedelta(days=1)

    def dates(self) -> Iterator[date]:
        """Every day of the window, in order (the x axis of a daily series)."""
        for n in range(self.days):
            yield self.start + timedelta(days=n)


def resolve_window(
    *,
    today: date,
    days: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> UsageWindow:
    """The window the query parameters ask for (``start``/``end`` are ``from``/``to``)."""
    if days is not None and (start is not None or end is not None):
        raise InvalidValue("give either days or from/to, not both", param="days")
    if start is None:
        if end is not None:
            raise InvalidValue("to needs from", param="from")
        n = DEFAULT_DAYS if days is None else days
        if isinstance(n, bool) or not 1 <= n <= MAX_DAYS:
            raise InvalidValue(f"days must be between 1 and {MAX_DAYS}", param="days")
        return UsageWindow(today - timedelta(days=n - 1), today + timedelta(days=1))
    last = today if end is None else end
    for value, param in ((start, "from"), (last, "to")):
        if not MIN_DATE <= value <= MAX_DATE:
            raise InvalidValue(f"{param} must be between {MIN_DATE} and {MAX_DATE}", param=param)
    if start > last:
        raise InvalidValue("from must not be after to (today when to is not given)", param="from")
    window = UsageWindow(start, last + timedelta(days=1))
    if window.days > MAX_DAYS:
        raise InvalidValue(f"the range from..to spans more than {MAX_DAYS} days", param="to")
    return window
