"""Who is calling the inference API: the resolved identity behind one API key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from ias_serve.domain.rate_limits import EffectiveRateLimits
from ias_serve.domain.roles import OrgRole


@dataclass(frozen=True, slots=True)
class ApiKeyPrincipal:
    """What the gateway knows about a valid key after authentication (cached per key hash).

    ``rate_limits`` holds the *effective* limits: the key's own and its org's, each already
    capped by the org's ceiling (:func:`ias_serve.domain.rate_limits.effective_rate_limits`).
    """

    key_id: uuid.UUID
    key_hash: str
    org_id: uuid.UUID
    user_id: uuid.UUID
    org_active: bool
    expires_at: datetime | None = None
    rate_limits: EffectiveRateLimits = field(default_factory=EffectiveRateLimits)

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass(frozen=True, slots=True)
class SessionPrincipal:
    """Who is calling the management and analytics APIs: the user behind a login session.

    ``memberships`` maps each organisation the user belongs to onto the role held there; it is
    copied into a read-only mapping, so a principal handed to the policy cannot change under
    it. ``is_system_admin`` is the global flag (``users.is_system_admin``), independent of
    memberships. ``session_id`` names the session (logout revokes it); ``None`` when built
    without one (tests, tools).
    """

    user_id: uuid.UUID
    email: str
    is_system_admin: bool
    memberships: Mapping[uuid.UUID, OrgRole] = field(default_factory=dict)
    name: str = ""
    session_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "memberships", MappingProxyType(dict(self.memberships)))

    def role_in(self, org_id: uuid.UUID | None) -> OrgRole | None:
        """The role held in ``org_id``; ``None`` when not a member (or no org given)."""
        return None if org_id is None else self.memberships.get(org_id)

    @property
    def org_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(self.memberships)
