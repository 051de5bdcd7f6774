"""Analytics wire format and the service's pure response assembly."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal

import pytest

from ias_serve.analytics.queries import Figures
from ias_serve.domain.usage_window import UsageWindow
from ias_serve.protocol.analytics import (
    BudgetStatus,
    DailyUsage,
    ModelUsage,
    OrgUsagePublic,
    UsageFigures,
    UsagePeriod,
)
from ias_serve.services.analytics import daily, figures, period, ranked


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0E-12"), "0"),
        (Decimal("0.001500000000"), "0.0015"),
        (Decimal("1E+3"), "1000"),
        (Decimal("123456789012.123456789012"), "123456789012.123456789012"),
        (Decimal("0.000000000001"), "0.000000000001"),
    ],
)
def test_cost_is_a_plain_decimal_string(value: Decimal, text: str) -> None:
    f = UsageFigures(requests=1, input_tokens=2, output_tokens=3, cost=value)
    body = json.loads(f.model_dump_json())
    assert body == {"requests": 1, "input_tokens": 2, "output_tokens": 3, "total_tokens": 5, "cost": text}
    assert f.model_dump()["cost"] == value  # python mode keeps the Decimal


def test_figures_schema_says_every_field_is_present_and_cost_is_a_string() -> None:
    schema = UsageFigures.model_json_schema(mode="serialization")
    assert set(schema["required"]) == {"requests", "input_tokens", "output_tokens", "total_tokens", "cost"}
    assert schema["properties"]["cost"]["type"] == "string"


def test_period_is_written_with_from() -> None:
    p = UsagePeriod(from_=date(2026, 1, 1), to=date(2026, 1, 31), days=31)
    assert json.loads(p.model_dump_json(by_alias=True)) == {
        "from": "2026-01-01",
        "to": "2026-01-31",
        "days": 31,
    }
    assert period(UsageWindow(date(2026, 1, 1), date(2026, 2, 1))) == p


@pytest.mark.parametrize(
    ("limit", "used", "remaining", "percent"),
    [
        (None, 123, None, None),
        (1000, 250, 750, 25.0),
        (1000, 1000, 0, 100.0),
        (1000, 1250, 0, 125.0),  # recorded usage may pass the limit a little (reservations settle late)
        (3, 1, 2, 33.33),
        (0, 0, 0, 100.0),
        (10, -5, 10, 0.0),  # never negative
    ],
)
def test_budget_status(limit: int | None, used: int, remaining: int | None, percent: float | None) -> None:
    b = BudgetStatus.of("2026-03", limit, used, Decimal("1.5"))
    assert (b.limit, b.remaining, b.percent, b.period) == (limit, remaining, percent, "2026-03")
    assert b.used == max(0, used) and b.cost == Decimal("1.5")


def test_budget_period_must_be_a_month() -> None:
    with pytest.raises(ValueError):
        BudgetStatus.of("March", None, 0)


def test_ranked_orders_by_total_tokens_then_value() -> None:
    by = {
        "small": Figures(1, 1, 1, Decimal("0.1")),
        "b-big": Figures(2, 50, 50, Decimal(1)),
        "a-big": Figures(3, 90, 10, Decimal(2)),
    }
    rows = ranked(by, lambda m, f: ModelUsage(model=m, **f))
    assert [r.model for r in rows] == ["a-big", "b-big", "small"]
    assert rows[0].requests == 3 and rows[0].total_tokens == 100 and rows[0].cost == Decimal(2)


def test_daily_fills_every_day_of_the_window() -> None:
    w = UsageWindow(date(2026, 2, 27), date(2026, 3, 3))
    series = daily({date(2026, 3, 1): Figures(2, 10, 20, Decimal("0.5"))}, w)
    assert [d.day for d in series] == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    assert series[2] == DailyUsage(
        day=date(2026, 3, 1), requests=2, input_tokens=10, output_tokens=20, cost="0.5"
    )
    assert all(d.requests == 0 and d.cost == 0 for d in series if d.day != date(2026, 3, 1))


def test_figures_maps_every_field() -> None:
    assert figures(Figures(1, 2, 3, Decimal(4))) == {
        "requests": 1,
        "input_tokens": 2,
        "output_tokens": 3,
        "cost": Decimal(4),
    }
    assert Figures(1, 2, 3).total_tokens == 5


def test_org_response_schema_is_complete() -> None:
    schema = OrgUsagePublic.model_json_schema(mode="serialization")
    assert {"totals", "mine", "by_model", "by_user", "daily", "budget", "period"} <= set(schema["required"])
    org = uuid.uuid4()
    body = OrgUsagePublic(
        org_id=org,
        name="Acme",
        period=UsagePeriod(from_=date(2026, 1, 1), to=date(2026, 1, 1), days=1),
        totals=UsageFigures(),
        mine=UsageFigures(),
        by_model=[],
        by_user=[],
        daily=[],
        budget=BudgetStatus.of("2026-01", None, 0),
    )
    data = json.loads(body.model_dump_json(by_alias=True))
    assert (
        data["org_id"] == str(org)
        and data["totals"]["cost"] == "0"
        and data["period"]["from"] == "2026-01-01"
    )
