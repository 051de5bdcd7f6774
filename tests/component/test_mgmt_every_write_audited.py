"""Every write endpoint of the management API leaves exactly one audit row (issue 6, item 3).

The table below must name every POST/PUT/PATCH/DELETE route the app has: a new write route
without an entry fails `test_the_table_covers_every_write_route`. For each, a successful call
adds exactly one `audit_log` row with the right action, actor and org, in which no secret of
the request or the answer (password, session/invite token, API key) appears.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from ias_serve.api.apps import create_management_app
from ias_serve.domain.roles import OrgRole
from tests.component.mgmt_harness import PASSWORD, Api, User, management_api
from tests.component.mgmt_resources_support import audit_rows, last_audit_id

NEW_PASSWORD = "an entirely new passphrase 7"


@dataclass
class Call:
    """A prepared write: ``send()`` performs it; the row it must leave is described here."""

    send: Callable[[], Awaitable[httpx.Response]]
    action: str
    actor: uuid.UUID | None  # None: the row's actor is only known from the answer (accept)
    org: uuid.UUID | None
    secrets: list[str] = field(default_factory=list)


@dataclass
class Ctx:
    api: Api
    org: uuid.UUID
    admin: User
    root: User

    async def post(self, path: str, body: dict, who: User) -> httpx.Response:
        return await self.api.client.post(path, json=body, headers=who.headers)


async def _invite(c: Ctx, email: str | None = None) -> dict:
    r = await c.post(
        f"/api/org/{c.org}/user", {"email": email or f"{uuid.uuid4().hex[:8]}@example.org"}, c.admin
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _member(c: Ctx, role: OrgRole = OrgRole.ORG_USER) -> User:
    return await c.api.user(org_id=c.org, role=role, password=False)


async def _key(c: Ctx, who: User) -> dict:
    r = await c.post(f"/api/org/{c.org}/key", {"name": f"k-{uuid.uuid4().hex[:6]}"}, who)
    assert r.status_code == 201, r.text
    return r.json()


async def _model(c: Ctx) -> dict:
    r = await c.post("/api/model", {"name": f"m-{uuid.uuid4().hex[:6]}", "serve": "echo-model"}, c.root)
    assert r.status_code == 201, r.text
    return r.json()


# --- one scenario per write route -------------------------------------------------------------


async def login(c: Ctx) -> Call:
    body = {"email": c.admin.email, "password": PASSWORD}
    return Call(
        lambda: c.api.client.post("/api/auth/login", json=body), "login", c.admin.id, None, [PASSWORD]
    )


async def logout(c: Ctx) -> Call:
    return Call(lambda: c.post("/api/auth/logout", {}, c.admin), "logout", c.admin.id, None, [c.admin.token])


async def password(c: Ctx) -> Call:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    return Call(
        lambda: c.post("/api/auth/password", body, c.admin),
        "password_changed",
        c.admin.id,
        None,
        [PASSWORD, NEW_PASSWORD],
    )


async def invite(c: Ctx) -> Call:
    body = {"email": f"{uuid.uuid4().hex[:8]}@example.org", "role": "org_user"}
    return Call(lambda: c.post(f"/api/org/{c.org}/user", body, c.admin), "user_invited", c.admin.id, c.org)


async def invite_revoke(c: Ctx) -> Call:
    inv = await _invite(c)
    path = f"/api/org/{c.org}/invite/{inv['invite']['id']}"
    token = inv["link"].rsplit("/", 1)[1]
    return Call(
        lambda: c.api.client.delete(path, headers=c.admin.headers),
        "invite_revoked",
        c.admin.id,
        c.org,
        [token],
    )


async def invite_resend(c: Ctx) -> Call:
    inv = await _invite(c)
    token = inv["link"].rsplit("/", 1)[1]
    path = f"/api/org/{c.org}/invite/{inv['invite']['id']}/resend"
    return Call(lambda: c.post(path, {}, c.admin), "invite_resent", c.admin.id, c.org, [token])


async def invite_accept(c: Ctx) -> Call:
    inv = await _invite(c)
    token = inv["link"].rsplit("/", 1)[1]
    body = {"name": "New Member", "password": NEW_PASSWORD}
    send = lambda: c.api.client.post(f"/api/invite/{token}/accept", json=body)  # noqa: E731
    return Call(send, "invite_accepted", None, c.org, [token, NEW_PASSWORD])


async def org_create(c: Ctx) -> Call:
    body = {"name": f"org-{uuid.uuid4().hex[:8]}"}
    return Call(lambda: c.post("/api/org", body, c.root), "org_created", c.root.id, None)


async def org_update(c: Ctx) -> Call:
    body = {"name": f"renamed-{uuid.uuid4().hex[:6]}"}
    send = lambda: c.api.client.patch(f"/api/org/{c.org}", json=body, headers=c.root.headers)  # noqa: E731
    return Call(send, "org_updated", c.root.id, c.org)


async def org_delete(c: Ctx) -> Call:
    org = await c.api.org()
    r = await c.api.client.patch(f"/api/org/{org}", json={"status": "disabled"}, headers=c.root.headers)
    assert r.status_code == 200, r.text
    send = lambda: c.api.client.delete(f"/api/org/{org}", headers=c.root.headers)  # noqa: E731
    return Call(send, "org_deleted", c.root.id, org)


async def member_role(c: Ctx) -> Call:
    m = await _member(c)
    path = f"/api/org/{c.org}/user/{m.id}"
    send = lambda: c.api.client.patch(path, json={"role": "org_admin"}, headers=c.admin.headers)  # noqa: E731
    return Call(send, "user_role_changed", c.admin.id, c.org)


async def member_remove(c: Ctx) -> Call:
    m = await _member(c)
    key = await _key(c, m)
    path = f"/api/org/{c.org}/user/{m.id}"
    send = lambda: c.api.client.delete(path, headers=c.admin.headers)  # noqa: E731
    return Call(send, "user_removed", c.admin.id, c.org, [key["key"], m.token])


async def key_create(c: Ctx) -> Call:
    body = {"name": f"ci-{uuid.uuid4().hex[:6]}"}
    return Call(lambda: c.post(f"/api/org/{c.org}/key", body, c.admin), "key_created", c.admin.id, c.org)


async def key_revoke(c: Ctx) -> Call:
    key = await _key(c, c.admin)
    path = f"/api/org/{c.org}/key/{key['id']}"
    send = lambda: c.api.client.delete(path, headers=c.admin.headers)  # noqa: E731
    return Call(send, "key_revoked", c.admin.id, c.org, [key["key"]])


async def budget(c: Ctx) -> Call:
    send = lambda: c.api.client.put(  # noqa: E731
        f"/api/org/{c.org}/budget", json={"monthly_token_limit": "500M"}, headers=c.admin.headers
    )
    return Call(send, "budget_changed", c.admin.id, c.org)


async def budget_alerts(c: Ctx) -> Call:
    body = {"thresholds": [50, 80, 100], "webhook_url": "https://hooks.example.com/ias"}
    send = lambda: c.api.client.put(  # noqa: E731
        f"/api/org/{c.org}/budget/alerts", json=body, headers=c.admin.headers
    )
    return Call(send, "budget_alerts_changed", c.admin.id, c.org)


async def rate_limits_org(c: Ctx) -> Call:
    send = lambda: c.api.client.put(  # noqa: E731
        f"/api/org/{c.org}/rate-limits", json={"requests_per_minute": 600}, headers=c.admin.headers
    )
    return Call(send, "rate_limits_changed", c.admin.id, c.org)


async def rate_limits_ceiling(c: Ctx) -> Call:
    send = lambda: c.api.client.put(  # noqa: E731
        f"/api/org/{c.org}/rate-limits/ceiling", json={"tokens_per_minute": 10**6}, headers=c.root.headers
    )
    return Call(send, "rate_limits_changed", c.root.id, c.org)


async def rate_limits_key(c: Ctx) -> Call:
    key = await _key(c, c.admin)
    send = lambda: c.api.client.put(  # noqa: E731
        f"/api/org/{c.org}/key/{key['id']}/rate-limits",
        json={"max_concurrent_requests": 4},
        headers=c.admin.headers,
    )
    return Call(send, "rate_limits_changed", c.admin.id, c.org, [key["key"]])


async def model_add(c: Ctx) -> Call:
    body = {"name": f"m-{uuid.uuid4().hex[:6]}", "remote_url": "http://llm.internal:8000/v1"}
    return Call(lambda: c.post("/api/model", body, c.root), "model_added", c.root.id, None)


async def model_update(c: Ctx) -> Call:
    m = await _model(c)
    send = lambda: c.api.client.patch(  # noqa: E731
        f"/api/model/{m['id']}", json={"enabled": False}, headers=c.root.headers
    )
    return Call(send, "model_updated", c.root.id, None)


async def model_remove(c: Ctx) -> Call:
    m = await _model(c)
    send = lambda: c.api.client.delete(f"/api/model/{m['id']}", headers=c.root.headers)  # noqa: E731
    return Call(send, "model_removed", c.root.id, None)


WRITES: dict[tuple[str, str], Callable[[Ctx], Awaitable[Call]]] = {
    ("POST", "/auth/login"): login,
    ("POST", "/auth/logout"): logout,
    ("POST", "/auth/password"): password,
    ("POST", "/org/{org_id}/user"): invite,
    ("DELETE", "/org/{org_id}/invite/{invite_id}"): invite_revoke,
    ("POST", "/org/{org_id}/invite/{invite_id}/resend"): invite_resend,
    ("POST", "/invite/{token}/accept"): invite_accept,
    ("POST", "/org"): org_create,
    ("PATCH", "/org/{org_id}"): org_update,
    ("DELETE", "/org/{org_id}"): org_delete,
    ("PATCH", "/org/{org_id}/user/{user_id}"): member_role,
    ("DELETE", "/org/{org_id}/user/{user_id}"): member_remove,
    ("POST", "/org/{org_id}/key"): key_create,
    ("DELETE", "/org/{org_id}/key/{key_id}"): key_revoke,
    ("PUT", "/org/{org_id}/budget"): budget,
    ("PUT", "/org/{org_id}/budget/alerts"): budget_alerts,
    ("PUT", "/org/{org_id}/rate-limits"): rate_limits_org,
    ("PUT", "/org/{org_id}/rate-limits/ceiling"): rate_limits_ceiling,
    ("PUT", "/org/{org_id}/key/{key_id}/rate-limits"): rate_limits_key,
    ("POST", "/model"): model_add,
    ("PATCH", "/model/{model_id}"): model_update,
    ("DELETE", "/model/{model_id}"): model_remove,
}


def test_the_table_covers_every_write_route() -> None:
    app = create_management_app(registry=CollectorRegistry())
    routes = {
        (method, route.path)
        for route in app.routes
        for method in (getattr(route, "methods", None) or ())
        if method in {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert routes == set(WRITES), f"write routes without an audit check: {routes - set(WRITES)}"


@pytest.fixture
async def ctx(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Ctx]:
    async with management_api(database_url, redis_url, tmp_path) as api:
        org = await api.org()
        admin = await api.user(org_id=org, role=OrgRole.ORG_ADMIN)
        yield Ctx(api, org, admin, await api.user(system_admin=True, password=False))


@pytest.mark.parametrize("route", list(WRITES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_write_leaves_exactly_one_audit_row_without_secrets(ctx: Ctx, route: tuple[str, str]) -> None:
    call = await WRITES[route](ctx)
    before = await last_audit_id(ctx.api)
    r = await call.send()
    assert 200 <= r.status_code < 300, f"{route}: {r.status_code} {r.text}"
    rows = await audit_rows(ctx.api, after_id=before)
    assert [row.action_type for row in rows] == [call.action], [(x.action_type, x.payload) for x in rows]
    row = rows[0]
    if call.actor is not None:
        assert row.user_id_performing_action == call.actor
    else:  # accepting an invite: the new member is the actor
        assert row.user_id_performing_action == uuid.UUID(r.json()["user"]["id"])
    if call.org is not None:
        assert row.org_id == call.org
    text = json.dumps(row.payload)
    answer_secrets = [
        r.json()[k]
        for k in ("token", "key", "webhook_secret")
        if r.content and isinstance(r.json(), dict) and k in r.json()
    ]
    for secret in [*call.secrets, *answer_secrets]:
        assert secret not in text, f"{route}: a secret is in the audit payload {text}"
