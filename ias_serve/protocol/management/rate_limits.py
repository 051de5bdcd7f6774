"""Rate limits: ``GET/PUT /api/org/{id}/rate-limits``, ``PUT /api/org/{id}/rate-limits/ceiling``,
``GET/PUT /api/org/{id}/key/{key_id}/rate-limits``.

Every limit is a whole number >= 1 or null (unlimited); a field left out of a body is null.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StrictInt, ValidationInfo, field_validator

from ias_serve.domain.rate_limits import (
    MAX_CONCURRENT_REQUESTS,
    MAX_VALUES,
    REQUESTS_PER_MINUTE,
    TOKENS_PER_MINUTE,
    RateLimits,
    check_limit,
)
from ias_serve.protocol.management.resource_base import PublicModel, WriteBody

RequestsPerMinute = Annotated[
    Annotated[StrictInt, Field(ge=1, le=MAX_VALUES[REQUESTS_PER_MINUTE])] | None,
    Field(description="Requests per minute; null = unlimited.", examples=[600, None]),
]
TokensPerMinute = Annotated[
    Annotated[StrictInt, Field(ge=1, le=MAX_VALUES[TOKENS_PER_MINUTE])] | None,
    Field(description="Tokens (prompt + completion) per minute; null = unlimited.", examples=[200_000, None]),
]
MaxConcurrentRequests = Annotated[
    Annotated[StrictInt, Field(ge=1, le=MAX_VALUES[MAX_CONCURRENT_REQUESTS])] | None,
    Field(description="Requests in flight at the same time; null = unlimited.", examples=[8, None]),
]


class RateLimitsUpdate(WriteBody):
    """The three limits of a scope, replacing the stored ones (a field left out: unlimited)."""

    requests_per_minute: RequestsPerMinute = None
    tokens_per_minute: TokensPerMinute = None
    max_concurrent_requests: MaxConcurrentRequests = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"requests_per_minute": 600, "tokens_per_minute": 200_000, "max_concurrent_requests": 8},
                {"requests_per_minute": 60},
                {},
            ]
        }
    )

    @field_validator(REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE, MAX_CONCURRENT_REQUESTS, mode="before")
    @classmethod
    def _check(cls, value: object, info: ValidationInfo) -> object:
        # the domain's rule first: its message names the field and the bound
        return check_limit(str(info.field_name), value)

    def to_domain(self) -> RateLimits:
        return RateLimits(self.requests_per_minute, self.tokens_per_minute, self.max_concurrent_requests)


class RateLimitValues(PublicModel):
    requests_per_minute: int | None = Field(description="Requests per minute; null = unlimited.")
    tokens_per_minute: int | None = Field(description="Tokens per minute; null = unlimited.")
    max_concurrent_requests: int | None = Field(description="Requests in flight; null = unlimited.")

    @classmethod
    def of(cls, limits: RateLimits) -> RateLimitValues:
        return cls(**limits.as_dict())


class OrgRateLimitsPublic(PublicModel):
    org_id: uuid.UUID
    limits: RateLimitValues = Field(description="The org's limits, as its Org Admins set them.")
    ceiling: RateLimitValues = Field(description="The most the org's limits may be (System Admins).")
    effective: RateLimitValues = Field(description="What the gateway enforces: limits capped by the ceiling.")
    updated_at: datetime | None = Field(default=None, description="Null when never set.")
    updated_by: uuid.UUID | None = Field(default=None, description="The user who changed them last.")


class KeyRateLimitsPublic(PublicModel):
    key_id: uuid.UUID
    org_id: uuid.UUID
    limits: RateLimitValues = Field(description="The key's own limits.")
    effective: RateLimitValues = Field(
        description="What the gateway enforces for the key: its limits capped by the org's ceiling "
        "(the org's own limits apply too, to all its keys together)."
    )
