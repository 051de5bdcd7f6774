from __future__ import annotations

import pytest

from ias_serve.domain.emails import MAX_EMAIL_LENGTH, is_valid_email, normalize_email
from ias_serve.domain.validation import InvalidValue


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("  bob@example.org\n", "bob@example.org"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("STRASSE@example.de", "strasse@example.de"),
        ("Straße@Example.de", "strasse@example.de"),  # casefold, not lower
        ("admin@localhost", "admin@localhost"),
        ("admin@ias.local", "admin@ias.local"),
    ],
)
def test_normalize_email(raw: str, norm: str) -> None:
    assert normalize_email(raw) == norm
    assert normalize_email(norm) == norm  # idempotent
    assert is_valid_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "no-at-sign",
        "two@@example.com",
        "a@b@c.com",
        "@example.com",
        "user@",
        "user@.com",
        "user@example.",
        "user@exa..mple.com",
        "us er@example.com",
        "user@exam\tple.com",
        "a" * MAX_EMAIL_LENGTH + "@x.io",
    ],
)
def test_normalize_email_rejects(raw: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        normalize_email(raw)
    assert exc.value.param == "email"
    assert not is_valid_email(raw)
