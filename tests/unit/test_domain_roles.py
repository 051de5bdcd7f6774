from __future__ import annotations

import pytest

from ias_serve.domain import InvalidValue
from ias_serve.domain.roles import OrgRole, Role, Status, parse_org_role


def test_role_values_are_the_db_labels() -> None:
    assert [r.value for r in Role] == ["system_admin", "org_admin", "org_user"]
    assert [r.value for r in OrgRole] == ["org_admin", "org_user"]
    assert [s.value for s in Status] == ["active", "disabled"]


def test_org_roles_are_roles() -> None:
    for r in OrgRole:
        assert r.as_role() in Role
        assert r.as_role() == r  # both are str enums with the same value
    assert OrgRole.ORG_ADMIN.as_role() is Role.ORG_ADMIN
    assert "system_admin" not in {r.value for r in OrgRole}


@pytest.mark.parametrize(
    ("text", "role"), [("org_admin", OrgRole.ORG_ADMIN), (" ORG_USER ", OrgRole.ORG_USER)]
)
def test_parse_org_role(text: str, role: OrgRole) -> None:
    assert parse_org_role(text) is role


@pytest.mark.parametrize("text", ["system_admin", "admin", ""])
def test_parse_org_role_rejects(text: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        parse_org_role(text)
    assert exc.value.param == "role"
    assert "org_admin" in exc.value.message
