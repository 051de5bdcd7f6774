"""Usage event wire format: validation, JSON round trip, ClickHouse row order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from ias_serve.protocol.usage import (
    USAGE_EVENT_COLUMNS,
    InvalidUsageEvent,
    UsageEvent,
    UsageStatus,
    decode_usage_event,
)

ORG, USER, KEY = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def fields(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "request_id": "chatcmpl-1",
        "ts": datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC),
        "org_id": ORG,
        "user_id": USER,
        "key_id": KEY,
        "model": "test-model",
        "input_tokens": 12,
        "output_tokens": 34,
        "latency_ms": 560,
        "ttft_ms": 78,
        "status": "ok",
    }
    base.update(kw)
    return base


def test_valid_event_and_row_order() -> None:
    e = UsageEvent(**fields())
    row = e.to_row()
    assert len(row) == len(USAGE_EVENT_COLUMNS)
    as_dict = dict(zip(USAGE_EVENT_COLUMNS, row, strict=True))
    assert as_dict["request_id"] == "chatcmpl-1"
    assert as_dict["org_id"] == ORG and as_dict["user_id"] == USER and as_dict["key_id"] == KEY
    assert as_dict["status"] == "ok" and type(as_dict["status"]) is str
    assert as_dict["ttft_ms"] == 78
    assert e.total_tokens == 46
    # the row carries the cost computed from the prices, not the prices
    assert set(USAGE_EVENT_COLUMNS) == set(UsageEvent.model_fields) - {"price_input", "price_output"} | {
        "cost"
    }
    assert as_dict["cost"] == Decimal(0)  # no prices sent: cost 0


def test_json_round_trip_is_the_wire_format() -> None:
    e = UsageEvent(**fields(ttft_ms=None, status=UsageStatus.CANCELLED))
    body = e.model_dump_json()
    assert '"ts":"2026-03-01T12:00:00.250000Z"' in body
    assert f'"org_id":"{ORG}"' in body
    back = UsageEvent.model_validate_json(body)
    assert back == e and back.status is UsageStatus.CANCELLED and back.ttft_ms is None


def test_ids_accept_uuid_strings() -> None:
    e = UsageEvent(**fields(org_id=str(ORG), user_id=str(USER).upper()))
    assert e.org_id == ORG and e.user_id == USER


def test_ts_is_normalised_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    e = UsageEvent(**fields(ts=datetime(2026, 3, 1, 0, 30, tzinfo=paris)))
    assert e.ts == datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    assert e.ts.utcoffset() == timedelta(0)
    # month partitioning follows UTC: this event belongs to February
    assert dict(zip(USAGE_EVENT_COLUMNS, e.to_row(), strict=True))["ts"].month == 2


def test_ts_from_json_with_offset() -> None:
    e = UsageEvent.model_validate_json(
        UsageEvent(**fields()).model_dump_json().replace("12:00:00.250000Z", "14:00:00.250000+02:00")
    )
    assert e.ts == datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


def test_naive_ts_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        UsageEvent(**fields(ts=datetime(2026, 3, 1, 12, 0)))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("input_tokens", -1),
        ("output_tokens", -5),
        ("latency_ms", -1),
        ("ttft_ms", -1),
        ("input_tokens", 2**32),
        ("input_tokens", "12"),
        ("output_tokens", 1.5),
        ("latency_ms", True),
        ("request_id", ""),
        ("request_id", "x" * 129),
        ("model", ""),
        ("org_id", "not-a-uuid"),
        ("status", "exploded"),
    ],
)
def test_invalid_fields_rejected(name: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        UsageEvent(**fields(**{name: value}))


def test_zero_and_max_counts_accepted() -> None:
    e = UsageEvent(**fields(input_tokens=0, output_tokens=2**32 - 1, latency_ms=0, ttft_ms=0))
    assert e.output_tokens == 2**32 - 1


def test_missing_field_rejected_unknown_field_ignored() -> None:
    f = fields()
    del f["key_id"]
    with pytest.raises(ValidationError):
        UsageEvent(**f)
    e = UsageEvent.model_validate(fields(new_field_from_newer_gateway=1))
    assert not hasattr(e, "new_field_from_newer_gateway")


def test_events_are_immutable() -> None:
    e = UsageEvent(**fields())
    with pytest.raises(ValidationError):
        e.input_tokens = 1  # type: ignore[misc]


def test_cost_is_exact_at_the_prices_of_the_request() -> None:
    e = UsageEvent(**fields(input_tokens=1234, output_tokens=567, price_input="0.15", price_output="0.6"))
    # 1234 x 0.15 / 1e6 + 567 x 0.6 / 1e6
    assert e.cost == Decimal("0.0005253")
    assert dict(zip(USAGE_EVENT_COLUMNS, e.to_row(), strict=True))["cost"] == Decimal("0.0005253")
    back = UsageEvent.model_validate_json(e.model_dump_json())
    assert back.price_input == Decimal("0.15") and back.cost == e.cost
    huge = UsageEvent(**fields(input_tokens=2**32 - 1, output_tokens=2**32 - 1, price_input="1000000"))
    assert huge.cost == Decimal(2**32 - 1)  # fits Decimal(38, 12)


@pytest.mark.parametrize("price", ["-0.1", "0.0000001", "1000001", "NaN", "Infinity", "abc"])
def test_bad_prices_rejected(price: str) -> None:
    with pytest.raises(ValidationError):
        UsageEvent(**fields(price_input=price))


@pytest.mark.parametrize(
    ("body", "kind", "mentions"),
    [
        (b"{not json", "bad_json", "JSON"),
        (b"[1, 2]", "bad_json", "object"),
        (b"", "bad_json", "JSON"),
        (b'{"request_id": "r"}', "missing_field", "org_id"),
        (None, "invalid_value", "output_tokens"),
    ],
)
def test_decode_says_what_is_wrong(body: bytes | None, kind: str, mentions: str) -> None:
    if body is None:  # a well-formed event with negative tokens
        body = (
            UsageEvent(**fields())
            .model_dump_json()
            .replace('"output_tokens":34', '"output_tokens":-3')
            .encode()
        )
    with pytest.raises(InvalidUsageEvent) as err:
        decode_usage_event(body)
    assert err.value.kind == kind and err.value.kind in InvalidUsageEvent.KINDS
    assert mentions in err.value.reason


def test_decode_accepts_the_wire_format() -> None:
    e = UsageEvent(**fields(price_input="0.5"))
    assert decode_usage_event(e.model_dump_json().encode()) == e
