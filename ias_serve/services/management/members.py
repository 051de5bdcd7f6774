"""Members of an org: list, change role, remove.

* Authorisation: :data:`Action.MANAGE_ORG_USERS` for all three, listing included (System
  Admin: any org; Org Admin: own; Org User: 403; outsider: 404). PERMISSIONS.md grants Org
  Users no view of the member list; they see their colleagues' usage through analytics only.
* An org never loses its last Org Admin: demoting or removing them → 409 ``last_org_admin``.
  The check and the change run under a per-org advisory lock, so two admins removing each
  other at once cannot both succeed.
* Removing a member (audit ``user_removed``): their API keys in the org are revoked in the
  same transaction (``IAS_REMOVE_MEMBER_REVOKES_KEYS``, default on; off: the keys stay but the
  gateway refuses them while the user is not a member), and after the commit each key is
  tombstoned (revoked) or forgotten (kept) in the gateway's Redis cache, published to every
  replica (effective within 1 s). When the user has no membership left (and is not a System
  Admin) their login sessions are revoked too.
"""

from __future__ import annotations

import uuid

from ias_serve.db.models import Membership, User
from ias_serve.db.repositories import (
    ApiKeyRepository,
    MembershipRepository,
    OrgRepository,
    SessionRepository,
    UserRepository,
)
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.policy import Action, authorize
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.roles import OrgRole
from ias_serve.errors import Conflict, NotFound
from ias_serve.protocol.management.members import MemberPublic, MemberRemoved, MembersPublic
from ias_serve.services.management._locks import advisory_lock
from ias_serve.services.management.after_commit import best_effort
from ias_serve.services.management.context import ManagementContext


def member_public(user: User, membership: Membership) -> MemberPublic:
    return MemberPublic(
        id=user.id,
        email=user.email,
        name=user.name,
        role=membership.role,
        status=user.status,
        joined_at=membership.created_at,
    )


def _member_not_found() -> NotFound:
    return NotFound("member not found", param="user_id")


class MemberService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx

    async def list_members(
        self, principal: SessionPrincipal, org_id: uuid.UUID, *, limit: int = 100, offset: int = 0
    ) -> MembersPublic:
        authorize(principal, Action.MANAGE_ORG_USERS, org_id=org_id)
        async with self.ctx.reading() as db:
            await OrgRepository(db).require(org_id)
            members = MembershipRepository(db)
            rows = await members.list_members(org_id, limit=limit, offset=offset)
            total = await members.count(org_id)
        return MembersPublic(data=[member_public(u, m) for u, m in rows], count=total)

    async def change_role(
        self, principal: SessionPrincipal, org_id: uuid.UUID, user_id: uuid.UUID, role: OrgRole
    ) -> MemberPublic:
        authorize(principal, Action.MANAGE_ORG_USERS, org_id=org_id)
        payload = {"user_id": user_id, "role": role}
        async with self.ctx.audited(
            principal.user_id, AuditAction.USER_ROLE_CHANGED, org_id=org_id, payload=payload
        ) as w:
            members = MembershipRepository(w.session)
            membership = await self._locked_member(members, org_id, user_id)
            previous = membership.role
            if previous == OrgRole.ORG_ADMIN and role != OrgRole.ORG_ADMIN:
                await self._guard_last_admin(members, org_id)
            membership = await members.set_role(user_id, org_id, role)
            user = await UserRepository(w.session).require(user_id)
            w.payload.update(previous_role=previous, email=user.email)
            return member_public(user, membership)

    async def remove(
        self, principal: SessionPrincipal, org_id: uuid.UUID, user_id: uuid.UUID
    ) -> MemberRemoved:
        authorize(principal, Action.MANAGE_ORG_USERS, org_id=org_id)
        revoke_keys = self.ctx.settings.remove_member_revokes_keys
        async with self.ctx.audited(
            principal.user_id, AuditAction.USER_REMOVED, org_id=org_id, payload={"user_id": user_id}
        ) as w:
            members = MembershipRepository(w.session)
            membership = await self._locked_member(members, org_id, user_id)
            role = membership.role
            if role == OrgRole.ORG_ADMIN:
                await self._guard_last_admin(members, org_id)
            user = await UserRepository(w.session).require(user_id)
            keys = ApiKeyRepository(w.session)
            if revoke_keys:
                hashes = await keys.revoke_for_member(user_id, org_id, now=self.ctx.clock())
            else:
                hashes = await keys.live_hashes(org_id=org_id, user_id=user_id)
            await members.remove(user_id, org_id)
            sessions_revoked = 0
            if not user.is_system_admin and not await members.list_for_user(user_id):
                sessions_revoked = await SessionRepository(w.session).revoke_all_for_user(user_id)
            w.payload.update(
                email=user.email,
                role=role,
                keys_revoked=len(hashes) if revoke_keys else 0,
                sessions_revoked=sessions_revoked,
            )
        await self._drop_cached_keys(hashes, revoked=revoke_keys)
        return MemberRemoved(
            user_id=user_id,
            org_id=org_id,
            keys_revoked=len(hashes) if revoke_keys else 0,
            sessions_revoked=sessions_revoked,
        )

    @staticmethod
    async def _locked_member(
        members: MembershipRepository, org_id: uuid.UUID, user_id: uuid.UUID
    ) -> Membership:
        """Take the org's member lock, then the membership (404 for an unknown org or member)."""
        await advisory_lock(members.session, "org-members", org_id)
        await OrgRepository(members.session).require(org_id)
        membership = await members.get(user_id, org_id)
        if membership is None:
            raise _member_not_found()
        return membership

    @staticmethod
    async def _guard_last_admin(members: MembershipRepository, org_id: uuid.UUID) -> None:
        if await members.count(org_id, roles=[OrgRole.ORG_ADMIN]) <= 1:
            raise Conflict(
                "an organisation must keep at least one Org Admin: promote another member first",
                param="user_id",
                code="last_org_admin",
            )

    async def _drop_cached_keys(self, hashes: list[str], *, revoked: bool) -> None:
        """After the commit: tombstone (revoked) or forget (kept) each key in every gateway.
        Best effort: a lost effect is logged, the gateway's TTLs bound the staleness."""
        store = self.ctx.keys
        if store is None:
            return
        for key_hash in hashes:
            effect = store.revoke(key_hash) if revoked else store.invalidate_key(key_hash)
            await best_effort("dropping a removed member's key from the gateway cache", effect)
