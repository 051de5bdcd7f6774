"""Invites by e-mail: invite, look up (public), accept, list, revoke, re-send; the outbox.

Rules
* Only :data:`Action.MANAGE_ORG_USERS` may invite, list, revoke or re-send (System Admin: any
  org; Org Admin: own; an Org User gets 403, an outsider 404).
* Inviting an active member's address → 409; inviting an address with a pending invite to
  the org replaces it (the old link dies). Token ``iasi_…`` (256 bits), stored hashed, expires
  after ``IAS_INVITE_TTL_S``.
* The e-mail is sent *after* the commit. A failure leaves the invite in place; the answer
  then says ``email: "failed"`` and carries the link, as it does when the mail went to the
  outbox (no SMTP configured), so the inviting admin can pass it on.
* ``GET /api/invite/{token}``: an unknown token → 404 ``invite_not_found``; a known one that is
  used, revoked or expired → 410 ``invite_used`` / ``invite_revoked`` / ``invite_expired``.
* Accepting: a new address creates the account (name + a password meeting the policy); an
  address that already has an account must give *that account's current password* (rate
  limited like a login) and only gains the membership — an invite link can never set the
  password of an existing account (the inviting admin may hold the link). Single use: the
  accept runs under a lock on the invite and marks it accepted in the same transaction that
  adds the membership and opens the session.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime

from ias_serve.db.models import Invite, User
from ias_serve.db.repositories import (
    MAX_PAGE,
    InviteRepository,
    MembershipRepository,
    OrgRepository,
    UserRepository,
)
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.invites import InviteStatus, can_resend, invite_email, invite_link, invite_status
from ias_serve.domain.passwords import validate_new_password
from ias_serve.domain.policy import Action, authorize
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.roles import Status
from ias_serve.domain.tokens import TokenKind, hash_token, issue_token, looks_like
from ias_serve.domain.validation import clean_name
from ias_serve.errors import Conflict, IASError, NotFound, PermissionDenied, Unauthenticated
from ias_serve.protocol.management.auth import SessionPublic
from ias_serve.protocol.management.invites import (
    EmailDelivery,
    InviteCreate,
    InviteInfo,
    InvitePublic,
    InviteSent,
    InvitesPublic,
    OutboxMessagePublic,
    OutboxPublic,
)
from ias_serve.services.management._locks import advisory_lock
from ias_serve.services.management.auth import hash_new, make_limiter, open_session, user_public, verify
from ias_serve.services.management.context import ManagementContext
from ias_serve.services.management.mail import OutboxMailer, read_outbox

log = logging.getLogger(__name__)


class InviteGone(IASError):
    """410: the invite exists but can no longer be accepted (used, revoked or expired)."""

    status = 410
    code = "invite_gone"
    openai_type = "invalid_request_error"


_GONE = {
    InviteStatus.ACCEPTED: ("invite_used", "this invite has already been used"),
    InviteStatus.REVOKED: ("invite_revoked", "this invite has been revoked"),
    InviteStatus.EXPIRED: ("invite_expired", "this invite has expired"),
}


def _not_found() -> NotFound:
    return NotFound("invite not found", param="token", code="invite_not_found")


def _gone(status: InviteStatus) -> InviteGone:
    code, message = _GONE[status]
    return InviteGone(message, param="token", code=code)


def invite_public(invite: Invite, now: datetime) -> InvitePublic:
    return InvitePublic(
        id=invite.id,
        org_id=invite.org_id,
        email=invite.email,
        role=invite.role,
        status=_status(invite, now),
        invited_by=invite.invited_by,
        created_at=invite.created_at,
        expires_at=invite.expires_at,
    )


def _status(invite: Invite, now: datetime) -> InviteStatus:
    return invite_status(
        expires_at=invite.expires_at, accepted_at=invite.accepted_at, revoked_at=invite.revoked_at, now=now
    )


class InviteService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx

    # --- the org's side ---------------------------------------------------------------------

    async def invite(self, principal: SessionPrincipal, org_id: uuid.UUID, body: InviteCreate) -> InviteSent:
        authorize(principal, Action.MANAGE_ORG_USERS, org_id=org_id)
        now = self.ctx.clock()
        issued = issue_token(TokenKind.INVITE, self.ctx.settings.invite_ttl_s, now=now)
        payload = {"email": body.email, "role": body.role}
        async with self.ctx.audited(
            principal.user_id, AuditAction.USER_INVITED, org_id=org_id, payload=payload
        ) as w:
            org = await OrgRepository(w.session).require(org_id)
            await advisory_lock(w.session, "invite", org_id, body.email)
            user = await UserRepository(w.session).get_by_email(body.email)
            if user is not None and await MembershipRepository(w.session).get(user.id, org_id) is not None:
                raise Conflict("this address is already a member of the organisation", param="email")
            invites = InviteRepository(w.session)
            replaced = await invites.revoke_pending_for_email(org_id, body.email, now=now)
            invite = await invites.create(
                org_id=org_id,
                email=body.email,
                role=body.role,
                token_hash=issued.token_hash,
                expires_at=issued.expires_at,
                invited_by=principal.user_id,
            )
            w.payload.update(invite_id=invite.id, replaced=replaced)
            public = invite_public(invite, now)
        return await self._deliver(principal, public, org.name, issued.token, replaced=replaced)

    async def list_pending(self, principal: SessionPrincipal, org_id: uuid.UUID) -> InvitesPublic:
        authorize(principal, Action.MANAGE_ORG_USERS, org_id=org_id)
        now = self.ctx.clock()
        async with self.ctx.reading() as db:
            await OrgRepository(db).require(org_id)
            rows = await InviteRepository(db).list_for_org(org_id, pending_only=True, now=now, limit=MAX_PAGE)
        data = [invite_public(i, now) for i in rows]
        return InvitesPublic(data=data, count=len(data))

    async def revoke(self, principal: SessionPrincipal, org_id: uuid.UUID, invite_id: uuid.UUID) -> None:
        authorize(principal, Action.MANAGE_ORG_USERS, org_id=org_id)
        payload = {"invite_id": invite_id}
        async with self.ctx.audited(
            principal.user_id, AuditAction.INVITE_REVOKED, org_id=org_id, payload=payload
        ) as w:
            invites = InviteRepository(w.session)
            invite = await self._require(invites, org_id, invite_id)
            if await invites.revoke(invite.id, now=self.ctx.clock()) is None:
                raise Conflict(
                    "the invite was already used or revoked", param="invite_id", code="invite_not_pending"
                )
            w.payload.update(email=invite.email, role=invite.role)

    async def resend(
        self, principal: SessionPrincipal, org_id: uuid.UUID, invite_id: uuid.UUID
    ) -> InviteSent:
        """New token and expiry (the old link dies), and the e-mail again."""
        authorize(principal, Action.MANAGE_ORG_USERS, org_id=org_id)
        now = self.ctx.clock()
        issued = issue_token(TokenKind.INVITE, self.ctx.settings.invite_ttl_s, now=now)
        payload = {"invite_id": invite_id}
        async with self.ctx.audited(
            principal.user_id, AuditAction.INVITE_RESENT, org_id=org_id, payload=payload
        ) as w:
            invites = InviteRepository(w.session)
            invite = await self._require(invites, org_id, invite_id)
            if not can_resend(_status(invite, now)):
                raise Conflict(
                    "the invite was already used or revoked", param="invite_id", code="invite_not_pending"
                )
            updated = await invites.reissue(
                invite.id, token_hash=issued.token_hash, expires_at=issued.expires_at
            )
            if updated is None:  # pragma: no cover - changed between the read and the update
                raise Conflict(
                    "the invite was already used or revoked", param="invite_id", code="invite_not_pending"
                )
            org = await OrgRepository(w.session).require(org_id)
            w.payload.update(email=updated.email, role=updated.role, expires_at=updated.expires_at)
            public = invite_public(updated, now)
        return await self._deliver(principal, public, org.name, issued.token)

    @staticmethod
    async def _require(invites: InviteRepository, org_id: uuid.UUID, invite_id: uuid.UUID) -> Invite:
        invite = await invites.get(invite_id)
        if invite is None or invite.org_id != org_id:
            raise NotFound("invite not found", param="invite_id")
        return invite

    async def _deliver(
        self,
        principal: SessionPrincipal,
        invite: InvitePublic,
        org_name: str,
        token: str,
        *,
        replaced: int = 0,
    ) -> InviteSent:
        link = invite_link(self.ctx.settings.portal_url, token)
        subject, body = invite_email(
            org_name=org_name,
            role=invite.role,
            link=link,
            inviter=principal.name or principal.email,
            expires_at=invite.expires_at,
        )
        delivery: EmailDelivery
        try:
            sent = await self.ctx.mailer.send(to=invite.email, subject=subject, body=body)
            delivery = "smtp" if sent == "smtp" else "outbox"
        except Exception as exc:  # any mailer failure: the invite stays, the admin gets the link
            log.warning("invite e-mail not sent: %s", type(exc).__name__, extra={"invite_id": str(invite.id)})
            delivery = "failed"
        return InviteSent(
            invite=invite, email=delivery, link=None if delivery == "smtp" else link, replaced=replaced
        )

    # --- the invitee's side (public: the token is the credential) ---------------------------

    async def _pending(self, token: str) -> Invite:
        """The pending invite of ``token``; 404 unknown, 410 used/revoked/expired."""
        if not looks_like(TokenKind.INVITE, token.strip()):
            raise _not_found()
        async with self.ctx.reading() as db:
            invite = await InviteRepository(db).get_by_token_hash(hash_token(token))
        if invite is None:
            raise _not_found()
        status = _status(invite, self.ctx.clock())
        if status is not InviteStatus.PENDING:
            raise _gone(status)
        return invite

    async def info(self, token: str) -> InviteInfo:
        invite = await self._pending(token)
        async with self.ctx.reading() as db:
            org = await OrgRepository(db).require(invite.org_id)
            users = UserRepository(db)
            inviter = await users.get(invite.invited_by) if invite.invited_by is not None else None
            existing = await users.get_by_email(invite.email)
        return InviteInfo(
            org_id=org.id,
            org_name=org.name,
            email=invite.email,
            role=invite.role,
            invited_by_name=inviter.name if inviter is not None else None,
            invited_by_email=inviter.email if inviter is not None else None,
            expires_at=invite.expires_at,
            existing_account=existing is not None and existing.password_hash is not None,
        )

    async def accept(self, token: str, *, name: str | None, password: str, address: str) -> SessionPublic:
        invite = await self._pending(token)
        async with self.ctx.reading() as db:
            existing = await UserRepository(db).get_by_email(invite.email)
        new_hash: str | None = None
        limiter = make_limiter(self.ctx)
        if existing is not None and existing.password_hash is not None:
            # an account of its own: prove it with its password, never change it here
            await limiter.hit(email=invite.email, address=address)
            if not await verify(existing.password_hash, password):
                raise Unauthenticated(
                    "wrong password for the existing account of this address", code="invalid_credentials"
                )
            if existing.status != Status.ACTIVE:
                raise PermissionDenied("this account is disabled", code="account_disabled")
            clean = None
        else:
            if existing is not None and existing.status != Status.ACTIVE:
                raise PermissionDenied("this account is disabled", code="account_disabled")
            clean = clean_name(name or "", param="name")
            new_hash = await hash_new(validate_new_password(password, email=invite.email))
        actor = existing.id if existing is not None else uuid.uuid4()
        now = self.ctx.clock()
        payload = {
            "invite_id": invite.id,
            "email": invite.email,
            "role": invite.role,
            "new_account": existing is None,
        }
        async with self.ctx.audited(
            actor, AuditAction.INVITE_ACCEPTED, org_id=invite.org_id, payload=payload
        ) as w:
            await advisory_lock(w.session, "invite-accept", invite.id)
            invites = InviteRepository(w.session)
            if await invites.get_pending_by_token_hash(invite.token_hash, now=now) is None:
                current = await invites.get(invite.id)
                raise _gone(_status(current, now) if current is not None else InviteStatus.REVOKED)
            users = UserRepository(w.session)
            user: User
            if existing is None:
                user = await users.create_with_id(
                    actor, invite.email, name=clean or "", password_hash=new_hash
                )
            elif new_hash is not None:  # an account created without a password (never logged in)
                user = await users.update(actor, name=clean or existing.name, password_hash=new_hash)
            else:
                user = existing
            if await invites.accept(invite.id, user_id=actor, now=now) is None:  # pragma: no cover - locked
                raise _gone(InviteStatus.ACCEPTED)
            if await MembershipRepository(w.session).get(actor, invite.org_id) is not None:
                raise Conflict("already a member of this organisation", param="email")
            await MembershipRepository(w.session).add(actor, invite.org_id, invite.role)
            issued, session_id = await open_session(w.session, self.ctx, actor)
            w.payload.update(user_id=actor, session_id=session_id, name=user.name)
            public_user = user_public(user)
        await limiter.clear_account(invite.email)
        return SessionPublic(token=issued.token, expires_at=issued.expires_at, user=public_user)

    # --- the outbox (System Admins) ---------------------------------------------------------

    async def outbox(
        self, principal: SessionPrincipal, *, to: str | None = None, limit: int = 100
    ) -> OutboxPublic:
        """Mails written to ``IAS_HOME/outbox`` (newest first); empty with ``mailer: smtp``."""
        authorize(principal, Action.MANAGE_ORGS)
        mailer = self.ctx.mailer
        if not isinstance(mailer, OutboxMailer):
            return OutboxPublic(mailer="smtp", data=[], count=0)
        messages = await asyncio.to_thread(read_outbox, mailer.directory, to=to, limit=limit)
        data = [
            OutboxMessagePublic(
                id=m.id, to=m.to, sender=m.sender, subject=m.subject, date=m.date, body=m.body
            )
            for m in messages
        ]
        return OutboxPublic(mailer="outbox", data=data, count=len(data))
