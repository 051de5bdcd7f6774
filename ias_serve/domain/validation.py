"""The one error type of the domain layer."""

from __future__ import annotations

from ias_serve.errors import ValidationFailed


class InvalidValue(ValidationFailed, ValueError):
    """Bad input to a domain function.

    A ``ValueError`` for pydantic validators and plain Python callers, and a
    ``ValidationFailed`` (HTTP 422, code ``validation_error``) for the API error handlers.
    """


_CONTROL = frozenset(chr(c) for c in [*range(0x00, 0x20), 0x7F])


def clean_name(value: str, *, param: str = "name", max_length: int = 200, allow_empty: bool = False) -> str:
    """A display name (organisation, user, key): stripped, no control characters, bounded."""
    v = value.strip()
    if not v and not allow_empty:
        raise InvalidValue(f"{param} must not be empty", param=param)
    if len(v) > max_length:
        raise InvalidValue(f"{param} longer than {max_length} characters", param=param)
    if any(ch in _CONTROL for ch in v):
        raise InvalidValue(f"{param} must not contain control characters", param=param)
    return v
