"""The RBAC policy against shared/PERMISSIONS.md, cell by cell.

The matrix below is copied from PERMISSIONS.md (System Admin, Org Admin, Org User); every
action is checked for every role, in the caller's own org and in another org, on the caller's
own key and on another user's key.
"""

from __future__ import annotations

import itertools
import uuid

import pytest

from ias_serve.domain.policy import Action, Decision, authorize, can, can_manage_key, decide
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.roles import OrgRole
from ias_serve.errors import NotFound, PermissionDenied

MATRIX: dict[Action, tuple[str, str, str]] = {
    Action.VIEW_SYSTEM_USAGE: ("yes", "no", "no"),
    Action.MANAGE_MODEL_MAPPINGS: ("yes", "no", "no"),
    Action.MANAGE_ORGS: ("yes", "no", "no"),
    Action.VIEW_ORG_USAGE: ("any", "own", "own"),
    Action.MANAGE_ORG_USERS: ("any", "own", "no"),
    Action.SET_ORG_BUDGET: ("any", "own", "no"),
    Action.CREATE_API_KEY: ("no", "own", "own"),
    Action.MANAGE_OWN_API_KEYS: ("no", "yes", "yes"),
    Action.MANAGE_ORG_API_KEYS: ("any", "own", "no"),
    Action.VIEW_ORG_AUDIT_LOG: ("any", "own", "no"),
    Action.CALL_INFERENCE: ("no", "yes", "yes"),
}
GLOBAL = {Action.VIEW_SYSTEM_USAGE, Action.MANAGE_MODEL_MAPPINGS, Action.MANAGE_ORGS}
ROLES = ("system_admin", "org_admin", "org_user")

OWN_ORG = uuid.UUID(int=1)
OTHER_ORG = uuid.UUID(int=2)
ME = uuid.UUID(int=10)
SOMEONE_ELSE = uuid.UUID(int=11)


def principal(role: str) -> SessionPrincipal:
    if role == "system_admin":
        return SessionPrincipal(ME, "root@ias.test", True)
    return SessionPrincipal(ME, f"{role}@ias.test", False, {OWN_ORG: OrgRole(role)})


def expected(action: Action, role: str, org: uuid.UUID, owner: uuid.UUID) -> bool:
    cell = MATRIX[action][ROLES.index(role)]
    if cell == "no":
        return False
    if role == "system_admin":  # "yes" (global) or "any" (every org)
        return True
    # an org role's "own"/"yes": only in the caller's own org; own keys only
    if org != OWN_ORG:
        return False
    return owner == ME if action is Action.MANAGE_OWN_API_KEYS else True


def test_the_matrix_names_every_action() -> None:
    assert set(MATRIX) == set(Action)


CASES = list(itertools.product(Action, ROLES, (OWN_ORG, OTHER_ORG), (ME, SOMEONE_ELSE)))


@pytest.mark.parametrize(
    ("action", "role", "org", "owner"),
    CASES,
    ids=[
        f"{a.value}-{r}-{'own' if o == OWN_ORG else 'other'}_org-{'own' if w == ME else 'other'}_key"
        for a, r, o, w in CASES
    ],
)
def test_every_cell(action: Action, role: str, org: uuid.UUID, owner: uuid.UUID) -> None:
    p = principal(role)
    want = expected(action, role, org, owner)
    assert can(p, action, org_id=org, owner_id=owner) is want
    decision = decide(p, action, org_id=org, owner_id=owner)
    if want:
        assert decision is Decision.ALLOW
        authorize(p, action, org_id=org, owner_id=owner)
    elif role != "system_admin" and org == OTHER_ORG and action not in GLOBAL:
        # another tenant's resource looks exactly like a missing one
        assert decision is Decision.NOT_FOUND
        with pytest.raises(NotFound) as e:
            authorize(p, action, org_id=org, owner_id=owner)
        assert e.value.status == 404 and e.value.message == "organisation not found"
    else:
        assert decision is Decision.FORBIDDEN
        with pytest.raises(PermissionDenied) as e:
            authorize(p, action, org_id=org, owner_id=owner)
        assert e.value.status == 403 and action.value.replace("_", " ") in e.value.message


def test_global_actions_ignore_the_org() -> None:
    admin = principal("org_admin")
    for action in GLOBAL:
        assert can(principal("system_admin"), action)
        assert decide(admin, action, org_id=OTHER_ORG) is Decision.FORBIDDEN  # 403, not 404


