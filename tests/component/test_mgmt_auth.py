"""`/api/auth`: login, cookies + CSRF, rate limits, expiry, logout, me, password change — over
the ASGI app on real PostgreSQL and Valkey, checking the audit log after every write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from ias_serve.db.repositories import MembershipRepository, UserRepository
from ias_serve.domain.roles import OrgRole, Status
from ias_serve.domain.tokens import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.component.identity_helpers import Identity, assert_no_secrets, error, identity_api
from tests.component.mgmt_harness import PASSWORD

NEW_PASSWORD = "a brand new passphrase 2026"


@pytest.fixture
async def idt(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Identity]:
    async with identity_api(
        database_url, redis_url, tmp_path, login_max_per_account=4, login_max_per_address=6
    ) as ident:
        yield ident


async def _login(
    idt: Identity, email: str, password: str = PASSWORD, client: httpx.AsyncClient | None = None
) -> httpx.Response:
    return await (client or idt.client).post("/api/auth/login", json={"email": email, "password": password})


async def test_login_returns_a_session_sets_cookies_and_is_audited(idt: Identity) -> None:
    org = await idt.api.org("login-org")
    u = await idt.api.user(org_id=org, role=OrgRole.ORG_ADMIN)
    before = await idt.last_audit_id()

    r = await _login(idt, u.email.upper())  # e-mail case does not matter
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"].startswith("iass_")
    assert body["user"] == {"id": str(u.id), "email": u.email, "name": "Test User", "is_system_admin": False}
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=11) < expires - datetime.now(UTC) <= timedelta(hours=12)

    cookies = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
    session_cookie, csrf_cookie = cookies[SESSION_COOKIE], cookies[CSRF_COOKIE]
    assert "httponly" in session_cookie and "samesite=strict" in session_cookie and "path=/" in session_cookie
    assert "secure" not in session_cookie  # IAS_SESSION_COOKIE_SECURE defaults off (http://localhost)
    assert "httponly" not in csrf_cookie and "samesite=strict" in csrf_cookie
    assert idt.client.cookies[SESSION_COOKIE] == body["token"]

    row = await idt.one_audit(before, "login")
    assert row.user_id_performing_action == u.id and row.org_id is None
    assert row.payload["email"] == u.email and "session_id" in row.payload
    assert_no_secrets(row.payload, PASSWORD, body["token"])

    me = await idt.new_client().get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["memberships"][0]["org_name"] == "login-org"


async def test_secure_cookie_flag_follows_the_setting(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with identity_api(database_url, redis_url, tmp_path, session_cookie_secure=True) as idt:
        u = await idt.api.user()
        r = await _login(idt, u.email)
        assert r.status_code == 200
        assert all("secure" in c.lower() for c in r.headers.get_list("set-cookie"))


async def test_wrong_password_and_unknown_email_get_the_same_401(idt: Identity) -> None:
    u = await idt.api.user()
    before = await idt.last_audit_id()
    wrong = await _login(idt, u.email, "not the password at all")
    unknown = await _login(idt, "nobody-here@example.com")
    malformed = await _login(idt, "not an address")
    for r in (wrong, unknown, malformed):
        error(r, 401, "invalid_credentials")
    assert wrong.json() == unknown.json() == malformed.json()
    assert SESSION_COOKIE not in idt.client.cookies
    await idt.no_audit(before)


async def test_disabled_user_and_user_without_password_cannot_log_in(idt: Identity) -> None:
    u = await idt.api.user()
    async with idt.api.sm() as s, s.begin():
        await UserRepository(s).update(u.id, status=Status.DISABLED)
        nopw = await UserRepository(s).create("no-password@example.com")
    assert (await _login(idt, u.email)).json() == (await _login(idt, nopw.email)).json()
    error(await _login(idt, u.email), 401, "invalid_credentials")


async def test_login_body_is_validated(idt: Identity) -> None:
    error(await idt.client.post("/api/auth/login", json={"email": "a@b.co"}), 400, "invalid_request")
    r = await idt.client.post("/api/auth/login", json={"email": "a@b.co", "password": "x", "admin": True})
    body = error(r, 400, "invalid_request")
    assert body["details"][0]["type"] == "extra_forbidden"
    r = await idt.client.post(
        "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    error(r, 400)
    # a lone surrogate cannot be hashed: refused as input, not a 500
    surrogate = rb'{"email": "a@b.co", "password": "x\ud800"}'
    r = await idt.client.post(
        "/api/auth/login", content=surrogate, headers={"content-type": "application/json"}
    )
    error(r, 400, "invalid_request")
    r = await idt.client.post("/api/auth/login", json={"email": "a\u0000@b.co", "password": "x\u0000"})
    error(r, 401, "invalid_credentials")


async def test_rate_limit_per_account(idt: Identity) -> None:
    u = await idt.api.user()
    for _ in range(4):  # the limit: 4 attempts per window, from ever other addresses
        error(await _login(idt, u.email, "wrong password!!", client=idt.new_client()), 401)
    r = await _login(idt, u.email, client=idt.new_client())  # even the right password now
    body = error(r, 429, "rate_limited")
    assert body["details"]["scope"] == "account"
    assert 1 <= int(r.headers["Retry-After"]) <= 300
    # another account from the same address is not affected
    other = await idt.api.user()
    assert (await _login(idt, other.email)).status_code == 200


async def test_successful_login_clears_the_account_counter(idt: Identity) -> None:
    u = await idt.api.user()
    for _ in range(3):
        error(await _login(idt, u.email, "wrong password!!", client=idt.new_client()), 401)
    assert (await _login(idt, u.email, client=idt.new_client())).status_code == 200
    for _ in range(3):  # a fresh allowance after the success
        error(await _login(idt, u.email, "wrong password!!", client=idt.new_client()), 401)
    assert (await _login(idt, u.email, client=idt.new_client())).status_code == 200


async def test_rate_limit_per_client_address(idt: Identity) -> None:
    client = idt.new_client(address="203.0.113.99")
    for i in range(6):  # 6 per address, each on another account
        error(await _login(idt, f"spray-{i}@example.com", client=client), 401)
    r = await _login(idt, "spray-6@example.com", client=client)
    assert error(r, 429, "rate_limited")["details"]["scope"] == "address"
    assert int(r.headers["Retry-After"]) >= 1
    # the same account from another address still answers normally
    error(await _login(idt, "spray-6@example.com", client=idt.new_client()), 401, "invalid_credentials")


async def test_expired_session_is_401(idt: Identity) -> None:
    u = await idt.api.user()
    idt.api.ctx.clock = lambda: datetime.now(UTC) - timedelta(hours=13)  # issued 13 h ago, ttl 12 h
    r = await _login(idt, u.email)
    assert r.status_code == 200
    token = r.json()["token"]
    me = await idt.new_client().get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    error(me, 401, "invalid_session")


async def test_logout_revokes_the_session_and_clears_cookies(idt: Identity) -> None:
    u = await idt.api.user()
    token = (await _login(idt, u.email)).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    api = idt.new_client()
    assert (await api.get("/api/auth/me", headers=bearer)).status_code == 200
    before = await idt.last_audit_id()
    r = await api.post("/api/auth/logout", headers=bearer)
    assert r.status_code == 204
    cleared = [c.lower() for c in r.headers.get_list("set-cookie")]
    assert any(c.startswith(SESSION_COOKIE) and "max-age=0" in c for c in cleared)
    row = await idt.one_audit(before, "logout")
    assert row.user_id_performing_action == u.id
    assert_no_secrets(row.payload, token)
    error(await api.get("/api/auth/me", headers=bearer), 401, "invalid_session")
    error(await api.post("/api/auth/logout", headers=bearer), 401)
    await idt.one_audit(before, "logout")  # the refused second logout wrote nothing


async def test_cookie_session_writes_need_the_csrf_header(idt: Identity) -> None:
    u = await idt.api.user()
    browser = idt.new_client()
    assert (await _login(idt, u.email, client=browser)).status_code == 200
    assert (await browser.get("/api/auth/me")).status_code == 200  # reads: the cookie suffices

    before = await idt.last_audit_id()
    error(await browser.post("/api/auth/logout"), 403, "csrf_failed")
    error(await browser.post("/api/auth/logout", headers={CSRF_HEADER: "forged"}), 403, "csrf_failed")
    await idt.no_audit(before)
    assert (await browser.get("/api/auth/me")).status_code == 200  # still logged in

    r = await browser.post("/api/auth/logout", headers={CSRF_HEADER: browser.cookies[CSRF_COOKIE]})
    assert r.status_code == 204, r.text
    await idt.one_audit(before, "logout")


async def test_me_lists_memberships_with_org_names_and_roles(idt: Identity) -> None:
    a, b = await idt.api.org("me-org-a"), await idt.api.org("me-org-b")
    u = await idt.api.user(org_id=a, role=OrgRole.ORG_ADMIN)
    async with idt.api.sm() as s, s.begin():
        await MembershipRepository(s).add(u.id, b, OrgRole.ORG_USER)
    body = (await idt.client.get("/api/auth/me", headers=u.headers)).json()
    assert body["user"]["id"] == str(u.id) and body["is_system_admin"] is False
    assert sorted((m["org_name"], m["role"]) for m in body["memberships"]) == [
        ("me-org-a", "org_admin"),
        ("me-org-b", "org_user"),
    ]
    assert body["session_expires_at"] is not None
    root = await idt.api.user(system_admin=True)
    body = (await idt.client.get("/api/auth/me", headers=root.headers)).json()
    assert body["is_system_admin"] is True and body["user"]["is_system_admin"] is True
    assert body["memberships"] == []
    error(await idt.client.get("/api/auth/me"), 401, "unauthenticated")


async def test_password_change_revokes_other_sessions_and_is_audited(idt: Identity) -> None:
    u = await idt.api.user()  # the harness gave it one session already
    first = (await _login(idt, u.email, client=idt.new_client())).json()["token"]
    second = (await _login(idt, u.email, client=idt.new_client())).json()["token"]
    h1, h2 = {"Authorization": f"Bearer {first}"}, {"Authorization": f"Bearer {second}"}

    before = await idt.last_audit_id()
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    r = await idt.client.post("/api/auth/password", json=body, headers=h1)
    assert r.status_code == 200, r.text
    assert r.json() == {"sessions_revoked": 2}
    row = await idt.one_audit(before, "password_changed")
    assert row.user_id_performing_action == u.id and row.payload == {"sessions_revoked": 2}
    assert_no_secrets(row.payload, PASSWORD, NEW_PASSWORD)

    assert (await idt.client.get("/api/auth/me", headers=h1)).status_code == 200  # this one stays
    error(await idt.client.get("/api/auth/me", headers=h2), 401)
    error(await idt.client.get("/api/auth/me", headers=u.headers), 401)
    error(await _login(idt, u.email, PASSWORD, client=idt.new_client()), 401)
    assert (await _login(idt, u.email, NEW_PASSWORD, client=idt.new_client())).status_code == 200


async def test_password_change_refusals_write_nothing(idt: Identity) -> None:
    u = await idt.api.user(email="margaret.hamilton@example.com")
    before = await idt.last_audit_id()
    post = idt.client.post
    r = await post(
        "/api/auth/password",
        json={"current_password": "wrong current pw", "new_password": NEW_PASSWORD},
        headers=u.headers,
    )
    error(r, 400, "wrong_password")
    for weak in ["short", "margaret.hamilton-apollo-11"]:
        r = await post(
            "/api/auth/password", json={"current_password": PASSWORD, "new_password": weak}, headers=u.headers
        )
        assert error(r, 422, "validation_error")
    r = await post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "x": 1},
        headers=u.headers,
    )
    error(r, 400, "invalid_request")
    await idt.no_audit(before)
    assert (await idt.client.get("/api/auth/me", headers=u.headers)).status_code == 200
