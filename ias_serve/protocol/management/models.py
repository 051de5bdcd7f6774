"""Model mappings: ``POST/GET /api/model``, ``GET/PATCH/DELETE /api/model/{id}``.

A public model name (what clients send as ``model``) → a backend: ``serve`` (the name of a
Ray Serve engine deployment in this cluster) or ``remote_url`` (the base URL of an
OpenAI-compatible server). Prices per million tokens are decimal strings (``"0.15"``):
JSON numbers would round them in many clients; numbers are accepted on input.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from ias_serve.domain.model_mappings import MAX_MODEL_NAME_LENGTH, MAX_PRICE, MAX_TARGET_LENGTH, BackendKind
from ias_serve.protocol.management.resource_base import PublicModel, WriteBody

MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"

ModelName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_MODEL_NAME_LENGTH,
        pattern=MODEL_NAME_PATTERN,
        description="Public model name clients send as `model`.",
        examples=["llama3"],
    ),
]
Target = Annotated[str, Field(min_length=1, max_length=MAX_TARGET_LENGTH)]
PriceIn = Annotated[
    Decimal,
    Field(
        ge=0,
        le=MAX_PRICE,
        decimal_places=6,
        allow_inf_nan=False,
        description="Price per million tokens (decimal string; at most 6 decimals).",
        examples=["0.15"],
    ),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^[0-9]{1,7}(\.[0-9]{1,6})?$"},
                {"type": "number", "minimum": 0, "maximum": float(MAX_PRICE)},
            ],
            "description": "Price per million tokens (decimal string; at most 6 decimals).",
            "examples": ["0.15"],
        }
    ),
]


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


PriceOut = Annotated[
    Decimal,
    PlainSerializer(_plain, return_type=str, when_used="json"),
    Field(description="Price per million tokens, decimal string.", examples=["0.15"]),
]
OrgIds = Annotated[
    list[uuid.UUID] | None,
    Field(
        max_length=10_000,
        description="Organisations that may use the model: null = every organisation, [] = none.",
    ),
]


def _not_null(v: object) -> object:
    if v is None:
        raise ValueError("may be omitted, not null")
    return v


class ModelCreate(WriteBody):
    """Exactly one of ``serve`` and ``remote_url``."""

    name: ModelName
    serve: Target | SkipJsonSchema[None] = Field(
        default=None, description="Ray Serve engine deployment name.", examples=["llama3-engine"]
    )
    remote_url: Target | SkipJsonSchema[None] = Field(
        default=None,
        description="Base URL of an OpenAI-compatible server (http/https, no credentials).",
        examples=["http://llama-3-8b.inference.svc.cluster.local:8000/v1"],
    )
    enabled: bool = True
    allowed_org_ids: OrgIds = None
    price_per_million_input: PriceIn = Decimal(0)
    price_per_million_output: PriceIn = Decimal(0)

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["serve"]}, {"required": ["remote_url"]}],
            "examples": [
                {
                    "name": "llama3",
                    "remote_url": "http://llama-3-8b.inference.svc.cluster.local:8000/v1",
                    "price_per_million_input": "0.15",
                    "price_per_million_output": "0.60",
                },
                {"name": "test-model", "serve": "test-model", "allowed_org_ids": None},
            ],
        }
    )

    _no_null = field_validator("serve", "remote_url", mode="before")(_not_null)

    @model_validator(mode="after")
    def _one_backend(self) -> ModelCreate:
        if (self.serve is None) == (self.remote_url is None):
            raise ValueError("give exactly one of serve and remote_url")
        return self

    @property
    def backend(self) -> tuple[BackendKind, str]:
        if self.serve is not None:
            return BackendKind.SERVE, self.serve
        assert self.remote_url is not None
        return BackendKind.REMOTE_URL, self.remote_url


class ModelUpdate(WriteBody):
    """The fields to change (at least one). ``serve`` or ``remote_url`` (not both) switches the
    backend; ``allowed_org_ids: null`` opens the model to every organisation. The gateway
    picks changes up within ``model_cache_ttl_s`` (5 s by default)."""

    name: ModelName | SkipJsonSchema[None] = None
    serve: Target | SkipJsonSchema[None] = None
    remote_url: Target | SkipJsonSchema[None] = None
    enabled: bool | SkipJsonSchema[None] = None
    allowed_org_ids: OrgIds = None
    price_per_million_input: PriceIn | SkipJsonSchema[None] = None
    price_per_million_output: PriceIn | SkipJsonSchema[None] = None

    model_config = ConfigDict(
        json_schema_extra={
            "minProperties": 1,
            "not": {"required": ["serve", "remote_url"]},
            "examples": [{"enabled": False}, {"allowed_org_ids": [], "price_per_million_output": "0.5"}],
        }
    )

    _no_null = field_validator(
        "name",
        "serve",
        "remote_url",
        "enabled",
        "price_per_million_input",
        "price_per_million_output",
        mode="before",
    )(_not_null)

    @model_validator(mode="after")
    def _consistent(self) -> ModelUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        if self.serve is not None and self.remote_url is not None:
            raise ValueError("give serve or remote_url, not both")
        return self


class ModelPublic(PublicModel):
    id: uuid.UUID
    name: str = Field(examples=["llama3"])
    backend_kind: BackendKind = Field(description="serve | remote_url")
    serve: str | None = Field(default=None, description="Engine deployment name (serve backends).")
    remote_url: str | None = Field(default=None, description="Base URL (remote_url backends).")
    enabled: bool
    allowed_org_ids: list[uuid.UUID] | None = Field(description="null = every organisation, [] = none.")
    price_per_million_input: PriceOut
    price_per_million_output: PriceOut
    created_at: datetime
    updated_at: datetime


class ModelNamePublic(PublicModel):
    """What an organisation member sees of a model: its name."""

    name: str = Field(examples=["llama3"])


class ModelsPublic(PublicModel):
    data: list[ModelPublic | ModelNamePublic] = Field(
        description="System Admins: every mapping in full; members: the names of the enabled models "
        "their organisations may use."
    )
    count: int
