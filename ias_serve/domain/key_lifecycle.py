"""The life of an API key as the management API shows it: status, expiry, owner filter.

* :func:`key_status` — ``revoked`` wins over ``expired``, which wins over ``active``; the
  same rule as the SQL filters of the key listing and the gateway's lookup
  (``revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now)`` = active).
* :func:`resolve_expiry` — ``expires_at`` *or* ``expires_in_days`` (or neither: no expiry),
  in the future, at most :data:`MAX_LIFETIME_DAYS` ahead.
* :func:`parse_owner_filter` — ``owner=me`` or a user id.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from ias_serve.domain.paging import as_utc
from ias_serve.domain.validation import InvalidValue

MAX_LIFETIME_DAYS: Final = 3650
ME: Final = "me"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


def key_status(revoked_at: datetime | None, expires_at: datetime | None, now: datetime) -> KeyStatus:
    if revoked_at is not None:
        return KeyStatus.REVOKED
    if expires_at is not None and as_utc(expires_at) <= as_utc(now):
        return KeyStatus.EXPIRED
    return KeyStatus.ACTIVE


def resolve_expiry(
    now: datetime, *, expires_at: datetime | None = None, expires_in_days: int | None = None
) -> datetime | None:
    """When a new key expires (UTC), or ``None`` for never. Naive ``expires_at`` is UTC."""
    if expires_at is not None and expires_in_days is not None:
        raise InvalidValue("give expires_at or expires_in_days, not both", param="expires_at")
    start = as_utc(now)
    latest = start + timedelta(days=MAX_LIFETIME_DAYS)
    if expires_in_days is not None:
        if isinstance(expires_in_days, bool) or not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
            raise InvalidValue(
                f"expires_in_days must be between 1 and {MAX_LIFETIME_DAYS}", param="expires_in_days"
            )
        return start + timedelta(days=expires_in_days)
    if expires_at is None:
        return None
    when = as_utc(expires_at, param="expires_at")
    if when <= start:
        raise InvalidValue("expires_at must be in the future", param="expires_at")
    if when > latest:
        raise InvalidValue(f"expires_at must be at most {MAX_LIFETIME_DAYS} days ahead", param="expires_at")
    return when


def parse_owner_filter(value: str | None, me: uuid.UUID) -> uuid.UUID | None:
    """``None`` → no filter, ``"me"`` → the caller, otherwise a user id."""
    if value is None:
        return None
    v = value.strip()
    if v.lower() == ME:
        return me
    try:
        return uuid.UUID(v)
    except ValueError:
        raise InvalidValue("owner must be 'me' or a user id", param="owner") from None
