"""Budget alerts: ``GET/PUT /api/org/{id}/budget/alerts`` (thresholds, webhook, this month's
alerts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StrictBool, StrictInt, field_validator

from ias_serve.domain.budget_alerts import (
    MAX_PERCENT,
    MAX_THRESHOLDS,
    MAX_URL_LENGTH,
    MIN_PERCENT,
    DeliveryStatus,
    check_webhook_url,
    parse_thresholds,
)
from ias_serve.protocol.management.resource_base import PublicModel, WriteBody

Percent = Annotated[StrictInt, Field(ge=MIN_PERCENT, le=MAX_PERCENT)]
WebhookUrl = Annotated[str, Field(max_length=MAX_URL_LENGTH, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")]


class BudgetAlertsUpdate(WriteBody):
    """Replace the org's alert settings. ``webhook_url`` left out or null: no webhook (its secret
    is deleted)."""

    thresholds: list[Percent] = Field(
        max_length=MAX_THRESHOLDS,
        description=f"Percentages of the month's budget ({MIN_PERCENT}-{MAX_PERCENT}, whole numbers, "
        f"no repeats, at most {MAX_THRESHOLDS}); crossing one alerts once per month. [] = alerts off.",
        json_schema_extra={"uniqueItems": True},
        examples=[[50, 80, 100]],
    )
    webhook_url: WebhookUrl | None = Field(
        default=None,
        description="http(s) URL that receives a signed POST per alert; null = no webhook.",
        examples=["https://hooks.example.com/ias-budget"],
    )
    rotate_secret: StrictBool = Field(
        default=False, description="Generate a new webhook signing secret (returned once)."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"thresholds": [50, 80, 100], "webhook_url": "https://hooks.example.com/ias-budget"},
                {"thresholds": [80]},
                {"thresholds": []},
            ]
        }
    )

    @field_validator("thresholds", mode="before")
    @classmethod
    def _thresholds(cls, value: object) -> object:
        return list(parse_thresholds(value))  # the domain's rule: strict ints, range, repeats

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        return check_webhook_url(value)


class BudgetAlertPublic(PublicModel):
    id: uuid.UUID
    period: str = Field(description="The budget month (UTC), YYYY-MM.", examples=["2026-03"])
    threshold: int = Field(description="The threshold crossed, percent.", examples=[80])
    used_tokens: int = Field(description="Tokens used (and reserved by running requests) when it fired.")
    limit_tokens: int = Field(description="The monthly limit when it fired.")
    created_at: datetime
    email_status: DeliveryStatus = Field(description="Mail to the org's Org Admins.")
    webhook_status: DeliveryStatus = Field(description="POST to the webhook; `none` without one.")
    attempts: int = Field(description="Delivery rounds so far.")
    last_error: str | None = Field(default=None, description="Why the last attempt failed, if it did.")


class BudgetAlertsPublic(PublicModel):
    org_id: uuid.UUID
    thresholds: list[int] = Field(description="Percentages of the month's budget, ascending; [] = off.")
    webhook_url: str | None = Field(default=None, description="Null: no webhook.")
    webhook_secret_set: bool = Field(description="Whether a signing secret exists (it is shown only once).")
    alerts: list[BudgetAlertPublic] = Field(description="This month's alerts, newest first.")
    updated_at: datetime | None = Field(default=None, description="Null when never set.")
    updated_by: uuid.UUID | None = Field(default=None, description="The user who changed them last.")


class BudgetAlertsWithSecret(BudgetAlertsPublic):
    """The settings just written, with the webhook signing secret that was just generated
    (first webhook URL, or ``rotate_secret``): shown this once, keep it."""

    webhook_secret: str = Field(
        description="HMAC-SHA256 key of X-IAS-Signature (`whsec_…`); not retrievable later.",
        examples=["whsec_3q2-7wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    )
