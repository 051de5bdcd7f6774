"""API keys: ``ias-`` + 256 bits of urlsafe randomness, shown once, stored as SHA-256.

* :func:`generate_api_key` → :class:`IssuedKey` (the secret, its hash, its display prefix)
* :func:`hash_api_key` → 64 lowercase hex characters (column ``api_keys.key_hash``)
* :func:`api_key_from_authorization` parses an ``Authorization: Bearer ias-…`` header value

A plain SHA-256 (no salt, no pepper) is the right tool here: the input already carries 256
bits of entropy, and the gateway must look the key up by its hash in one index probe.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ias_serve.errors import InvalidApiKey, Unauthenticated

KEY_SCHEME = "ias-"
KEY_BYTES = 32  # 256 bits
KEY_BODY_LENGTH = 43  # len(base64url(32 bytes)) without padding
KEY_LENGTH = len(KEY_SCHEME) + KEY_BODY_LENGTH
PREFIX_LENGTH = len(KEY_SCHEME) + 8  # "ias-AbCdEfGh": 48 of the 256 bits, enough to tell keys apart
HASH_HEX_LENGTH = 64

_KEY_RE = re.compile(rf"^{re.escape(KEY_SCHEME)}[A-Za-z0-9_-]{{{KEY_BODY_LENGTH}}}$")
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly generated key. ``key`` is shown to its owner once and never stored."""

    key: str
    key_hash: str
    prefix: str

    def __repr__(self) -> str:  # never leak the secret into logs
        return f"IssuedKey(prefix={self.prefix!r}, key_hash={self.key_hash!r})"


def generate_api_key() -> IssuedKey:
    key = KEY_SCHEME + secrets.token_urlsafe(KEY_BYTES)
    return IssuedKey(key=key, key_hash=hash_api_key(key), prefix=display_prefix(key))


def hash_api_key(key: str) -> str:
    """SHA-256 of the full key (scheme included), lowercase hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters of a key, stored in clear to let owners recognise it."""
    return key[:PREFIX_LENGTH]


def mask(prefix: str) -> str:
    """How a stored key is shown in listings: ``ias-AbCdEfGh…``."""
    return f"{prefix}…"


def is_well_formed_api_key(value: str) -> bool:
    return bool(_KEY_RE.fullmatch(value))


def is_key_hash(value: str) -> bool:
    return bool(_HASH_RE.fullmatch(value))


def parse_api_key(value: str) -> str:
    """Validate a presented key (surrounding blanks ignored); raise :class:`InvalidApiKey`."""
    key = value.strip()
    if not is_well_formed_api_key(key):
        raise InvalidApiKey("Incorrect API key provided. API keys look like ias-… (47 characters).")
    return key


def parse_bearer(authorization: str | None) -> str:
    """The credential of an ``Authorization: Bearer <credential>`` header value.

    The scheme is case-insensitive (RFC 7235). Raises :class:`Unauthenticated` when the header
    is missing, uses another scheme or carries no credential.
    """
    if authorization is None or not authorization.strip():
        raise Unauthenticated("Missing Authorization header: send `Authorization: Bearer <token>`.")
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Unauthenticated("Authorization header must be `Bearer <token>`.")
    return credential


def api_key_from_authorization(authorization: str | None) -> str:
    """Bearer header → validated API key. Every failure is an :class:`InvalidApiKey` (401)."""
    try:
        credential = parse_bearer(authorization)
    except Unauthenticated as exc:
        raise InvalidApiKey(exc.message) from None
    return parse_api_key(credential)


def hashes_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))
