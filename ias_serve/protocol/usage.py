"""Usage event wire format (ARCHITECTURE §3.6): gateway → JetStream `usage.v1` → recorder.

One event per inference request, published after the response ends. The JSON body is
``UsageEvent.model_dump_json()``; the JetStream message id is ``request_id`` (publish
deduplication), and the recorder inserts ``to_row()`` values in ``USAGE_EVENT_COLUMNS``
order into ClickHouse ``usage_events``.

Identifiers of Postgres rows (org, user, key) are UUIDs. ``request_id`` is the **server's**
usage id (a fresh ``uuid4().hex`` per request, see :func:`new_usage_id`): the JetStream message
id and the ClickHouse idempotency key. Clients are not trusted to choose it: a client's
``X-Request-ID`` reused across requests (or another tenant's, sent first) would otherwise make
their usage vanish as "duplicates". The client's ``X-Request-ID`` (or the id generated when it
sent none) travels only as ``client_request_id``, a correlation field (stored, logged, echoed).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ias_serve.domain.model_mappings import MAX_PRICE, cost

# ClickHouse UInt32 columns: refuse what the column would silently wrap; no "12" or True.
_UINT32_MAX: Final = 2**32 - 1
UInt32 = Annotated[int, Field(ge=0, le=_UINT32_MAX, strict=True)]
# model_mappings.price_per_million_* (NUMERIC(18, 6)): per million tokens, at most 6 decimals
Price = Annotated[Decimal, Field(ge=0, le=MAX_PRICE, decimal_places=6, allow_inf_nan=False)]


class UsageStatus(StrEnum):
    """How the request ended. Every status is metered (tokens already generated count)."""

    OK = "ok"
    """Completed normally."""
    CANCELLED = "cancelled"
    """The client disconnected; the engine request was cancelled."""
    ERROR = "error"
    """The engine or upstream failed after the request was admitted."""


USAGE_EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "request_id",
    "client_request_id",
    "ts",
    "org_id",
    "user_id",
    "key_id",
    "model",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "ttft_ms",
    "status",
    "cost",
)
"""Column order of :meth:`UsageEvent.to_row` (the ClickHouse ``usage_events`` columns).

The row carries the request's ``cost`` (from the event's prices) instead of the prices."""


class UsageEvent(BaseModel):
    """One metered request. Immutable: built once by the gateway, retried as is."""

    # extra="ignore": a newer gateway may add fields; an older recorder must still record.
    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str = Field(
        min_length=1, max_length=128, description="Server-generated usage id: the idempotency key."
    )
    client_request_id: str | None = Field(
        default=None,
        max_length=128,
        description="The request's X-Request-ID (the client's, or generated): correlation only.",
    )
    ts: datetime = Field(description="When the request started, timezone-aware (normalised to UTC).")
    org_id: uuid.UUID
    user_id: uuid.UUID
    key_id: uuid.UUID
    model: str = Field(min_length=1, max_length=256, description="Public model name asked for.")
    input_tokens: UInt32
    output_tokens: UInt32
    latency_ms: UInt32 = Field(description="Request start to the last byte sent.")
    ttft_ms: UInt32 | None = Field(
        default=None, description="Time to first token; None for non-streaming responses."
    )
    status: UsageStatus = UsageStatus.OK
    # Prices of the model mapping when the request was served, so that a later price change
    # does not rewrite history. None (an event from a gateway that did not send them): 0.
    price_input: Price | None = Field(default=None, description="Price per million input tokens.")
    price_output: Price | None = Field(default=None, description="Price per million output tokens.")

    @field_validator("ts")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        if v.tzinfo is None or v.tzinfo.utcoffset(v) is None:
            raise ValueError("ts must be timezone-aware")
        return v.astimezone(UTC)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost(self) -> Decimal:
        """Exact cost of the request (at most 12 decimals): ClickHouse ``Decimal(38, 12)``."""
        return cost(
            self.input_tokens,
            self.output_tokens,
            self.price_input or Decimal(0),
            self.price_output or Decimal(0),
        )

    def to_row(self) -> tuple[Any, ...]:
        """Values in :data:`USAGE_EVENT_COLUMNS` order, typed for clickhouse-connect."""
        return (
            self.request_id,
            self.client_request_id or "",
            self.ts,
            self.org_id,
            self.user_id,
            self.key_id,
            self.model,
            self.input_tokens,
            self.output_tokens,
            self.latency_ms,
            self.ttft_ms,
            self.status.value,
            self.cost,
        )


def new_usage_id() -> str:
    """A fresh server-side usage id (122 random bits): never taken from the client."""
    return uuid.uuid4().hex


class InvalidUsageEvent(ValueError):
    """A message on the usage subject that is not a valid :class:`UsageEvent`.

    ``kind`` is a small fixed set (a metric label): ``bad_json``, ``missing_field``,
    ``invalid_value``; ``reason`` is the human-readable detail sent to the dead-letter subject.
    """

    KINDS: Final = ("bad_json", "missing_field", "invalid_value")

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def decode_usage_event(data: bytes) -> UsageEvent:
    """Parse one message body; raise :class:`InvalidUsageEvent` saying what is wrong."""
    try:
        return UsageEvent.model_validate_json(data)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False)
        first = errors[0]
        if first["type"] in ("json_invalid", "json_type", "model_type"):
            raise InvalidUsageEvent("bad_json", f"not a JSON object: {first['msg']}") from None
        parts = []
        for err in errors[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "event"
            parts.append(f"{where}: {err['msg']}")
        kind = "missing_field" if all(err["type"] == "missing" for err in errors) else "invalid_value"
        raise InvalidUsageEvent(kind, "; ".join(parts)) from None
