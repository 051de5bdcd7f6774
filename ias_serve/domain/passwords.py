"""Passwords: argon2id through argon2-cffi, plus a length policy.

Policy (NIST SP 800-63B style): at least :data:`MIN_PASSWORD_LENGTH` characters, at most
:data:`MAX_PASSWORD_LENGTH` (bounds the hashing work an attacker can ask for), no composition
rules. The hasher uses argon2-cffi's RFC 9106 "low memory" defaults (argon2id, t=3, m=64 MiB,
p=4); :func:`needs_rehash` tells when a stored hash was made with other parameters.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ias_serve.domain.validation import InvalidValue

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 1024


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id by default


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not a password: equalises timing for unknown users")


def validate_password(password: str, *, min_length: int = MIN_PASSWORD_LENGTH) -> str:
    """Return ``password`` unchanged when it meets the policy; raise :class:`InvalidValue`."""
    if len(password) < min_length:
        raise InvalidValue(f"password must be at least {min_length} characters long", param="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValue(
            f"password must be at most {MAX_PASSWORD_LENGTH} characters long", param="password"
        )
    if not password.strip():
        raise InvalidValue("password must not be blank", param="password")
    return password


def hash_password(password: str) -> str:
    """argon2id PHC string (``$argon2id$v=19$m=65536,t=3,p=4$…``). Applies the policy first."""
    return _hasher().hash(validate_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches. Never raises for a wrong password or a malformed hash.

    Pass ``None`` for an unknown user: a dummy hash is verified so the response takes the same
    time as for a known one (no user enumeration through timing).
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        ok = _hasher().verify(password_hash or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones (or is not argon2)."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def check_password_not_email(password: str, email: str, *, min_part: int = 3) -> str:
    """Return ``password`` unless it contains the user's e-mail address or its local part.

    Case-insensitive. A local part shorter than ``min_part`` characters (``a@x.org``) is not
    checked: nearly every password contains one letter. Raises :class:`InvalidValue`.
    """
    pw = password.casefold()
    address = email.strip().casefold()
    local = address.rpartition("@")[0] if "@" in address else address
    if address and address in pw:
        raise InvalidValue("password must not contain your e-mail address", param="password")
    if len(local) >= min_part and local in pw:
        raise InvalidValue("password must not contain the name part of your e-mail address", param="password")
    return password


def validate_new_password(password: str, *, email: str) -> str:
    """The whole policy for a password a user chooses: :func:`validate_password` (length) and
    :func:`check_password_not_email`."""
    return check_password_not_email(validate_password(password), email)
