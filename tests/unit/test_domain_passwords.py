from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from ias_serve.domain import passwords
from ias_serve.domain.validation import InvalidValue
from ias_serve.errors import ValidationFailed

GOOD = "correct horse battery"


def test_hash_is_argon2id_and_verifies() -> None:
    h = passwords.hash_password(GOOD)
    assert h.startswith("$argon2id$")
    assert passwords.verify_password(h, GOOD)
    assert not passwords.verify_password(h, GOOD + "!")
    assert not passwords.verify_password(h, "")
    assert not passwords.needs_rehash(h)


def test_hashes_are_salted() -> None:
    assert passwords.hash_password(GOOD) != passwords.hash_password(GOOD)


def test_verify_never_raises_on_garbage_hash() -> None:
    assert not passwords.verify_password("not-a-hash", GOOD)
    assert not passwords.verify_password("$argon2id$v=19$m=1,t=1,p=1$xx$yy", GOOD)


def test_verify_unknown_user_is_false() -> None:
    assert not passwords.verify_password(None, GOOD)
    assert not passwords.verify_password(None, "not a password: equalises timing for unknown users")


def test_verify_rejects_oversized_password_without_hashing() -> None:
    h = passwords.hash_password(GOOD)
    assert not passwords.verify_password(h, "x" * (passwords.MAX_PASSWORD_LENGTH + 1))


def test_needs_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(GOOD)
    assert passwords.needs_rehash(weak)
    assert passwords.verify_password(weak, GOOD)  # old hashes still verify
    assert passwords.needs_rehash("garbage")
    assert passwords.needs_rehash("")


@pytest.mark.parametrize(
    "pw",
    [
        "",
        "short",
        "x" * (passwords.MIN_PASSWORD_LENGTH - 1),
        " " * 20,
        "x" * (passwords.MAX_PASSWORD_LENGTH + 1),
    ],
)
def test_policy_rejects(pw: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        passwords.validate_password(pw)
    assert isinstance(exc.value, ValidationFailed) and isinstance(exc.value, ValueError)
    assert exc.value.param == "password"
    assert exc.value.status == 422
    with pytest.raises(ValueError):
        passwords.hash_password(pw)


def test_policy_accepts_boundaries_and_unicode() -> None:
    assert passwords.validate_password("x" * passwords.MIN_PASSWORD_LENGTH)
    assert passwords.validate_password("x" * passwords.MAX_PASSWORD_LENGTH)
    assert passwords.validate_password("pässwörd-ünïcode") == "pässwörd-ünïcode"
    assert passwords.validate_password("abc", min_length=3) == "abc"
