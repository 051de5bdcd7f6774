"""API keys: ``POST/GET /api/org/{id}/key``, ``DELETE /api/org/{id}/key/{key_id}``.

A listing never carries the key or its hash: only the display prefix (``ias-AbCdEfGh``). The
full key is in the answer to its creation, once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from ias_serve.domain.key_lifecycle import MAX_LIFETIME_DAYS, KeyStatus
from ias_serve.domain.validation import clean_name
from ias_serve.protocol.management.resource_base import NEXT_CURSOR_DOC, Name, PublicModel, WriteBody


class KeyCreate(WriteBody):
    """A new key of the caller, in one of their organisations. Optional expiry: ``expires_at``
    or ``expires_in_days`` (not both); none = never expires."""

    name: Name = Field(
        description="Unique among the caller's active keys in the org (case-insensitive).",
        examples=["ci-pipeline"],
    )
    expires_at: datetime | SkipJsonSchema[None] = Field(
        default=None,
        description=f"When the key stops working (ISO 8601; UTC if no offset); in the future, at most "
        f"{MAX_LIFETIME_DAYS} days ahead.",
        examples=["2026-12-31T23:59:59Z"],
    )
    expires_in_days: Annotated[int, Field(ge=1, le=MAX_LIFETIME_DAYS)] | SkipJsonSchema[None] = Field(
        default=None, description="Expire this many days from now.", examples=[90]
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "ci-pipeline", "expires_in_days": 90}, {"name": "notebook"}],
            "not": {"required": ["expires_at", "expires_in_days"]},
        }
    )

    @field_validator("name")
    @classmethod
    def _clean(cls, v: str) -> str:
        return clean_name(v)

    @model_validator(mode="after")
    def _one_expiry(self) -> KeyCreate:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("give expires_at or expires_in_days, not both")
        return self


class KeyOwner(PublicModel):
    id: uuid.UUID
    email: str = Field(examples=["dev@example.com"])


class KeyPublic(PublicModel):
    id: uuid.UUID
    org_id: uuid.UUID
    name: str = Field(examples=["ci-pipeline"])
    prefix: str = Field(
        description="The first characters of the key, to recognise it.", examples=["ias-AbCdEfGh"]
    )
    owner: KeyOwner
    status: KeyStatus = Field(description="active | revoked | expired")
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None, description="Last authenticated call (written in batches: up to a few seconds late)."
    )
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class KeyCreatedPublic(KeyPublic):
    key: str = Field(
        description="The full API key. Shown this once: it is stored only as a SHA-256 hash.",
        examples=["ias-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"],
    )


class KeysPublic(PublicModel):
    data: list[KeyPublic]
    count: int = Field(description="Keys matching the filters, over all pages.")
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR_DOC)
