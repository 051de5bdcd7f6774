"""Invite life cycle and e-mail text (ias_serve.domain.invites) and the advisory lock keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ias_serve.domain.invites import InviteStatus, can_resend, invite_email, invite_link, invite_status
from ias_serve.services.management._locks import lock_key

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=7)


def test_pending_until_the_expiry_instant() -> None:
    assert invite_status(expires_at=LATER, now=NOW) is InviteStatus.PENDING
    assert invite_status(expires_at=LATER, now=LATER - timedelta(microseconds=1)) is InviteStatus.PENDING
    assert invite_status(expires_at=LATER, now=LATER) is InviteStatus.EXPIRED
    assert invite_status(expires_at=LATER, now=LATER + timedelta(days=1)) is InviteStatus.EXPIRED


def test_naive_datetimes_are_utc() -> None:
    naive = LATER.replace(tzinfo=None)
    assert invite_status(expires_at=naive, now=NOW) is InviteStatus.PENDING
    assert invite_status(expires_at=naive, now=LATER) is InviteStatus.EXPIRED


def test_accepted_and_revoked_win_over_expiry() -> None:
    after = LATER + timedelta(days=1)
    assert invite_status(expires_at=LATER, accepted_at=NOW, now=after) is InviteStatus.ACCEPTED
    assert invite_status(expires_at=LATER, revoked_at=NOW, now=after) is InviteStatus.REVOKED
    assert invite_status(expires_at=LATER, accepted_at=NOW, revoked_at=NOW, now=NOW) is InviteStatus.ACCEPTED


@pytest.mark.parametrize(
    ("status", "ok"),
    [
        (InviteStatus.PENDING, True),
        (InviteStatus.EXPIRED, True),
        (InviteStatus.ACCEPTED, False),
        (InviteStatus.REVOKED, False),
    ],
)
def test_only_pending_or_expired_can_be_resent(status: InviteStatus, ok: bool) -> None:
    assert can_resend(status) is ok


def test_link_points_at_the_portal_accept_page() -> None:
    assert invite_link("http://127.0.0.1:8000", "iasi_abc-_1") == "http://127.0.0.1:8000/invite/iasi_abc-_1"
    assert invite_link("https://portal.example.com/", "iasi_x") == "https://portal.example.com/invite/iasi_x"
    assert (
        invite_link("https://p.example.com/base//", "a/b?c") == "https://p.example.com/base/invite/a%2Fb%3Fc"
    )


def test_email_text_names_org_role_link_and_expiry() -> None:
    cet = timezone(timedelta(hours=1))
    subject, body = invite_email(
        org_name="acme",
        role="org_admin",
        link="http://p/invite/iasi_t",
        inviter="Ada",
        expires_at=datetime(2026, 3, 8, 13, 30, tzinfo=cet),
    )
    assert "acme" in subject
    assert "Ada invited you" in body
    assert "an Org Admin" in body
    assert "http://p/invite/iasi_t" in body
    assert "2026-03-08 12:30 UTC" in body  # converted to UTC
    _, body = invite_email(org_name="acme", role="org_user", link="l", inviter=None, expires_at=NOW)
    assert body.startswith("An administrator invited you") and "as a member" in body


def test_lock_keys_are_stable_signed_64_bit_and_distinct() -> None:
    a = lock_key("org-members", "6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b")
    assert a == lock_key("org-members", "6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b")
    assert -(2**63) <= a < 2**63
    assert a != lock_key("invite", "6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b")
    assert lock_key("a", "bc") != lock_key("ab", "c")
