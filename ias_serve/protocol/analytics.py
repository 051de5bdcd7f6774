"""Analytics API wire format (``/analytics``): usage figures, breakdowns, budget status.

Every row carries the same five figures (:class:`UsageFigures`): ``requests``,
``input_tokens``, ``output_tokens``, ``total_tokens`` and ``cost``.

``cost`` is a decimal **string** in plain notation (``"0.0042"``, ``"0"``, ``"1250.5"``):
costs are exact sums of per-request costs at the prices of each request's time (ClickHouse
``Decimal(38, 12)``), and a JSON number would round them in most clients (JavaScript parses
numbers as float64). It carries no currency: prices of model mappings are "per million tokens"
in the operator's currency.

Days are UTC dates; a window is reported with inclusive ``from``/``to`` (the query's own
parameters) and its number of ``days``. Breakdown rows come sorted by ``total_tokens``
(largest first), the daily series by day with every day of the window present (zeros where
there was no usage).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, computed_field


def _plain(value: Decimal) -> str:
    # normalize() drops trailing zeros ("0.001500000000" → "0.0015", "0E-12" → "0"); format
    # "f" never uses exponent notation ("1E+3" → "1000")
    return format(value.normalize(), "f")


Cost = Annotated[
    Decimal,
    PlainSerializer(_plain, return_type=str, when_used="json"),
    Field(description='Exact cost as a decimal string, e.g. "12.0345" (no currency).', examples=["12.0345"]),
]


class _Response(BaseModel):
    # fields with defaults are still always present in a response: say so in the schema
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class UsageFigures(_Response):
    """Sums over a set of requests."""

    requests: int = Field(default=0, ge=0, description="Metered requests (every status).")
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cost: Cost = Decimal(0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        """input_tokens + output_tokens (what budgets count)."""
        return self.input_tokens + self.output_tokens


class ModelUsage(UsageFigures):
    model: str = Field(description="Public model name the requests asked for.")


class UserUsage(UsageFigures):
    user_id: uuid.UUID
    email: str | None = Field(description="None when the user no longer exists.")
    name: str | None = None


class KeyUsage(UsageFigures):
    key_id: uuid.UUID
    name: str | None = Field(description="None when the key no longer exists.")
    prefix: str | None = Field(default=None, description="Display prefix of the key, e.g. ias-AbCdEfGh.")


class OrgUsage(UsageFigures):
    org_id: uuid.UUID
    name: str | None = Field(description="None when the organisation no longer exists.")


class DailyUsage(UsageFigures):
    day: date


class UsagePeriod(_Response):
    """The window the figures cover: whole UTC days ``from`` … ``to`` (both included)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    days: int = Field(ge=1)


class BudgetStatus(_Response):
    """The org's monthly token budget against its usage in the current calendar month (UTC).

    ``used`` is what the usage store has recorded (requests still running or not yet recorded
    are not in it); the gateway enforces the budget on its own, reserved, counter.
    """

    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="The month, YYYY-MM.", examples=["2026-11"])
    limit: int | None = Field(ge=0, description="Tokens per month; None = unlimited.")
    used: int = Field(ge=0, description="Input + output tokens recorded this month.")
    cost: Cost = Decimal(0)
    remaining: int | None = Field(ge=0, description="max(0, limit - used); None = unlimited.")
    percent: float | None = Field(
        ge=0,
        description="used / limit × 100, two decimals (may exceed 100); None = unlimited; "
        "100 for a zero limit.",
    )

    @classmethod
    def of(cls, period: str, limit: int | None, used: int, cost: Decimal = Decimal(0)) -> BudgetStatus:
        used = max(0, used)
        if limit is None:
            return cls(period=period, limit=None, used=used, cost=cost, remaining=None, percent=None)
        percent = 100.0 if limit == 0 else round(used * 100 / limit, 2)
        return cls(
            period=period, limit=limit, used=used, cost=cost, remaining=max(0, limit - used), percent=percent
        )


class OrgUsagePublic(_Response):
    """``GET /analytics/org/{org_id}``: one organisation's dashboard."""

    org_id: uuid.UUID
    name: str
    period: UsagePeriod
    totals: UsageFigures
    mine: UsageFigures = Field(
        description="The caller's own share of the totals (zeros for a System Admin who is not a member)."
    )
    by_model: list[ModelUsage]
    by_user: list[UserUsage]
    daily: list[DailyUsage]
    budget: BudgetStatus


class MyUsagePublic(_Response):
    """``GET /analytics/me``: the caller's own usage, in every org they are a member of."""

    user_id: uuid.UUID
    email: str
    period: UsagePeriod
    totals: UsageFigures
    by_model: list[ModelUsage]
    by_key: list[KeyUsage]
    by_org: list[OrgUsage]
    daily: list[DailyUsage]


class SystemUsagePublic(_Response):
    """``GET /analytics/system``: every organisation (System Admins only)."""

    period: UsagePeriod
    totals: UsageFigures
    by_org: list[OrgUsage]
    by_model: list[ModelUsage]
    daily: list[DailyUsage]
