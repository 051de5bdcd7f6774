from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from ias_serve.domain.audit import REDACTED, AuditAction, is_secret_key, redact
from ias_serve.domain.roles import OrgRole


def test_required_action_types_exist() -> None:
    required = {
        "org_created", "org_updated", "user_invited", "invite_accepted", "user_removed",
        "user_role_changed", "key_created", "key_revoked", "budget_changed", "model_added",
        "model_updated", "model_removed", "password_changed", "system_admin_bootstrapped",
    }  # fmt: skip
    assert required <= {a.value for a in AuditAction}


def test_secret_key_names() -> None:
    for k in ["password", "Password", "new_password", "api_key", "API-KEY", "token", "invite_token", "key",
              "smtp_password", "client_secret", "authorization", "key_hash", "token_hash"]:  # fmt: skip
        assert is_secret_key(k), k
    for k in ["email", "name", "role", "prefix", "key_id", "monthly_token_limit", "tokens"]:
        assert not is_secret_key(k), k


def test_redact_nested_and_json_safe() -> None:
    uid = uuid.uuid4()
    payload = {
        "email": "a@b.c",
        "password": "hunter2hunter2",
        "nested": {"api_key": "ias-secret", "list": [{"token": "t", "ok": 1}, "plain"]},
        "role": OrgRole.ORG_ADMIN,
        "user_id": uid,
        "price": Decimal("0.15"),
        "when": datetime(2025, 1, 1, tzinfo=UTC),
        "day": date(2025, 1, 2),
        "tags": {"b", "a"},
        "tuple": (1, 2),
        "none": None,
        "flag": True,
        "ratio": 0.5,
        7: "int key",
    }
    out = redact(payload)
    assert out["password"] == REDACTED
    assert out["nested"]["api_key"] == REDACTED
    assert out["nested"]["list"] == [{"token": REDACTED, "ok": 1}, "plain"]
    assert out["role"] == "org_admin"
    assert out["user_id"] == str(uid)
    assert out["price"] == "0.15"
    assert out["when"] == "2025-01-01T00:00:00+00:00"
    assert out["day"] == "2025-01-02"
    assert out["tags"] == ["a", "b"]
    assert out["tuple"] == [1, 2]
    assert out["none"] is None and out["flag"] is True and out["ratio"] == 0.5
    assert out["7"] == "int key"
    json.dumps(out)  # JSON-safe
    assert payload["password"] == "hunter2hunter2"  # input untouched
    assert "hunter2" not in json.dumps(out) and "ias-secret" not in json.dumps(out)


def test_redact_depth_limit() -> None:
    deep: dict = {}
    cur = deep
    for _ in range(50):
        cur["x"] = {}
        cur = cur["x"]
    out = redact(deep)
    s = json.dumps(out)
    assert REDACTED in s


def test_redact_scalars() -> None:
    assert redact("x") == "x"
    assert redact(None) is None
    assert redact([{"secret": 1}]) == [{"secret": REDACTED}]
