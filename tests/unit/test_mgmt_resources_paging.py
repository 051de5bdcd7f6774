from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ias_serve.domain import paging
from ias_serve.domain.validation import InvalidValue

TS = datetime(2026, 3, 15, 12, 0, 0, 123456, tzinfo=UTC)


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_audit_cursor_round_trip_keeps_microseconds() -> None:
    c = paging.audit_cursor(TS, 42)
    assert "=" not in c
    assert paging.parse_audit_cursor(c) == (TS, 42)


def test_cursor_of_other_timezone_is_stored_in_utc() -> None:
    local = TS.astimezone(timezone(timedelta(hours=-5)))
    ts, _ = paging.parse_audit_cursor(paging.audit_cursor(local, 1))
    assert ts == TS and ts.utcoffset() == timedelta(0)


def test_key_and_org_cursors_round_trip() -> None:
    kid = uuid.uuid4()
    assert paging.parse_key_cursor(paging.key_cursor(TS, kid)) == (TS, kid)
    oid = uuid.uuid4()
    assert paging.parse_org_cursor(paging.org_cursor("acme ünïcode", oid)) == ("acme ünïcode", oid)


def test_a_cursor_belongs_to_its_listing() -> None:
    c = paging.audit_cursor(TS, 1)
    with pytest.raises(InvalidValue) as exc:
        paging.parse_key_cursor(c)
    assert exc.value.param == "cursor"
    with pytest.raises(InvalidValue):
        paging.parse_org_cursor(paging.key_cursor(TS, uuid.uuid4()))


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "x" * (paging.MAX_CURSOR_LENGTH + 1),
        "!!!not base64!!!",
        "a",  # one base64 character: incomplete
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not text
        _raw("audit"),  # not a list
        _raw(["audit"]),  # too short
        _raw(["audit", "2026-01-01T00:00:00+00:00", 1, 2]),  # too long
        _raw(["audit", "2026-01-01T00:00:00+00:00", "1"]),  # id not an int
        _raw(["audit", "2026-01-01T00:00:00+00:00", True]),  # bool is not an int
        _raw(["audit", "yesterday", 1]),  # not a timestamp
        _raw(["audit", "2026-01-01T00:00:00", 1]),  # naive timestamp
        _raw(["audit", 5, 1]),  # ts not a string
    ],
)
def test_garbage_audit_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        paging.parse_audit_cursor(cursor)
    assert exc.value.param == "cursor" and exc.value.status == 422


def test_bad_uuid_in_key_cursor_is_refused() -> None:
    with pytest.raises(InvalidValue):
        paging.parse_key_cursor(_raw(["keys", TS.isoformat(), "not-a-uuid"]))


def test_as_utc() -> None:
    assert paging.as_utc(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)
    plus2 = datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert paging.as_utc(plus2) == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidValue) as exc:
        paging.as_utc(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), param="until")
    assert exc.value.param == "until"


def test_time_range() -> None:
    a, b = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1)
    assert paging.time_range(a, b) == (a, b.replace(tzinfo=UTC))
    assert paging.time_range(None, None) == (None, None)
    assert paging.time_range(a, a) == (a, a)
    with pytest.raises(InvalidValue) as exc:
        paging.time_range(datetime(2026, 3, 1, tzinfo=UTC), a)
    assert exc.value.param == "since"


def test_contains_control() -> None:
    assert paging.contains_control("a\x00b") and paging.contains_control("\x7f")
    assert not paging.contains_control("acme ünïcode")
