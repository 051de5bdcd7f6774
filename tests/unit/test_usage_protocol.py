"""Usage event wire format: validation, JSON round trip, ClickHouse row order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from ias_serve.protocol.usage import USAGE_EVENT_COLUMNS, UsageEvent, UsageStatus

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
    assert set(USAGE_EVENT_COLUMNS) == set(UsageEvent.model_fields)


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
    assert e.to_row()[1].month == 2


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
