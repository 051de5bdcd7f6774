"""Audit log vocabulary and secret redaction.

Every write of the management API records one row: ``action_type`` (an :class:`AuditAction`
value, a plain string in the database) and the request payload with secrets removed by
:func:`redact`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any

REDACTED = "[redacted]"
MAX_DEPTH = 20

# key names (case-insensitive, "-" read as "_") whose values never reach the audit log
_SECRET_KEYS = frozenset(
    {
        "password",
        "new_password",
        "old_password",
        "current_password",
        "password_hash",
        "token",
        "token_hash",
        "session_token",
        "invite_token",
        "access_token",
        "refresh_token",
        "api_key",
        "key",
        "key_hash",
        "secret",
        "client_secret",
        "authorization",
        "cookie",
        "smtp_password",
    }
)
_SECRET_SUFFIXES = ("_password", "_secret", "_token", "_api_key")


class AuditAction(StrEnum):
    ORG_CREATED = "org_created"
    ORG_UPDATED = "org_updated"
    ORG_DELETED = "org_deleted"
    USER_INVITED = "user_invited"
    INVITE_ACCEPTED = "invite_accepted"
    INVITE_REVOKED = "invite_revoked"
    USER_REMOVED = "user_removed"
    USER_ROLE_CHANGED = "user_role_changed"
    USER_UPDATED = "user_updated"
    KEY_CREATED = "key_created"
    KEY_REVOKED = "key_revoked"
    BUDGET_CHANGED = "budget_changed"
    RATE_LIMITS_CHANGED = "rate_limits_changed"
    BUDGET_ALERTS_CHANGED = "budget_alerts_changed"
    BUDGET_ALERT_TRIGGERED = "budget_alert_triggered"  # by the alert dispatcher (no user)
    MODEL_ADDED = "model_added"
    MODEL_UPDATED = "model_updated"
    MODEL_REMOVED = "model_removed"
    PASSWORD_CHANGED = "password_changed"
    SYSTEM_ADMIN_BOOTSTRAPPED = "system_admin_bootstrapped"
    INVITE_RESENT = "invite_resent"
    LOGIN = "login"
    LOGOUT = "logout"


def is_secret_key(name: str) -> bool:
    n = name.strip().lower().replace("-", "_")
    return n in _SECRET_KEYS or n.endswith(_SECRET_SUFFIXES)


def redact(payload: Any, *, _depth: int = 0) -> Any:
    """A JSON-safe copy of ``payload`` with the values of secret-looking keys replaced.

    Mappings and lists/tuples/sets are walked recursively; ``str``, ``int``, ``float``,
    ``bool`` and ``None`` are kept; enums become their value; UUIDs and decimals their string;
    dates ISO 8601; anything else ``str(value)``. Nesting deeper than :data:`MAX_DEPTH` is cut off.
    """
    if _depth > MAX_DEPTH:
        return REDACTED
    if isinstance(payload, Mapping):
        return {
            str(k): (REDACTED if is_secret_key(str(k)) else redact(v, _depth=_depth + 1))
            for k, v in payload.items()
        }
    if isinstance(payload, list | tuple | set | frozenset):
        items = sorted(payload, key=str) if isinstance(payload, set | frozenset) else payload
        return [redact(v, _depth=_depth + 1) for v in items]
    if isinstance(payload, Enum):
        return redact(payload.value, _depth=_depth + 1)
    if payload is None or isinstance(payload, str | int | float | bool):
        return payload
    if isinstance(payload, datetime | date):
        return payload.isoformat()
    return str(payload)  # UUID, Decimal, ...
