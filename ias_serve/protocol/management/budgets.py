"""Budgets: ``GET/PUT /api/org/{id}/budget`` (monthly token limit per organisation)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from ias_serve.protocol.management.orgs import TokenAmount
from ias_serve.protocol.management.resource_base import PublicModel, WriteBody


class BudgetUpdate(WriteBody):
    """Set the monthly token limit (calendar month, UTC); null or "unlimited" removes it. The
    gateway applies it to the next request (the month's usage so far counts against it)."""

    monthly_token_limit: TokenAmount

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"monthly_token_limit": 500_000_000},
                {"monthly_token_limit": "2B"},
                {"monthly_token_limit": None},
            ]
        }
    )


class BudgetPublic(PublicModel):
    org_id: uuid.UUID
    monthly_token_limit: int | None = Field(description="Tokens per month; null = unlimited.")
    monthly_token_limit_display: str = Field(description='e.g. "500M" or "unlimited".', examples=["500M"])
    updated_at: datetime | None = Field(default=None, description="Null when never set.")
    updated_by: uuid.UUID | None = Field(default=None, description="The user who set it last.")
    period: str = Field(description="The current budget month (UTC), YYYY-MM.", examples=["2026-03"])
    used_this_month: int | None = Field(
        default=None,
        description="Tokens used (and reserved by running requests) this month, from the gateway's "
        "counter; null when that counter cannot be read right now.",
    )
    remaining_this_month: int | None = Field(
        default=None, description="Limit minus used (never negative); null when unlimited or unknown."
    )