def test_org_scoped_actions_without_an_org() -> None:
    """No org named: only a System Admin's "any" allows it; everyone else gets 403."""
    assert can(principal("system_admin"), Action.VIEW_ORG_USAGE)
    assert not can(principal("system_admin"), Action.CREATE_API_KEY)
    for role in ("org_admin", "org_user"):
        assert not can(principal(role), Action.VIEW_ORG_USAGE)
        assert decide(principal(role), Action.VIEW_ORG_USAGE) is Decision.FORBIDDEN


def test_a_system_admin_who_is_also_a_member_still_cannot_create_keys_or_call_inference() -> None:
    p = SessionPrincipal(ME, "root@ias.test", True, {OWN_ORG: OrgRole.ORG_ADMIN})
    assert not can(p, Action.CREATE_API_KEY, org_id=OWN_ORG)
    assert not can(p, Action.CALL_INFERENCE, org_id=OWN_ORG)
    assert decide(p, Action.CREATE_API_KEY, org_id=OWN_ORG) is Decision.FORBIDDEN
    # …but may manage every key, its own included
    assert can_manage_key(p, org_id=OWN_ORG, owner_id=ME)
    assert can_manage_key(p, org_id=OTHER_ORG, owner_id=SOMEONE_ELSE)


def test_an_org_user_cannot_see_or_revoke_another_users_key_of_the_same_org() -> None:
    user = principal("org_user")
    assert can_manage_key(user, org_id=OWN_ORG, owner_id=ME)
    assert not can_manage_key(user, org_id=OWN_ORG, owner_id=SOMEONE_ELSE)
    assert (
        decide(user, Action.MANAGE_OWN_API_KEYS, org_id=OWN_ORG, owner_id=SOMEONE_ELSE) is Decision.FORBIDDEN
    )


def test_an_org_admin_manages_every_key_of_its_org_and_none_elsewhere() -> None:
    admin = principal("org_admin")
    assert can_manage_key(admin, org_id=OWN_ORG, owner_id=SOMEONE_ELSE)
    assert not can_manage_key(admin, org_id=OTHER_ORG, owner_id=SOMEONE_ELSE)
    assert not can_manage_key(admin, org_id=OTHER_ORG, owner_id=ME)


def test_an_org_admin_of_a_sees_nothing_of_b() -> None:
    admin = principal("org_admin")
    for action in (
        Action.VIEW_ORG_USAGE,
        Action.MANAGE_ORG_USERS,
        Action.MANAGE_ORG_API_KEYS,
        Action.VIEW_ORG_AUDIT_LOG,
        Action.SET_ORG_BUDGET,
    ):
        assert decide(admin, action, org_id=OTHER_ORG) is Decision.NOT_FOUND


def test_a_user_with_no_membership_and_no_flag_may_do_nothing() -> None:
    nobody = SessionPrincipal(ME, "nobody@ias.test", False)
    for action in Action:
        assert not can(nobody, action, org_id=OWN_ORG, owner_id=ME)


def test_roles_differ_per_org() -> None:
    p = SessionPrincipal(ME, "x@ias.test", False, {OWN_ORG: OrgRole.ORG_ADMIN, OTHER_ORG: OrgRole.ORG_USER})
    assert can(p, Action.SET_ORG_BUDGET, org_id=OWN_ORG)
    assert not can(p, Action.SET_ORG_BUDGET, org_id=OTHER_ORG)
    assert decide(p, Action.SET_ORG_BUDGET, org_id=OTHER_ORG) is Decision.FORBIDDEN  # a member: 403
    assert can(p, Action.VIEW_ORG_USAGE, org_id=OTHER_ORG)


def test_authorize_names_what_is_missing() -> None:
    with pytest.raises(NotFound) as e:
        authorize(
            principal("org_user"), Action.MANAGE_ORG_API_KEYS, org_id=OTHER_ORG, not_found="key not found"
        )
    assert e.value.message == "key not found"


def test_session_principal_is_read_only() -> None:
    roles = {OWN_ORG: OrgRole.ORG_USER}
    p = SessionPrincipal(ME, "u@ias.test", False, roles)
    roles[OTHER_ORG] = OrgRole.ORG_ADMIN  # the caller's dict changing later changes nothing
    assert p.org_ids == frozenset({OWN_ORG})
    assert p.role_in(OWN_ORG) is OrgRole.ORG_USER and p.role_in(None) is None
    with pytest.raises(TypeError):
        p.memberships[OTHER_ORG] = OrgRole.ORG_ADMIN  # type: ignore[index]
    with pytest.raises(AttributeError):
        p.is_system_admin = True  # type: ignore[misc]
