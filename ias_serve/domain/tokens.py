"""Session and invite tokens: random, stored as SHA-256, expiring.

Tokens carry a short scheme (``iass_`` session, ``iasi_`` invite) so that a leaked token is
recognisable by secret scanners and cannot be confused with an API key (``ias-``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

TOKEN_BYTES = 32  # 256 bits


class TokenKind(StrEnum):
    SESSION = "iass_"
    INVITE = "iasi_"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly generated token; ``token`` goes to the user, ``token_hash`` to the database."""

    token: str
    token_hash: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"IssuedToken(token_hash={self.token_hash!r}, expires_at={self.expires_at.isoformat()})"


def new_token(kind: TokenKind) -> str:
    return kind.value + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 of the token, lowercase hex (columns ``sessions.token_hash``, ``invites.token_hash``)."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def issue_token(kind: TokenKind, ttl_s: float, *, now: datetime | None = None) -> IssuedToken:
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    token = new_token(kind)
    return IssuedToken(token=token, token_hash=hash_token(token), expires_at=expiry(ttl_s, now=now))


def expiry(ttl_s: float, *, now: datetime | None = None) -> datetime:
    return _aware(now) + timedelta(seconds=ttl_s)


def is_expired(expires_at: datetime, *, now: datetime | None = None) -> bool:
    """True from the instant ``expires_at`` on (naive datetimes are read as UTC)."""
    return _aware(now) >= _aware(expires_at)


def looks_like(kind: TokenKind, value: str) -> bool:
    return value.startswith(kind.value) and len(value) > len(kind.value)


def _aware(dt: datetime | None) -> datetime:
    if dt is None:
        return datetime.now(UTC)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


SESSION_COOKIE = "ias_session"
"""Name of the cookie that carries a session token (``iass_…``) for the web portal; API
clients send ``Authorization: Bearer iass_…`` instead."""
CSRF_COOKIE = "ias_csrf"
"""Double-submit CSRF token: a readable cookie set at login beside the HttpOnly session
cookie; a write authenticated by the session cookie must echo it in :data:`CSRF_HEADER`."""
CSRF_HEADER = "X-CSRF-Token"
