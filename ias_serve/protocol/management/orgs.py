"""Organisations: ``POST/GET /api/org``, ``GET/PATCH /api/org/{id}``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StrictInt, StrictStr, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from ias_serve.domain.budget import MAX_TOKEN_AMOUNT
from ias_serve.domain.roles import Status
from ias_serve.domain.validation import clean_name
from ias_serve.protocol.management.resource_base import NEXT_CURSOR_DOC, Name, PublicModel, WriteBody

TokenAmount = Annotated[
    Annotated[StrictInt, Field(ge=0, le=MAX_TOKEN_AMOUNT)]
    | Annotated[StrictStr, Field(max_length=64)]
    | None,
    Field(
        description='Monthly token limit: a whole number, a human amount ("500M", "2B", "1.5k") or '
        '"unlimited" / null.',
        examples=[500_000_000, "500M", "unlimited", None],
    ),
]


class OrgCreate(WriteBody):
    """A new organisation (System Admins only)."""

    name: Name = Field(description="Unique, case-insensitively.", examples=["acme"])
    monthly_token_limit: TokenAmount = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "acme", "monthly_token_limit": "500M"}, {"name": "labs"}]}
    )

    @field_validator("name")
    @classmethod
    def _clean(cls, v: str) -> str:
        return clean_name(v)


class OrgUpdate(WriteBody):
    """Rename and/or disable or enable an organisation; at least one field. A disabled org's
    API keys are refused by the gateway at once (every replica drops its cached keys)."""

    name: Name | SkipJsonSchema[None] = Field(default=None, examples=["acme-research"])
    status: Status | SkipJsonSchema[None] = Field(
        default=None, description="active | disabled", examples=["disabled"]
    )

    @field_validator("name", "status", mode="before")
    @classmethod
    def _not_null(cls, v: object) -> object:
        if v is None:
            raise ValueError("may be omitted, not null")
        return v

    @field_validator("name")
    @classmethod
    def _clean(cls, v: str) -> str:
        return clean_name(v)

    @model_validator(mode="after")
    def _something(self) -> OrgUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give name and/or status")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "minProperties": 1,
            "examples": [{"status": "disabled"}, {"name": "acme-research"}],
        }
    )


class OrgPublic(PublicModel):
    id: uuid.UUID
    name: str = Field(examples=["acme"])
    status: Status
    monthly_token_limit: int | None = Field(
        default=None, description="Tokens per calendar month (UTC); null = unlimited."
    )
    created_at: datetime
    updated_at: datetime


class OrgsPublic(PublicModel):
    data: list[OrgPublic]
    count: int = Field(description="Organisations matching the filters, over all pages.")
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR_DOC)


class OrgDeleted(PublicModel):
    """What ``DELETE /api/org/{id}`` removed. The audit log keeps the org's rows (and gains an
    ``org_deleted`` one); recorded usage stays in ClickHouse, like an invoice's ledger."""

    id: uuid.UUID
    name: str
    members_removed: int = Field(description="Memberships removed.")
    users_deleted: int = Field(description="Users who belonged to no other organisation, deleted.")
    keys_deleted: int = Field(description="API keys deleted (refused by the gateway at once).")
    invites_deleted: int
