from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ias_serve.domain.key_lifecycle import (
    MAX_LIFETIME_DAYS,
    KeyStatus,
    key_status,
    parse_owner_filter,
    resolve_expiry,
)
from ias_serve.domain.validation import InvalidValue

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def test_status_revoked_wins_over_expired() -> None:
    past = NOW - timedelta(days=1)
    assert key_status(past, past, NOW) is KeyStatus.REVOKED
    assert key_status(past, None, NOW) is KeyStatus.REVOKED


def test_status_expired_at_the_instant_of_expiry() -> None:
    assert key_status(None, NOW, NOW) is KeyStatus.EXPIRED
    assert key_status(None, NOW + timedelta(microseconds=1), NOW) is KeyStatus.ACTIVE
    assert key_status(None, None, NOW) is KeyStatus.ACTIVE


def test_status_compares_across_timezones() -> None:
    later_local = (NOW + timedelta(hours=1)).astimezone(timezone(timedelta(hours=-8)))
    assert key_status(None, later_local, NOW) is KeyStatus.ACTIVE


def test_expiry_none_means_never() -> None:
    assert resolve_expiry(NOW) is None


def test_expiry_in_days() -> None:
    assert resolve_expiry(NOW, expires_in_days=90) == NOW + timedelta(days=90)
    assert resolve_expiry(NOW, expires_in_days=MAX_LIFETIME_DAYS) == NOW + timedelta(days=MAX_LIFETIME_DAYS)


@pytest.mark.parametrize("days", [0, -1, MAX_LIFETIME_DAYS + 1, True])
def test_expiry_in_days_out_of_range(days: int) -> None:
    with pytest.raises(InvalidValue) as exc:
        resolve_expiry(NOW, expires_in_days=days)
    assert exc.value.param == "expires_in_days"


def test_expiry_at() -> None:
    when = NOW + timedelta(days=1)
    assert resolve_expiry(NOW, expires_at=when) == when
    naive = datetime(2026, 4, 1)
    assert resolve_expiry(NOW, expires_at=naive) == naive.replace(tzinfo=UTC)
    local = datetime(2026, 4, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert resolve_expiry(NOW, expires_at=local) == datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "when",
    [NOW, NOW - timedelta(seconds=1), NOW + timedelta(days=MAX_LIFETIME_DAYS, seconds=1)],
)
def test_expiry_at_must_be_in_the_future_and_bounded(when: datetime) -> None:
    with pytest.raises(InvalidValue) as exc:
        resolve_expiry(NOW, expires_at=when)
    assert exc.value.param == "expires_at"


def test_expiry_at_out_of_utc_range() -> None:
    with pytest.raises(InvalidValue):
        resolve_expiry(NOW, expires_at=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))


def test_expiry_both_refused() -> None:
    with pytest.raises(InvalidValue):
        resolve_expiry(NOW, expires_at=NOW + timedelta(days=1), expires_in_days=1)


def test_owner_filter() -> None:
    me = uuid.uuid4()
    other = uuid.uuid4()
    assert parse_owner_filter(None, me) is None
    assert parse_owner_filter("me", me) == me
    assert parse_owner_filter(" ME ", me) == me
    assert parse_owner_filter(str(other), me) == other
    with pytest.raises(InvalidValue) as exc:
        parse_owner_filter("someone", me)
    assert exc.value.param == "owner"
