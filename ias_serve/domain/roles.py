"""Roles and account states. The string values are also the PostgreSQL enum labels."""

from __future__ import annotations

from enum import StrEnum

from ias_serve.domain.validation import InvalidValue


class Role(StrEnum):
    """Every role a principal can hold (see shared/PERMISSIONS.md)."""

    SYSTEM_ADMIN = "system_admin"  # global: a flag on the user (users.is_system_admin)
    ORG_ADMIN = "org_admin"  # per organisation: memberships.role
    ORG_USER = "org_user"  # per organisation: memberships.role


class OrgRole(StrEnum):
    """The roles a membership (or an invite) can carry: DB enum ``org_role``."""

    ORG_ADMIN = "org_admin"
    ORG_USER = "org_user"

    def as_role(self) -> Role:
        return Role(self.value)


class Status(StrEnum):
    """State of an organisation or a user account: DB enum ``account_status``."""

    ACTIVE = "active"
    DISABLED = "disabled"


def parse_org_role(value: str) -> OrgRole:
    """``"org_admin"``/``"org_user"`` (case and surrounding blanks ignored) → :class:`OrgRole`."""
    v = value.strip().lower()
    try:
        return OrgRole(v)
    except ValueError:
        allowed = ", ".join(r.value for r in OrgRole)
        msg = f"unknown organisation role {value!r} (allowed: {allowed})"
        raise InvalidValue(msg, param="role") from None
