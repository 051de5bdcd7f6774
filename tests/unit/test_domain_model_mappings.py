from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ias_serve.domain.model_mappings import (
    BackendKind,
    cost,
    is_model_allowed,
    normalize_allow_list,
    validate_model_name,
    validate_price,
    validate_target,
)
from ias_serve.domain.validation import InvalidValue


@pytest.mark.parametrize(
    "name",
    ["llama3", "test-model", "echo-model", "meta-llama/Llama-3-8B-Instruct", "gpt-4o:latest", "a", "x" * 128],
)
def test_valid_model_names(name: str) -> None:
    assert validate_model_name(f" {name} ") == name


@pytest.mark.parametrize(
    "name", ["", "   ", "-leading-dash", "/abs", "has space", "emoji🙂", "x" * 129, "tab\tname"]
)
def test_invalid_model_names(name: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        validate_model_name(name)
    assert exc.value.param == "name"


def test_serve_targets() -> None:
    assert validate_target(BackendKind.SERVE, "LLMServer:test-model") == "LLMServer:test-model"
    assert validate_target("serve", " echo ") == "echo"
    for bad in ["", "  ", "with space", "x" * 2049]:
        with pytest.raises(InvalidValue):
            validate_target(BackendKind.SERVE, bad)


@pytest.mark.parametrize(
    ("url", "norm"),
    [
        ("http://llama-3-8b.inference.svc.cluster.local", "http://llama-3-8b.inference.svc.cluster.local"),
        ("https://api.example.com/v1/", "https://api.example.com/v1"),
        ("http://10.0.0.5:8000/v1", "http://10.0.0.5:8000/v1"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_remote_url_targets(url: str, norm: str) -> None:
    assert validate_target(BackendKind.REMOTE_URL, url) == norm


@pytest.mark.parametrize(
    "url",
    [
        "llama.svc",  # no scheme
        "ftp://host/x",
        "http://",
        "http://host:99999",
        "http://host:port",
        "http://host/v1?x=1",
        "http://host/v1#frag",
        "http://user:pw@host/v1",
        "http://[::1",
    ],
)
def test_remote_url_rejects(url: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        validate_target(BackendKind.REMOTE_URL, url)
    assert exc.value.param == "target"


def test_unknown_backend_kind() -> None:
    with pytest.raises(ValueError):
        validate_target("grpc", "x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, Decimal("0")), ("0.15", Decimal("0.15")), (Decimal("2.5"), Decimal("2.5")), (1.25, Decimal("1.25"))],
)
def test_validate_price(value: object, expected: Decimal) -> None:
    got = validate_price(value)  # type: ignore[arg-type]
    assert got == expected
    assert got.as_tuple().exponent == -6


@pytest.mark.parametrize("value", ["-1", "abc", "NaN", "Infinity", "0.0000001", "1000000.01"])
def test_validate_price_rejects(value: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        validate_price(value, param="price_per_million_input")
    assert exc.value.param == "price_per_million_input"


def test_allow_list_semantics() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert is_model_allowed(None, a)  # NULL: every org
    assert is_model_allowed([a], a)
    assert not is_model_allowed([b], a)
    assert not is_model_allowed([], a)  # empty: nobody


def test_normalize_allow_list() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert normalize_allow_list(None) is None
    assert normalize_allow_list([]) == []
    assert normalize_allow_list([b, a, str(b)]) == sorted([a, b])
    with pytest.raises(InvalidValue) as exc:
        normalize_allow_list(["not-a-uuid"])
    assert exc.value.param == "allowed_org_ids"


def test_cost() -> None:
    assert cost(1_000_000, 0, Decimal("0.15"), Decimal("0.60")) == Decimal("0.15")
    assert cost(1000, 500, Decimal("3"), Decimal("15")) == Decimal("0.0105")
    assert cost(0, 0, Decimal("1"), Decimal("1")) == 0
