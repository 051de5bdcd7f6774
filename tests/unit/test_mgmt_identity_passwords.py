"""The password policy's e-mail check (pure functions of ias_serve.domain.passwords)."""

from __future__ import annotations

import pytest

from ias_serve.domain.passwords import MIN_PASSWORD_LENGTH, check_password_not_email, validate_new_password
from ias_serve.domain.validation import InvalidValue
from ias_serve.errors import ValidationFailed


@pytest.mark.parametrize(
    "password",
    [
        "ada.lovelace",  # equals the local part
        "ADA.LOVELACE-rocks-2026",  # contains it, other case
        "my ada.lovelace password",
        "ada.lovelace@example.com",  # the whole address
        "xx Ada.Lovelace@Example.COM xx",
    ],
)
def test_refuses_the_local_part_or_address(password: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        check_password_not_email(password, "Ada.Lovelace@example.com")
    assert exc.value.param == "password"
    assert isinstance(exc.value, ValidationFailed)  # HTTP 422


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "lovelace-ada-2026", "ada lovelace is great"]
)
def test_accepts_passwords_without_it(password: str) -> None:
    assert check_password_not_email(password, "ada.lovelace@example.com") == password


def test_short_local_parts_are_not_checked() -> None:
    # "al" occurs in countless passphrases: only local parts of 3+ characters count
    assert check_password_not_email("totally valid phrase", "al@example.com")
    with pytest.raises(InvalidValue):
        check_password_not_email("I am bob, hi there", "bob@example.com")
    assert check_password_not_email("a password here", "bob@example.com", min_part=4)


def test_address_without_at_is_checked_whole() -> None:
    with pytest.raises(InvalidValue):
        check_password_not_email("xx root-user xx", "root-user")


def test_message_does_not_echo_the_password() -> None:
    with pytest.raises(InvalidValue) as exc:
        check_password_not_email("grace-secret-hopper", "grace-secret-hopper@example.com")
    assert "grace-secret-hopper" not in exc.value.message


def test_validate_new_password_applies_length_then_email() -> None:
    with pytest.raises(InvalidValue, match="at least"):
        validate_new_password("short", email="x@example.com")
    with pytest.raises(InvalidValue, match="e-mail"):
        validate_new_password("grace.hopper-1906!", email="grace.hopper@example.com")
    ok = "n" * MIN_PASSWORD_LENGTH
    assert validate_new_password(ok, email="grace@example.com") == ok
