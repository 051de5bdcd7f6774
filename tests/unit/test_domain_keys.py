from __future__ import annotations

import hashlib

import pytest

from ias_serve.domain import keys
from ias_serve.errors import InvalidApiKey, Unauthenticated


def test_generated_key_shape_hash_and_prefix() -> None:
    issued = keys.generate_api_key()
    assert issued.key.startswith("ias-")
    assert len(issued.key) == keys.KEY_LENGTH == 47
    assert keys.is_well_formed_api_key(issued.key)
    assert issued.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
    assert keys.is_key_hash(issued.key_hash)
    assert issued.prefix == issued.key[:12]
    assert issued.key.startswith(issued.prefix)
    assert keys.mask(issued.prefix) == issued.prefix + "…"


def test_keys_are_unique_and_repr_hides_secret() -> None:
    batch = {keys.generate_api_key().key for _ in range(200)}
    assert len(batch) == 200
    issued = keys.generate_api_key()
    assert issued.key not in repr(issued)
    assert issued.prefix in repr(issued)


def test_hash_is_deterministic_and_sensitive() -> None:
    k = "ias-" + "A" * 43
    assert keys.hash_api_key(k) == keys.hash_api_key(k)
    assert keys.hash_api_key(k) != keys.hash_api_key(k[:-1] + "B")
    assert keys.hashes_equal(keys.hash_api_key(k), keys.hash_api_key(k))
    assert not keys.hashes_equal(keys.hash_api_key(k), "0" * 64)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ias-",
        "ias-" + "A" * 42,  # too short
        "ias-" + "A" * 44,  # too long
        "sk-" + "A" * 44,  # other scheme
        "IAS-" + "A" * 43,  # scheme is case-sensitive
        "ias-" + "A" * 42 + "=",  # padding is not urlsafe-b64 body
        "ias-" + "A" * 42 + "+",
        "ias-" + "A" * 21 + " " + "A" * 21,
    ],
)
def test_parse_api_key_rejects(value: str) -> None:
    assert not keys.is_well_formed_api_key(value.strip())
    with pytest.raises(InvalidApiKey) as exc:
        keys.parse_api_key(value)
    assert exc.value.status == 401
    assert exc.value.code == "invalid_api_key"


def test_parse_api_key_strips_blanks() -> None:
    k = keys.generate_api_key().key
    assert keys.parse_api_key(f"  {k}\n") == k


@pytest.mark.parametrize("header", ["Bearer {k}", "bearer {k}", "BEARER   {k}  ", "  Bearer {k}"])
def test_api_key_from_authorization_accepts(header: str) -> None:
    k = keys.generate_api_key().key
    assert keys.api_key_from_authorization(header.format(k=k)) == k


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer", "Bearer   ", "Basic abc", "Token ias-x"])
def test_parse_bearer_rejects(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        keys.parse_bearer(header)
    with pytest.raises(InvalidApiKey):
        keys.api_key_from_authorization(header)


def test_parse_bearer_returns_any_credential() -> None:
    assert keys.parse_bearer("Bearer iass_abc") == "iass_abc"


def test_api_key_from_authorization_rejects_malformed_key() -> None:
    with pytest.raises(InvalidApiKey):
        keys.api_key_from_authorization("Bearer ias-short")


def test_is_key_hash() -> None:
    assert keys.is_key_hash("a" * 64)
    assert not keys.is_key_hash("A" * 64)  # lowercase hex only (the DB check constraint agrees)
    assert not keys.is_key_hash("a" * 63)
    assert not keys.is_key_hash("g" * 64)
