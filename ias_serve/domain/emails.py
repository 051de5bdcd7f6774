"""E-mail addresses: one canonical form, so uniqueness is case-insensitive.

Deliberately simple: the whole address is stripped and case-folded (RFC 5321 allows a
case-sensitive local part, but no real provider uses it and two accounts differing only by case
are a support and security hazard). Deliverability is checked by sending the invite, not here.
"""

from __future__ import annotations

import re

from ias_serve.domain.validation import InvalidValue

MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit

# one "@", no blanks or control characters, a dot-separated domain without empty labels
_EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f.]+(?:\.[^@\s\x00-\x1f\x7f.]+)*$")


def normalize_email(value: str) -> str:
    """Canonical form: surrounding blanks removed, case-folded. Validates the shape."""
    email = value.strip().casefold()
    if not email:
        raise InvalidValue("e-mail address is empty", param="email")
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidValue(f"e-mail address longer than {MAX_EMAIL_LENGTH} characters", param="email")
    if not _EMAIL_RE.fullmatch(email):
        raise InvalidValue(f"not an e-mail address: {value.strip()!r}", param="email")
    return email


def is_valid_email(value: str) -> bool:
    try:
        normalize_email(value)
    except InvalidValue:
        return False
    return True
