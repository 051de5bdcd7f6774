"""The RBAC policy of the whole product: shared/PERMISSIONS.md as one function.

Every REST endpoint (management ``/api``, analytics ``/analytics``) asks :func:`can` (or
:func:`authorize`, which also picks the HTTP answer) — never an ad-hoc role check in a route.
One :class:`Action` per row of the permission matrix:

=============================  ===============  =========  ========
action                         System Admin     Org Admin  Org User
=============================  ===============  =========  ========
VIEW_SYSTEM_USAGE              yes              no         no
MANAGE_MODEL_MAPPINGS          yes              no         no
MANAGE_ORGS                    yes              no         no
VIEW_ORG_USAGE                 any              own        own
MANAGE_ORG_USERS               any              own        no
SET_ORG_BUDGET                 any              own        no
CREATE_API_KEY                 no               own        own
MANAGE_OWN_API_KEYS            no               yes        yes
MANAGE_ORG_API_KEYS            any              own        no
VIEW_ORG_AUDIT_LOG             any              own        no
CALL_INFERENCE                 no               yes        yes
=============================  ===============  =========  ========

The resource is given as keyword arguments:

``org_id``
    The organisation the resource belongs to (the org of a dashboard, a member, a budget, a
    key, an audit log). Required by every org-scoped action: without it only a System Admin
    ("any") is allowed. Ignored by the global actions (the first three rows).
``owner_id``
    For ``MANAGE_OWN_API_KEYS``: the user the key belongs to (``api_keys.user_id``); the action
    is allowed only on the caller's own keys, in an org the caller belongs to. To decide on
    one given key use :func:`can_manage_key` (own key, or every key of an org the caller may
    manage).

The System Admin's "no" cells are prohibitions, not missing grants: a user who is a System
Admin *and* a member of an org still may not create a key or call inference (PERMISSIONS.md:
"cannot create one, and holds no key to call inference"); they manage keys through
``MANAGE_ORG_API_KEYS`` ("any").

403 or 404 (:func:`decide`): a caller who is not a member of the org a resource belongs to
gets 404, exactly as for an org that does not exist, so that org ids cannot be probed; a
member lacking the role gets 403, as does anyone asking for a global action they lack.
"""

from __future__ import annotations

import uuid
from enum import Enum, StrEnum
from typing import Final

from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.roles import OrgRole
from ias_serve.errors import NotFound, PermissionDenied


class Action(StrEnum):
    """One per row of the permission matrix (shared/PERMISSIONS.md)."""

    VIEW_SYSTEM_USAGE = "view_system_usage"
    MANAGE_MODEL_MAPPINGS = "manage_model_mappings"
    MANAGE_ORGS = "manage_orgs"
    """Create organisations, rename, disable or enable them."""
    VIEW_ORG_USAGE = "view_org_usage"
    MANAGE_ORG_USERS = "manage_org_users"
    """Invite users into an org, remove them, change their role."""
    SET_ORG_BUDGET = "set_org_budget"
    CREATE_API_KEY = "create_api_key"
    MANAGE_OWN_API_KEYS = "manage_own_api_keys"
    """View and revoke the caller's own keys."""
    MANAGE_ORG_API_KEYS = "manage_org_api_keys"
    """View and revoke every key of an org."""
    VIEW_ORG_AUDIT_LOG = "view_org_audit_log"
    CALL_INFERENCE = "call_inference"


class Decision(Enum):
    """What :func:`decide` answers; the HTTP status of a refusal is its value."""

    ALLOW = 200
    FORBIDDEN = 403
    NOT_FOUND = 404


_SYSTEM_ONLY: Final = frozenset({Action.VIEW_SYSTEM_USAGE, Action.MANAGE_MODEL_MAPPINGS, Action.MANAGE_ORGS})
_BOTH_ROLES: Final = frozenset({OrgRole.ORG_ADMIN, OrgRole.ORG_USER})
_ADMIN_ONLY: Final = frozenset({OrgRole.ORG_ADMIN})

# org-scoped actions → (allowed for a System Admin in any org, org roles allowed in their own org)
_ORG_SCOPED: Final[dict[Action, tuple[bool, frozenset[OrgRole]]]] = {
    Action.VIEW_ORG_USAGE: (True, _BOTH_ROLES),
    Action.MANAGE_ORG_USERS: (True, _ADMIN_ONLY),
    Action.SET_ORG_BUDGET: (True, _ADMIN_ONLY),
    Action.CREATE_API_KEY: (False, _BOTH_ROLES),
    Action.MANAGE_OWN_API_KEYS: (False, _BOTH_ROLES),
    Action.MANAGE_ORG_API_KEYS: (True, _ADMIN_ONLY),
    Action.VIEW_ORG_AUDIT_LOG: (True, _ADMIN_ONLY),
    Action.CALL_INFERENCE: (False, _BOTH_ROLES),
}
assert set(_ORG_SCOPED) | _SYSTEM_ONLY == set(Action), "every action needs a rule"


def can(
    principal: SessionPrincipal,
    action: Action,
    *,
    org_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> bool:
    """Whether ``principal`` may perform ``action`` on the resource (see the module docstring)."""
    if action in _SYSTEM_ONLY:
        return principal.is_system_admin
    system_any, roles = _ORG_SCOPED[action]
    if principal.is_system_admin:
        return system_any
    role = principal.role_in(org_id)
    if role is None or role not in roles:
        return False
    if action is Action.MANAGE_OWN_API_KEYS:
        return owner_id == principal.user_id
    return True


def can_manage_key(principal: SessionPrincipal, *, org_id: uuid.UUID, owner_id: uuid.UUID) -> bool:
    """View or revoke one given key: the caller's own, or any key of an org they administer."""
    return can(principal, Action.MANAGE_ORG_API_KEYS, org_id=org_id) or can(
        principal, Action.MANAGE_OWN_API_KEYS, org_id=org_id, owner_id=owner_id
    )


def decide(
    principal: SessionPrincipal,
    action: Action,
    *,
    org_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
) -> Decision:
    """:func:`can`, and for a refusal whether to answer 403 or 404.

    404 when the resource belongs to an org the caller is not a member of (and the caller is
    not a System Admin): to an outsider, another tenant's org must look exactly like one that
    does not exist. 403 otherwise: a global action the caller lacks, or a member lacking the
    role (an Org User inviting), or a System Admin asking for what the role forbids.
    """
    if can(principal, action, org_id=org_id, owner_id=owner_id):
        return Decision.ALLOW
    if (
        action not in _SYSTEM_ONLY
        and not principal.is_system_admin
        and org_id is not None
        and principal.role_in(org_id) is None
    ):
        return Decision.NOT_FOUND
    return Decision.FORBIDDEN


def authorize(
    principal: SessionPrincipal,
    action: Action,
    *,
    org_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    not_found: str = "organisation not found",
) -> None:
    """Return when allowed; raise :class:`NotFound` (``not_found`` as the message, the same a
    missing org gets) or :class:`PermissionDenied` as :func:`decide` says."""
    decision = decide(principal, action, org_id=org_id, owner_id=owner_id)
    if decision is Decision.NOT_FOUND:
        raise NotFound(not_found, param="org_id")
    if decision is Decision.FORBIDDEN:
        raise PermissionDenied(f"not allowed: {action.value.replace('_', ' ')}")
