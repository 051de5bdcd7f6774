"""Wire formats of login, invites and members (ias_serve.protocol.management.{auth,invites,members})."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from ias_serve.domain.roles import OrgRole
from ias_serve.protocol.management.auth import LoginCreate, PasswordChange
from ias_serve.protocol.management.invites import InviteAccept, InviteCreate
from ias_serve.protocol.management.members import MemberUpdate


def test_login_hides_the_password() -> None:
    body = LoginCreate.model_validate({"email": "a@b.co", "password": "hunter2-hunter2"})
    assert "hunter2" not in repr(body) and "hunter2" not in str(body.model_dump())
    assert body.password.get_secret_value() == "hunter2-hunter2"


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (LoginCreate, {"email": "a@b.co", "password": "x", "remember": True}),
        (PasswordChange, {"current_password": "x", "new_password": "y", "also": 1}),
        (InviteCreate, {"email": "a@b.co", "role": "org_user", "org_id": "x"}),
        (InviteAccept, {"name": "A", "password": "p", "role": "org_admin"}),
        (MemberUpdate, {"role": "org_user", "email": "x@y.z"}),
    ],
)
def test_unknown_fields_are_refused(model: type, data: dict) -> None:
    with pytest.raises(ValidationError, match="extra"):
        model.model_validate(data)


def test_invite_create_normalises_and_validates_the_email() -> None:
    body = InviteCreate.model_validate({"email": "  Grace@Example.COM "})
    assert body.email == "grace@example.com" and body.role is OrgRole.ORG_USER
    for bad in ["", "no-at-sign", "a@b@c", "a b@c.d", "x@.com"]:
        with pytest.raises(ValidationError):
            InviteCreate.model_validate({"email": bad, "role": "org_admin"})
    with pytest.raises(ValidationError):
        InviteCreate.model_validate({"email": "a@b.co", "role": "system_admin"})


def test_empty_passwords_are_malformed() -> None:
    with pytest.raises(ValidationError):
        LoginCreate.model_validate({"email": "a@b.co", "password": ""})
    with pytest.raises(ValidationError):
        InviteAccept.model_validate({"password": ""})
    assert InviteAccept.model_validate({"password": "p"}).name is None


def test_passwords_must_be_encodable() -> None:
    for model, data in [
        (LoginCreate, r'{"email": "a@b.co", "password": "x\ud800"}'),
        (PasswordChange, r'{"current_password": "ok", "new_password": "\udfff-new-password"}'),
        (InviteAccept, r'{"password": "\ud83d"}'),
    ]:
        with pytest.raises(ValidationError, match="valid Unicode"):
            model.model_validate(json.loads(data))  # as FastAPI parses bodies
    assert LoginCreate.model_validate_json(r'{"email": "a@b.co", "password": "\ud83d\ude00 emoji"}')
