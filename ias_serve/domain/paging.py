"""Keyset pagination of the management API: opaque cursors, page sizes, time filters.

A listing answers ``{data, count, next_cursor}``; the client passes ``next_cursor`` back as
``cursor`` to get the next page (``null``: no more). A cursor is the sort key of the last row
of the page it came from, so a page costs one index range scan whatever its depth (no
``OFFSET``), and rows inserted meanwhile never shift the pages (no duplicates, no gaps).

The cursor is base64url(JSON ``[kind, value, ...]``), without padding. It is opaque to
clients but not secret, and not signed: it only positions the scan; what a caller may see is
decided by the filters and the RBAC policy on every page, so a forged cursor can only skip
rows, never reveal any. ``kind`` ties a cursor to its listing (an audit cursor is refused by
the key listing).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Final

from ias_serve.domain.validation import InvalidValue

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
MAX_CURSOR_LENGTH: Final = 512

AUDIT: Final = "audit"
KEYS: Final = "keys"
ORGS: Final = "orgs"

_BAD_CURSOR = "invalid cursor: pass the next_cursor of the previous page unchanged"


def encode_cursor(kind: str, *values: str | int) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(kind: str, cursor: str, *types: type) -> tuple[Any, ...]:
    """The values of a cursor made by :func:`encode_cursor` for ``kind``, each checked to be of
    the given type (``int`` excludes ``bool``). :class:`InvalidValue` (param ``cursor``) for
    anything else."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidValue(_BAD_CURSOR, param="cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidValue(_BAD_CURSOR, param="cursor") from None
    if not isinstance(decoded, list) or len(decoded) != len(types) + 1 or decoded[0] != kind:
        raise InvalidValue(_BAD_CURSOR, param="cursor")
    values = tuple(decoded[1:])
    for value, expected in zip(values, types, strict=True):
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise InvalidValue(_BAD_CURSOR, param="cursor")
    return values


def _parse_ts(text: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(_BAD_CURSOR, param="cursor") from None
    if ts.tzinfo is None:
        raise InvalidValue(_BAD_CURSOR, param="cursor")
    return ts


def _parse_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidValue(_BAD_CURSOR, param="cursor") from None


# --- the cursors of each listing ----------------------------------------------------------


def audit_cursor(ts: datetime, entry_id: int) -> str:
    """Audit log, newest first: sort key ``(ts, id)``."""
    return encode_cursor(AUDIT, as_utc(ts).isoformat(), entry_id)


def parse_audit_cursor(cursor: str) -> tuple[datetime, int]:
    ts, entry_id = decode_cursor(AUDIT, cursor, str, int)
    return _parse_ts(ts), entry_id


def key_cursor(created_at: datetime, key_id: uuid.UUID) -> str:
    """API keys, newest first: sort key ``(created_at, id)``."""
    return encode_cursor(KEYS, as_utc(created_at).isoformat(), str(key_id))


def parse_key_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    ts, key_id = decode_cursor(KEYS, cursor, str, str)
    return _parse_ts(ts), _parse_uuid(key_id)


def org_cursor(name_key: str, org_id: uuid.UUID) -> str:
    """Organisations by name, case-insensitively: sort key ``(lower(name), id)``;
    ``name_key`` is the database's own ``lower(name)`` of the last row (so that Python's and
    PostgreSQL's case folding never have to agree)."""
    return encode_cursor(ORGS, name_key, str(org_id))


def parse_org_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    name, org_id = decode_cursor(ORGS, cursor, str, str)
    return name, _parse_uuid(org_id)


# --- time filters ------------------------------------------------------------------------


def as_utc(ts: datetime, *, param: str = "timestamp") -> datetime:
    """``ts`` in UTC; a naive datetime is read as UTC. :class:`InvalidValue` when it cannot be
    represented in UTC (e.g. 9999-12-31T23:00-05:00)."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    try:
        return ts.astimezone(UTC)
    except OverflowError:
        raise InvalidValue(f"{param} out of range", param=param) from None


def time_range(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """``[since, until)`` in UTC; :class:`InvalidValue` when ``since`` is after ``until``."""
    s = None if since is None else as_utc(since, param="since")
    u = None if until is None else as_utc(until, param="until")
    if s is not None and u is not None and s > u:
        raise InvalidValue("since must not be after until", param="since")
    return s, u


def contains_control(text: str) -> bool:
    """Whether a free-text filter carries control characters (PostgreSQL refuses NUL)."""
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)
