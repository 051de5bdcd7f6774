from __future__ import annotations

import pytest

from ias_serve.domain import InvalidValue, clean_name
from ias_serve.errors import ValidationFailed


def test_invalid_value_is_both_value_error_and_validation_failed() -> None:
    exc = InvalidValue("bad", param="x")
    assert isinstance(exc, ValueError)
    assert isinstance(exc, ValidationFailed)
    assert exc.status == 422 and exc.code == "validation_error"
    assert str(exc) == "bad"
    assert exc.rest_body() == {"error": {"code": "validation_error", "message": "bad"}}


def test_clean_name() -> None:
    assert clean_name("  Acme Corp ") == "Acme Corp"
    assert clean_name("", allow_empty=True) == ""
    assert clean_name("x" * 200) == "x" * 200


@pytest.mark.parametrize(
    ("value", "kw"), [("", {}), ("   ", {}), ("x" * 201, {}), ("a\nb", {}), ("abc", {"max_length": 2})]
)
def test_clean_name_rejects(value: str, kw: dict) -> None:
    with pytest.raises(InvalidValue) as exc:
        clean_name(value, param="org", **kw)
    assert exc.value.param == "org"
