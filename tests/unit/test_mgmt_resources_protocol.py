"""Wire formats of orgs, keys, budgets, model mappings and the audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ias_serve.domain.model_mappings import BackendKind
from ias_serve.protocol.management.audit import AuditEntryPublic, AuditLogPublic
from ias_serve.protocol.management.budgets import BudgetPublic, BudgetUpdate
from ias_serve.protocol.management.keys import KeyCreate
from ias_serve.protocol.management.models import (
    ModelCreate,
    ModelNamePublic,
    ModelPublic,
    ModelsPublic,
    ModelUpdate,
)
from ias_serve.protocol.management.orgs import OrgCreate, OrgUpdate
from ias_serve.protocol.management.resource_base import ErrorPublic, error_responses

NOW = datetime(2026, 3, 15, tzinfo=UTC)


def test_org_create_cleans_the_name_and_keeps_the_budget_as_sent() -> None:
    body = OrgCreate.model_validate({"name": "  acme  ", "monthly_token_limit": "500M"})
    assert body.name == "acme" and body.monthly_token_limit == "500M"
    assert OrgCreate.model_validate({"name": "x"}).model_fields_set == {"name"}
    assert OrgCreate.model_validate({"name": "x", "monthly_token_limit": 5}).monthly_token_limit == 5


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "a\x00b"},
        {"name": "x" * 201},
        {"name": "x", "extra": 1},
        {"name": "x", "monthly_token_limit": -1},
        {"name": "x", "monthly_token_limit": True},
        {"name": "x", "monthly_token_limit": 1.5},
        {"name": "x", "monthly_token_limit": 2**63},
    ],
)
def test_org_create_refuses(body: dict) -> None:
    with pytest.raises(ValidationError):
        OrgCreate.model_validate(body)


@pytest.mark.parametrize("body", [{}, {"name": None}, {"status": None}, {"status": "gone"}, {"x": 1}])
def test_org_update_refuses(body: dict) -> None:
    with pytest.raises(ValidationError):
        OrgUpdate.model_validate(body)


def test_org_update_fields_set() -> None:
    assert OrgUpdate.model_validate({"status": "disabled"}).model_dump(exclude_unset=True) == {
        "status": "disabled"
    }
    schema = OrgUpdate.model_json_schema()
    assert schema["minProperties"] == 1 and schema["additionalProperties"] is False


def test_key_create() -> None:
    k = KeyCreate.model_validate({"name": " ci ", "expires_in_days": 30})
    assert k.name == "ci" and k.expires_in_days == 30
    with pytest.raises(ValidationError):
        KeyCreate.model_validate({"name": "ci", "expires_in_days": 30, "expires_at": "2030-01-01T00:00:00Z"})
    with pytest.raises(ValidationError):
        KeyCreate.model_validate({"name": "ci", "expires_in_days": 0})
    with pytest.raises(ValidationError):
        KeyCreate.model_validate({"name": "ci", "key": "ias-x"})


def test_budget_update_requires_the_field_and_accepts_null() -> None:
    assert BudgetUpdate.model_validate({"monthly_token_limit": None}).monthly_token_limit is None
    assert BudgetUpdate.model_validate({"monthly_token_limit": "2B"}).monthly_token_limit == "2B"
    with pytest.raises(ValidationError):
        BudgetUpdate.model_validate({})


def test_budget_public_shape() -> None:
    b = BudgetPublic(
        org_id=uuid.uuid4(),
        monthly_token_limit=None,
        monthly_token_limit_display="unlimited",
        period="2026-03",
    )
    dumped = b.model_dump(mode="json")
    assert dumped["used_this_month"] is None and dumped["updated_at"] is None


def test_model_create_exactly_one_backend() -> None:
    m = ModelCreate.model_validate({"name": "llama3", "serve": "llama3-engine"})
    assert m.backend == (BackendKind.SERVE, "llama3-engine")
    r = ModelCreate.model_validate(
        {"name": "l", "remote_url": "http://h:8000/v1", "price_per_million_input": 1}
    )
    assert r.backend == (BackendKind.REMOTE_URL, "http://h:8000/v1")
    assert r.price_per_million_input == Decimal(1)
    for bad in (
        {"name": "l"},
        {"name": "l", "serve": "a", "remote_url": "http://h"},
        {"name": "l", "serve": None, "remote_url": "http://h"},
        {"name": "bad name", "serve": "a"},
        {"name": "l", "serve": "a", "price_per_million_input": "-1"},
        {"name": "l", "serve": "a", "price_per_million_input": "0.0000001"},
        {"name": "l", "serve": "a", "price_per_million_input": "NaN"},
        {"name": "l", "serve": "a", "allowed_org_ids": ["nope"]},
    ):
        with pytest.raises(ValidationError):
            ModelCreate.model_validate(bad)


def test_model_update() -> None:
    u = ModelUpdate.model_validate({"allowed_org_ids": None})
    assert u.model_dump(exclude_unset=True) == {"allowed_org_ids": None}
    for bad in ({}, {"enabled": None}, {"serve": "a", "remote_url": "http://h"}, {"name": None}):
        with pytest.raises(ValidationError):
            ModelUpdate.model_validate(bad)


def test_model_public_prices_are_plain_decimal_strings() -> None:
    m = ModelPublic(
        id=uuid.uuid4(),
        name="llama3",
        backend_kind=BackendKind.SERVE,
        serve="engine",
        enabled=True,
        allowed_org_ids=None,
        price_per_million_input=Decimal("0.150000"),
        price_per_million_output=Decimal("1000.000000"),
        created_at=NOW,
        updated_at=NOW,
    )
    dumped = m.model_dump(mode="json")
    assert dumped["price_per_million_input"] == "0.15"
    assert dumped["price_per_million_output"] == "1000"
    assert dumped["remote_url"] is None
    listing = ModelsPublic(data=[m, ModelNamePublic(name="x")], count=2).model_dump(mode="json")
    assert listing["data"][0]["serve"] == "engine" and listing["data"][1] == {"name": "x"}


def test_audit_public() -> None:
    e = AuditEntryPublic(
        id=1, ts=NOW, org_id=None, user_id=None, action_type="model_added", payload={"name": "x"}
    )
    page = AuditLogPublic(data=[e], count=1).model_dump(mode="json")
    assert page["next_cursor"] is None and page["data"][0]["user_email"] is None


def test_error_responses() -> None:
    r = error_responses(404, 409, s409="dup")
    assert sorted(r) == [400, 401, 404, 409, 422]
    assert r[409]["description"] == "dup" and r[404]["model"] is ErrorPublic
    assert ErrorPublic.model_validate({"error": {"code": "c", "message": "m"}}).error.details is None


def test_org_update_cleans_the_name() -> None:
    assert OrgUpdate.model_validate({"name": "  acme  "}).name == "acme"
