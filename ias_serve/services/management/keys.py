"""API keys: create (the full key once), list (never the key or its hash), revoke.

Who may do what (shared/PERMISSIONS.md, decided by :mod:`ias_serve.domain.policy` only):

* Create: :data:`Action.CREATE_API_KEY` — members of the org, either role, for themselves. A
  System Admin may not (403), even when also a member; an outsider gets 404. Not in a disabled
  org (409 ``org_disabled``). A second *active* key of the same name for the same owner in the
  org → 409 ``key_name_taken`` (revoke the old one first, as ``ias-admin key create --rotate``
  does); the check runs under a per-owner advisory lock, so two concurrent creations cannot
  both pass it.
* List: with :data:`Action.MANAGE_ORG_API_KEYS` (System Admin: any org, Org Admin: own) every
  key of the org; otherwise (Org User) only the caller's own — ``owner=<someone else>`` then
  matches nothing. Outsiders: 404.
* Revoke: :func:`~ias_serve.domain.policy.can_manage_key` — the caller's own key, or any key of
  an org they may manage. A key the caller may not manage answers 404 exactly like a missing
  one (an Org User cannot learn which ids are another user's keys). Revoking a revoked key:
  409 ``key_already_revoked``. After the commit the key's Redis entry is tombstoned and the
  revocation published on ``ias:revocations``: every gateway replica refuses it within 1 s.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from ias_serve.db.models import ApiKey
from ias_serve.db.repositories import ApiKeyRepository, OrgRepository, UserRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.key_lifecycle import KeyStatus, key_status, parse_owner_filter, resolve_expiry
from ias_serve.domain.keys import generate_api_key
from ias_serve.domain.paging import key_cursor, parse_key_cursor
from ias_serve.domain.policy import Action, authorize, can, can_manage_key
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.roles import Status
from ias_serve.errors import Conflict, NotFound
from ias_serve.protocol.management.keys import KeyCreate, KeyCreatedPublic, KeyOwner, KeyPublic, KeysPublic
from ias_serve.services.management._locks import advisory_lock
from ias_serve.services.management.after_commit import best_effort
from ias_serve.services.management.context import ManagementContext


def key_public(key: ApiKey, owner_email: str, now: datetime) -> KeyPublic:
    return KeyPublic(
        id=key.id,
        org_id=key.org_id,
        name=key.name,
        prefix=key.prefix,
        owner=KeyOwner(id=key.user_id, email=owner_email),
        status=key_status(key.revoked_at, key.expires_at, now),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
    )


def _key_not_found() -> NotFound:
    return NotFound("API key not found", param="key_id")


class KeyService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx

    async def create(
        self, principal: SessionPrincipal, org_id: uuid.UUID, body: KeyCreate
    ) -> KeyCreatedPublic:
        authorize(principal, Action.CREATE_API_KEY, org_id=org_id)
        now = self.ctx.clock()
        expires_at = resolve_expiry(now, expires_at=body.expires_at, expires_in_days=body.expires_in_days)
        issued = generate_api_key()
        payload = {
            **body.model_dump(mode="json", exclude_unset=True),
            "owner_id": principal.user_id,
            "prefix": issued.prefix,
            "expires_at": expires_at,
        }
        async with self.ctx.audited(
            principal.user_id, AuditAction.KEY_CREATED, org_id=org_id, payload=payload
        ) as w:
            org = await OrgRepository(w.session).require(org_id)
            if org.status is not Status.ACTIVE:
                raise Conflict("the organisation is disabled: no new keys", code="org_disabled")
            repo = ApiKeyRepository(w.session)
            await advisory_lock(w.session, "api_key_name", org_id, principal.user_id)
            if await repo.live_name_taken(org_id, principal.user_id, body.name, now=now):
                raise Conflict(
                    f"you already have an active key named {body.name!r} in this organisation "
                    "(revoke it first, or choose another name)",
                    param="name",
                    code="key_name_taken",
                )
            row = await repo.create(
                key_hash=issued.key_hash,
                prefix=issued.prefix,
                user_id=principal.user_id,
                org_id=org_id,
                name=body.name,
                expires_at=expires_at,
            )
            w.payload["key_id"] = row.id
        public = key_public(row, principal.email, now)
        return KeyCreatedPublic(**public.model_dump(), key=issued.key)

    async def list(
        self,
        principal: SessionPrincipal,
        org_id: uuid.UUID,
        *,
        owner: str | None = None,
        status: KeyStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> KeysPublic:
        wanted = parse_owner_filter(owner, principal.user_id)
        if can(principal, Action.MANAGE_ORG_API_KEYS, org_id=org_id):
            user_id = wanted
        else:  # only one's own keys (an outsider gets 404 here)
            authorize(principal, Action.MANAGE_OWN_API_KEYS, org_id=org_id, owner_id=principal.user_id)
            if wanted not in (None, principal.user_id):
                return KeysPublic(data=[], count=0)
            user_id = principal.user_id
        after = parse_key_cursor(cursor) if cursor else None
        now = self.ctx.clock()
        async with self.ctx.reading() as session:
            await OrgRepository(session).require(org_id)
            repo = ApiKeyRepository(session)
            rows = await repo.list_page(
                org_id, now=now, user_id=user_id, status=status, after=after, limit=limit + 1
            )
            count = await repo.count_matching(org_id, now=now, user_id=user_id, status=status)
        more, rows = len(rows) > limit, rows[:limit]
        last = rows[-1][0] if rows else None
        return KeysPublic(
            data=[key_public(key, email, now) for key, email in rows],
            count=count,
            next_cursor=key_cursor(last.created_at, last.id) if more and last is not None else None,
        )

    async def revoke(self, principal: SessionPrincipal, org_id: uuid.UUID, key_id: uuid.UUID) -> KeyPublic:
        now = self.ctx.clock()
        async with self.ctx.audited(
            principal.user_id, AuditAction.KEY_REVOKED, org_id=org_id, payload={"key_id": key_id}
        ) as w:
            repo = ApiKeyRepository(w.session)
            key = await repo.get(key_id)
            if key is None or key.org_id != org_id:
                raise _key_not_found()
            if not can_manage_key(principal, org_id=org_id, owner_id=key.user_id):
                raise _key_not_found()
            if key.revoked_at is not None:
                raise Conflict("the API key is already revoked", param="key_id", code="key_already_revoked")
            revoked = await repo.revoke(key_id)
            if revoked is None:  # revoked concurrently, between the read and the update
                raise Conflict("the API key is already revoked", param="key_id", code="key_already_revoked")
            w.payload.update(name=revoked.name, prefix=revoked.prefix, owner_id=revoked.user_id)
            owner = await UserRepository(w.session).require(revoked.user_id)
        if self.ctx.keys is not None:
            await best_effort(
                f"revoking key {key_id} in the gateway cache", self.ctx.keys.revoke(revoked.key_hash)
            )
        return key_public(revoked, owner.email, now)
