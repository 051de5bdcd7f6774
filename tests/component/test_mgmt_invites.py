"""Invites: e-mail over a real SMTP server (aiosmtpd, in-process) or the outbox, the public
look-up and accept, single use, revoke, re-send, expiry, who may invite — with the audit log
checked after every write (and no row after a refused one)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from ias_serve.db.repositories import MembershipRepository, UserRepository
from ias_serve.domain.roles import OrgRole, Status
from ias_serve.domain.tokens import SESSION_COOKIE
from ias_serve.services.management.mail import SmtpMailer
from tests.component.identity_helpers import Identity, assert_no_secrets, error, identity_api
from tests.component.mgmt_harness import PASSWORD, User
from tests.support.smtp import Collect, smtp_server

NEW_PW = "grace's own passphrase 1906"
LINK_RE = re.compile(r"(http://portal\.test/invite/(iasi_[A-Za-z0-9_-]+))")


@pytest.fixture
def smtp() -> Iterator[tuple[Collect, int]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
async def idt(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Identity]:
    async with identity_api(
        database_url, redis_url, tmp_path, portal_url="http://portal.test/", login_max_per_account=3
    ) as ident:
        yield ident


async def _org_with_admin(idt: Identity, name: str | None = None) -> tuple[Any, User]:
    org = await idt.api.org(name)
    return org, await idt.api.user(org_id=org, role=OrgRole.ORG_ADMIN)


async def _invite(idt: Identity, org: Any, admin: User, email: str, role: str = "org_user") -> dict[str, Any]:
    r = await idt.client.post(
        f"/api/org/{org}/user", json={"email": email, "role": role}, headers=admin.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


async def test_invite_by_real_smtp_then_accept_and_log_in(idt: Identity, smtp: tuple[Collect, int]) -> None:
    handler, port = smtp
    settings = idt.api.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "smtp_from": "ias@ias.test",
        }
    )
    idt.api.ctx.mailer = SmtpMailer(settings)
    org, admin = await _org_with_admin(idt, "smtp-org")

    before = await idt.last_audit_id()
    sent = await _invite(idt, org, admin, "Grace.Hopper@Example.com", "org_admin")
    assert sent["email"] == "smtp" and sent["link"] is None  # delivered: the link only went by mail
    invite = sent["invite"]
    assert invite["email"] == "grace.hopper@example.com" and invite["role"] == "org_admin"
    assert invite["status"] == "pending" and invite["invited_by"] == str(admin.id)
    row = await idt.one_audit(before, "user_invited")
    assert row.org_id == org and row.user_id_performing_action == admin.id
    assert row.payload["email"] == "grace.hopper@example.com" and row.payload["role"] == "org_admin"
    assert row.payload["invite_id"] == invite["id"]

    assert len(handler.messages) == 1
    envelope = handler.messages[0]
    assert envelope.rcpt_tos == ["grace.hopper@example.com"] and envelope.mail_from == "ias@ias.test"
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert "smtp-org" in mail["Subject"]
    found = LINK_RE.search(mail.get_body(preferencelist=("plain",)).get_content())
    assert found is not None
    link, token = found.groups()
    assert link.endswith(token)
    assert_no_secrets(row.payload, token)

    info = await idt.client.get(f"/api/invite/{token}")
    assert info.status_code == 200, info.text
    assert info.json() | {"expires_at": None} == {
        "org_id": str(org),
        "org_name": "smtp-org",
        "email": "grace.hopper@example.com",
        "role": "org_admin",
        "invited_by_name": "Test User",
        "invited_by_email": admin.email,
        "expires_at": None,
        "existing_account": False,
    }

    before = await idt.last_audit_id()
    browser = idt.new_client()
    r = await browser.post(f"/api/invite/{token}/accept", json={"name": "Grace Hopper", "password": NEW_PW})
    assert r.status_code == 200, r.text
    session = r.json()
    assert (
        session["user"]["email"] == "grace.hopper@example.com" and session["user"]["name"] == "Grace Hopper"
    )
    assert browser.cookies[SESSION_COOKIE] == session["token"]
    row = await idt.one_audit(before, "invite_accepted")
    assert row.org_id == org and str(row.user_id_performing_action) == session["user"]["id"]
    assert row.payload["new_account"] is True and row.payload["invite_id"] == invite["id"]
    assert_no_secrets(row.payload, NEW_PW, token, session["token"])

    me = await idt.new_client().get("/api/auth/me", headers={"Authorization": f"Bearer {session['token']}"})
    assert me.status_code == 200
    assert [(m["org_name"], m["role"]) for m in me.json()["memberships"]] == [("smtp-org", "org_admin")]
    members = (await idt.client.get(f"/api/org/{org}/user", headers=admin.headers)).json()
    assert ("grace.hopper@example.com", "org_admin") in {(m["email"], m["role"]) for m in members["data"]}
    # and the password works for a normal login
    r = await idt.new_client().post(
        "/api/auth/login", json={"email": "grace.hopper@example.com", "password": NEW_PW}
    )
    assert r.status_code == 200


async def test_outbox_mode_returns_the_link_and_the_outbox_lists_it(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt, "outbox-org")
    sent = await _invite(idt, org, admin, "ada@example.com")
    assert sent["email"] == "outbox"
    link = sent["link"]
    assert link.startswith("http://portal.test/invite/iasi_")  # the trailing / of portal_url is dropped
    files = list((idt.api.outbox).glob("*.eml"))
    assert len(files) == 1 and link in files[0].read_text()

    root = await idt.api.user(system_admin=True)
    r = await idt.client.get("/api/outbox", params={"to": "ada@example.com"}, headers=root.headers)
    assert r.status_code == 200, r.text
    box = r.json()
    assert box["mailer"] == "outbox" and box["count"] == 1
    assert box["data"][0]["to"] == "ada@example.com" and link in box["data"][0]["body"]
    error(await idt.client.get("/api/outbox", headers=admin.headers), 403, "permission_denied")


async def test_mail_failure_keeps_the_invite_and_returns_the_link(idt: Identity) -> None:
    class Broken:
        async def send(self, *, to: str, subject: str, body: str) -> str:
            raise ConnectionRefusedError("smtp down")

    idt.api.ctx.mailer = Broken()
    org, admin = await _org_with_admin(idt)
    before = await idt.last_audit_id()
    sent = await _invite(idt, org, admin, "lost@example.com")
    assert sent["email"] == "failed" and sent["link"]
    await idt.one_audit(before, "user_invited")
    assert (await idt.client.get(f"/api/invite/{_token(sent['link'])}")).status_code == 200
    pending = (await idt.client.get(f"/api/org/{org}/invite", headers=admin.headers)).json()
    assert [i["email"] for i in pending["data"]] == ["lost@example.com"]


async def test_who_may_invite(idt: Identity) -> None:
    org, _ = await _org_with_admin(idt)
    other, other_admin = await _org_with_admin(idt)
    member = await idt.api.user(org_id=org, role=OrgRole.ORG_USER)
    root = await idt.api.user(system_admin=True)
    body = {"email": "new@example.com", "role": "org_user"}
    before = await idt.last_audit_id()
    error(await idt.client.post(f"/api/org/{org}/user", json=body, headers=member.headers), 403)
    error(await idt.client.post(f"/api/org/{org}/user", json=body, headers=other_admin.headers), 404)
    unknown = "00000000-0000-4000-8000-000000000000"
    error(await idt.client.post(f"/api/org/{unknown}/user", json=body, headers=root.headers), 404)
    error(await idt.client.post(f"/api/org/{org}/user", json=body), 401)
    error(await idt.client.get(f"/api/org/{org}/invite", headers=member.headers), 403)
    error(await idt.client.get(f"/api/org/{org}/invite", headers=other_admin.headers), 404)
    await idt.no_audit(before)

    sent = await _invite(idt, org, root, "new@example.com", "org_admin")  # a System Admin: any org
    assert sent["invite"]["invited_by"] == str(root.id)
    await idt.one_audit(before, "user_invited")
    assert other != org


async def test_invite_input_errors_and_existing_member(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt)
    post = idt.client.post
    before = await idt.last_audit_id()
    for body in [
        {"email": "not-an-address", "role": "org_user"},
        {"email": "", "role": "org_user"},
        {"email": "a@b.co", "role": "system_admin"},
        {"email": "a@b.co", "role": "org_user", "org_id": str(org)},
        {"role": "org_user"},
    ]:
        r = await post(f"/api/org/{org}/user", json=body, headers=admin.headers)
        assert error(r, 400, "invalid_request")["details"], body
    error(await post("/api/org/not-a-uuid/user", json={"email": "a@b.co"}, headers=admin.headers), 400)
    r = await post(f"/api/org/{org}/user", json={"email": admin.email.upper()}, headers=admin.headers)
    error(r, 409, "conflict")
    await idt.no_audit(before)


async def test_reinvite_replaces_the_pending_invite(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt)
    first = await _invite(idt, org, admin, "twice@example.com")
    before = await idt.last_audit_id()
    second = await _invite(idt, org, admin, "TWICE@example.com", "org_admin")
    assert second["replaced"] == 1
    assert (await idt.one_audit(before, "user_invited")).payload["replaced"] == 1
    error(await idt.client.get(f"/api/invite/{_token(first['link'])}"), 410, "invite_revoked")
    assert (await idt.client.get(f"/api/invite/{_token(second['link'])}")).json()["role"] == "org_admin"
    pending = (await idt.client.get(f"/api/org/{org}/invite", headers=admin.headers)).json()
    assert pending["count"] == 1 and pending["data"][0]["id"] == second["invite"]["id"]


async def test_invites_are_single_use(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt)
    token = _token((await _invite(idt, org, admin, "once@example.com"))["link"])
    body = {"name": "Once", "password": NEW_PW}
    assert (await idt.client.post(f"/api/invite/{token}/accept", json=body)).status_code == 200
    before = await idt.last_audit_id()
    error(await idt.client.post(f"/api/invite/{token}/accept", json=body), 410, "invite_used")
    error(await idt.client.get(f"/api/invite/{token}"), 410, "invite_used")
    await idt.no_audit(before)
    # accepting made them a member: inviting them again is a conflict
    r = await idt.client.post(
        f"/api/org/{org}/user", json={"email": "once@example.com"}, headers=admin.headers
    )
    error(r, 409)


async def test_revoke(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt)
    other, other_admin = await _org_with_admin(idt)
    sent = await _invite(idt, org, admin, "revoked@example.com")
    invite_id, token = sent["invite"]["id"], _token(sent["link"])
    member = await idt.api.user(org_id=org)

    before = await idt.last_audit_id()
    error(await idt.client.delete(f"/api/org/{org}/invite/{invite_id}", headers=member.headers), 403)
    error(await idt.client.delete(f"/api/org/{org}/invite/{invite_id}", headers=other_admin.headers), 404)
    error(await idt.client.delete(f"/api/org/{other}/invite/{invite_id}", headers=other_admin.headers), 404)
    await idt.no_audit(before)

    r = await idt.client.delete(f"/api/org/{org}/invite/{invite_id}", headers=admin.headers)
    assert r.status_code == 204, r.text
    row = await idt.one_audit(before, "invite_revoked")
    assert row.org_id == org and row.payload["invite_id"] == invite_id
    assert row.payload["email"] == "revoked@example.com"
    error(await idt.client.get(f"/api/invite/{token}"), 410, "invite_revoked")
    error(await idt.client.post(f"/api/invite/{token}/accept", json={"name": "X", "password": NEW_PW}), 410)

    before = await idt.last_audit_id()
    r = await idt.client.delete(f"/api/org/{org}/invite/{invite_id}", headers=admin.headers)
    error(r, 409, "invite_not_pending")
    r = await idt.client.post(f"/api/org/{org}/invite/{invite_id}/resend", headers=admin.headers)
    error(r, 409, "invite_not_pending")
    await idt.no_audit(before)


async def test_resend_gives_a_new_token_and_kills_the_old(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt)
    sent = await _invite(idt, org, admin, "resend@example.com")
    old = _token(sent["link"])
    before = await idt.last_audit_id()
    r = await idt.client.post(f"/api/org/{org}/invite/{sent['invite']['id']}/resend", headers=admin.headers)
    assert r.status_code == 200, r.text
    again = r.json()
    new = _token(again["link"])
    assert new != old and again["invite"]["id"] == sent["invite"]["id"] and again["email"] == "outbox"
    row = await idt.one_audit(before, "invite_resent")
    assert_no_secrets(row.payload, old, new)
    error(await idt.client.get(f"/api/invite/{old}"), 404, "invite_not_found")
    assert (await idt.client.get(f"/api/invite/{new}")).status_code == 200
    assert len(list(idt.api.outbox.glob("*.eml"))) == 2  # the e-mail went again


async def test_expired_invites_are_gone_until_resent(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt)
    sent = await _invite(idt, org, admin, "late@example.com")
    token, invite_id = _token(sent["link"]), sent["invite"]["id"]
    expires = datetime.fromisoformat(sent["invite"]["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)

    idt.api.ctx.clock = lambda: datetime.now(UTC) + timedelta(days=7, minutes=1)
    error(await idt.client.get(f"/api/invite/{token}"), 410, "invite_expired")
    before = await idt.last_audit_id()
    r = await idt.client.post(f"/api/invite/{token}/accept", json={"name": "Late", "password": NEW_PW})
    error(r, 410, "invite_expired")
    await idt.no_audit(before)
    assert (await idt.client.get(f"/api/org/{org}/invite", headers=admin.headers)).json()["count"] == 0

    r = await idt.client.post(f"/api/org/{org}/invite/{invite_id}/resend", headers=admin.headers)
    assert r.status_code == 200, r.text
    fresh = _token(r.json()["link"])
    r = await idt.client.post(f"/api/invite/{fresh}/accept", json={"name": "Late", "password": NEW_PW})
    assert r.status_code == 200, r.text


async def test_existing_account_accepts_with_its_own_password(idt: Identity) -> None:
    org_a, _ = await _org_with_admin(idt, "home-org")
    org_b, admin_b = await _org_with_admin(idt, "second-org")
    person = await idt.api.user(org_id=org_a, role=OrgRole.ORG_USER)
    token = _token((await _invite(idt, org_b, admin_b, person.email, "org_admin"))["link"])
    assert (await idt.client.get(f"/api/invite/{token}")).json()["existing_account"] is True

    before = await idt.last_audit_id()
    attempt = {"name": "Mallory", "password": "a takeover password!"}
    error(await idt.client.post(f"/api/invite/{token}/accept", json=attempt), 401, "invalid_credentials")
    await idt.no_audit(before)

    r = await idt.client.post(f"/api/invite/{token}/accept", json={"name": "ignored", "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["user"] == {
        "id": str(person.id),
        "email": person.email,
        "name": "Test User",
        "is_system_admin": False,
    }
    row = await idt.one_audit(before, "invite_accepted")
    assert row.user_id_performing_action == person.id and row.payload["new_account"] is False
    roles = {
        m["org_name"]: m["role"]
        for m in (await idt.client.get("/api/auth/me", headers=person.headers)).json()["memberships"]
    }
    assert roles == {"home-org": "org_user", "second-org": "org_admin"}
    assert (
        await idt.client.post("/api/auth/login", json={"email": person.email, "password": PASSWORD})
    ).status_code == 200


async def test_guessing_an_existing_accounts_password_is_rate_limited(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt)
    person = await idt.api.user()
    token = _token((await _invite(idt, org, admin, person.email))["link"])
    for _ in range(3):
        error(
            await idt.client.post(f"/api/invite/{token}/accept", json={"password": "guess guess guess"}), 401
        )
    r = await idt.client.post(f"/api/invite/{token}/accept", json={"password": PASSWORD})
    error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1


async def test_accept_refusals_write_nothing(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt)
    token = _token((await _invite(idt, org, admin, "katherine.johnson@example.com"))["link"])
    before = await idt.last_audit_id()
    accept = f"/api/invite/{token}/accept"
    error(await idt.client.post(accept, json={"name": "K", "password": "too short"}), 422, "validation_error")
    r = await idt.client.post(accept, json={"name": "K", "password": "katherine.johnson-nasa"})
    error(r, 422, "validation_error")
    error(await idt.client.post(accept, json={"password": NEW_PW}), 422, "validation_error")  # no name
    error(await idt.client.post(accept, json={"name": " ", "password": NEW_PW}), 422)
    error(await idt.client.post(accept, json={"name": "K", "password": NEW_PW, "role": "org_admin"}), 400)
    error(await idt.client.post(accept, json={"name": "K"}), 400, "invalid_request")
    error(await idt.client.get("/api/invite/iasi_unknown-token"), 404, "invite_not_found")
    error(await idt.client.get("/api/invite/not-a-token"), 404, "invite_not_found")
    error(await idt.client.post("/api/invite/iasi_nope/accept", json={"name": "K", "password": NEW_PW}), 404)
    await idt.no_audit(before)
    async with idt.api.sm() as s:
        assert await UserRepository(s).get_by_email("katherine.johnson@example.com") is None
    assert (await idt.client.get(f"/api/invite/{token}")).status_code == 200  # still pending


async def test_disabled_account_cannot_accept(idt: Identity) -> None:
    org, admin = await _org_with_admin(idt)
    person = await idt.api.user()
    token = _token((await _invite(idt, org, admin, person.email))["link"])
    async with idt.api.sm() as s, s.begin():
        await UserRepository(s).update(person.id, status=Status.DISABLED)
    r = await idt.client.post(f"/api/invite/{token}/accept", json={"password": PASSWORD})
    error(r, 403, "account_disabled")
    async with idt.api.sm() as s:
        assert await MembershipRepository(s).get(person.id, org) is None
