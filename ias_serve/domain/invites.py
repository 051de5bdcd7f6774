"""Invites: their life cycle and the link the invitee follows (pure logic, no I/O).

An invite is *pending* until it is accepted, revoked or expires, whichever comes first; only
a pending invite can be accepted (once). A pending or expired (never a used or revoked) one
can be re-sent: a new token and a new expiry replace the old ones, so an old link stops working.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import quote

from ias_serve.domain.tokens import is_expired


class InviteStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


def invite_status(
    *,
    expires_at: datetime,
    accepted_at: datetime | None = None,
    revoked_at: datetime | None = None,
    now: datetime | None = None,
) -> InviteStatus:
    """Accepted beats revoked beats expired (an accepted invite stays accepted after its expiry)."""
    if accepted_at is not None:
        return InviteStatus.ACCEPTED
    if revoked_at is not None:
        return InviteStatus.REVOKED
    if is_expired(expires_at, now=now):
        return InviteStatus.EXPIRED
    return InviteStatus.PENDING


def can_resend(status: InviteStatus) -> bool:
    """A new token may replace a pending or expired invite's; a used or revoked one is final."""
    return status in (InviteStatus.PENDING, InviteStatus.EXPIRED)


def invite_link(portal_url: str, token: str) -> str:
    """``{portal_url}/invite/{token}``: the portal's accept page (trailing slashes ignored)."""
    return f"{portal_url.rstrip('/')}/invite/{quote(token, safe='')}"


def invite_email(
    *, org_name: str, role: str, link: str, inviter: str | None, expires_at: datetime
) -> tuple[str, str]:
    """Subject and plain-text body of the invite e-mail."""
    who = inviter or "An administrator"
    role_text = "an Org Admin" if role == "org_admin" else "a member"
    subject = f"You are invited to join {org_name} on IAS"
    body = (
        f"{who} invited you to join the organisation {org_name!r} on IAS (Inference-as-a-Service) "
        f"as {role_text}.\n\n"
        f"Accept the invitation here:\n\n    {link}\n\n"
        f"The link works once and expires on {_utc(expires_at):%Y-%m-%d %H:%M} UTC.\n"
        "If you did not expect this e-mail, ignore it.\n"
    )
    return subject, body


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo is not None else dt
