"""The user stories of the requirements, end to end through the HTTP APIs (issue 6, item 7).

The first System Admin comes from the bootstrap exactly as ``ias up`` runs it
(:mod:`ias_serve.db.bootstrap`); everything after that goes through ``/api`` (the management
app in-process, routed like Serve) and the real inference gateway (uvicorn thread, official
``openai`` SDK) on the same PostgreSQL, Valkey and NATS. Invites are read from the outbox.

Each test builds its own organisation from scratch (System Admin → org → first Org Admin →
Org User) and then plays one story.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from ias_serve.db.bootstrap import ensure_default_models, ensure_system_admin
from ias_serve.domain.keys import hash_api_key
from ias_serve.services.management.mail import read_outbox
from tests.component.gateway_harness import Gateway, running_gateway, usage_events
from tests.component.identity_helpers import Identity, identity_api

MSGS = [{"role": "user", "content": "The capital of France is Paris."}]
ANSWER = "The capital of France is Paris."
INVITE_TOKEN = re.compile(r"/invite/(iasi_[A-Za-z0-9_\-]+)")


@pytest.fixture(scope="module")
def gw(database_url: str, redis_url: str, nats_url: str) -> Iterator[Gateway]:
    with running_gateway(database_url, redis_url, nats_url) as g:
        yield g


@pytest.fixture
async def idt(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Identity]:
    async with identity_api(database_url, redis_url, tmp_path) as ident:
        yield ident


@pytest.fixture
async def sdk() -> AsyncIterator[Any]:
    made: list[AsyncOpenAI] = []

    def make(gw: Gateway, key: str) -> AsyncOpenAI:
        made.append(AsyncOpenAI(base_url=gw.base_url, api_key=key, max_retries=0, timeout=30))
        return made[-1]

    yield make
    for c in made:
        await c.close()


# --- actors -----------------------------------------------------------------------------------


@dataclass
class Actor:
    """A person using the API: their own client (own client address), account, session."""

    client: httpx.AsyncClient
    email: str
    password: str
    token: str
    id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.headers, **kw)

    async def post(self, path: str, body: Any = None) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.headers)

    async def put(self, path: str, body: Any) -> httpx.Response:
        return await self.client.put(path, json=body, headers=self.headers)

    async def patch(self, path: str, body: Any) -> httpx.Response:
        return await self.client.patch(path, json=body, headers=self.headers)

    async def delete(self, path: str) -> httpx.Response:
        return await self.client.delete(path, headers=self.headers)


@dataclass
class Org:
    """What the stories build: an org, its model, its people; every secret seen on the way."""

    id: str
    name: str
    model: str
    root: Actor
    admin: Actor
    user: Actor | None = None
    secrets: list[str] = field(default_factory=list)
    invites: list[str] = field(default_factory=list)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.request.method, str(r.request.url), r.status_code, r.text)
    return r.json() if r.content else None


def refused(r: httpx.Response, status: int, code: str | None = None) -> None:
    assert r.status_code == status, (r.request.method, str(r.request.url), r.status_code, r.text)
    if code is not None:
        assert r.json()["error"]["code"] == code, r.text


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def login(idt: Identity, email: str, password: str, client: httpx.AsyncClient | None = None) -> Actor:
    client = client or idt.new_client()
    body = ok(await client.post("/api/auth/login", json={"email": email, "password": password}))
    assert body["token"].startswith("iass_") and body["user"]["email"] == email
    return Actor(client, email, password, body["token"], uuid.UUID(body["user"]["id"]))


async def bootstrap_system_admin(idt: Identity) -> tuple[str, str]:
    """What `ias up` does on first run (Stack._bootstrap_admin): the admin, the default models."""
    email, password = f"root-{tag()}@example.com", f"root passphrase {tag()}"
    assert await ensure_system_admin(idt.api.sm, email, password) is True
    await ensure_default_models(idt.api.sm)
    return email, password


async def invite(idt: Identity, inviter: Actor, org: Org, email: str, role: str) -> str:
    """Invite by e-mail; the invitee's token, as read from the outbox (== the returned link)."""
    sent = ok(await inviter.post(f"/api/org/{org.id}/user", {"email": email, "role": role}), 201)
    assert sent["invite"]["email"] == email and sent["invite"]["role"] == role
    assert sent["invite"]["status"] == "pending" and sent["invite"]["invited_by"] == str(inviter.id)
    assert sent["email"] == "outbox" and sent["link"]
    mails = read_outbox(idt.api.outbox, to=email)
    assert len(mails) == 1, mails
    assert org.name in mails[0].subject
    m = INVITE_TOKEN.search(mails[0].body)
    assert m is not None, mails[0].body
    token = m.group(1)
    assert sent["link"].endswith(f"/invite/{token}")
    org.secrets.append(token)
    org.invites.append(token)
    return token


async def accept(
    idt: Identity, org: Org, token: str, *, email: str, name: str, role: str, inviter: Actor
) -> Actor:
    """The invitee opens the link (anonymous), accepts with name + password: logged in."""
    client = idt.new_client()
    info = ok(await client.get(f"/api/invite/{token}"))
    assert info["org_id"] == org.id and info["org_name"] == org.name
    assert (info["email"], info["role"], info["existing_account"]) == (email, role, False)
    assert info["invited_by_email"] == inviter.email
    password = f"{name} passphrase {tag()}"
    session = ok(await client.post(f"/api/invite/{token}/accept", json={"name": name, "password": password}))
    assert session["token"].startswith("iass_") and session["user"]["email"] == email
    assert session["user"]["name"] == name and session["user"]["is_system_admin"] is False
    actor = Actor(client, email, password, session["token"], uuid.UUID(session["user"]["id"]))
    me = ok(await actor.get("/api/auth/me"))
    assert [(m["org_id"], m["role"]) for m in me["memberships"]] == [(org.id, role)]
    org.secrets += [password, session["token"]]
    return actor


async def found_org(idt: Identity) -> Org:
    """Story 1: the System Admin logs in, creates an org, sets its budget, maps a model, invites
    the first Org Admin, who accepts (and is logged in)."""
    root_email, root_password = await bootstrap_system_admin(idt)
    root = await login(idt, root_email, root_password)
    me = ok(await root.get("/api/auth/me"))
    assert me["is_system_admin"] is True and me["memberships"] == []

    name = f"story-{tag()}"
    created = ok(await root.post("/api/org", {"name": name}), 201)
    assert created["name"] == name and created["status"] == "active"
    org_id = created["id"]
    budget_body = ok(await root.put(f"/api/org/{org_id}/budget", {"monthly_token_limit": "1M"}))
    assert budget_body["monthly_token_limit"] == 1_000_000 and budget_body["updated_by"] == str(root.id)

    model = f"story-model-{tag()}"
    mapping = ok(
        await root.post(
            "/api/model",
            {
                "name": model,
                "serve": "echo-model",
                "allowed_org_ids": [org_id],
                "price_per_million_input": "0.15",
                "price_per_million_output": "0.60",
            },
        ),
        201,
    )
    assert (mapping["backend_kind"], mapping["serve"], mapping["allowed_org_ids"]) == (
        "serve",
        "echo-model",
        [org_id],
    )
    assert (mapping["price_per_million_input"], mapping["price_per_million_output"]) == ("0.15", "0.6")

    org = Org(org_id, name, model, root, admin=None)  # type: ignore[arg-type]
    org.secrets += [root_password, root.token]
    admin_email = f"admin-{tag()}@example.com"
    token = await invite(idt, root, org, admin_email, "org_admin")
    org.admin = await accept(
        idt, org, token, email=admin_email, name="Olga Admin", role="org_admin", inviter=root
    )
    return org


async def add_user(idt: Identity, org: Org) -> Actor:
    """Story 2, first half: the Org Admin invites an Org User, who accepts and then logs in."""
    email = f"dev-{tag()}@example.com"
    token = await invite(idt, org.admin, org, email, "org_user")
    accepted = await accept(idt, org, token, email=email, name="Dora Dev", role="org_user", inviter=org.admin)
    user = await login(idt, email, accepted.password)
    assert user.id == accepted.id and user.token != accepted.token
    org.secrets.append(user.token)
    org.user = user
    return user


async def new_key(org: Org, who: Actor, name: str) -> dict[str, Any]:
    body = ok(await who.post(f"/api/org/{org.id}/key", {"name": name}), 201)
    assert body["key"].startswith("ias-") and body["key"].startswith(body["prefix"])
    assert body["owner"] == {"id": str(who.id), "email": who.email} and body["status"] == "active"
    org.secrets += [body["key"], hash_api_key(body["key"])]
    return body


async def gateway_status(gw: Gateway, key: str) -> tuple[int, str | None]:
    async with httpx.AsyncClient(timeout=10) as h:
        r = await h.get(f"{gw.base_url}/models", headers={"Authorization": f"Bearer {key}"})
    code = r.json().get("error", {}).get("code") if r.status_code >= 400 else None
    return r.status_code, code


async def until_gateway(
    gw: Gateway, key: str, status: int, within_s: float = 1.0
) -> tuple[float, str | None]:
    """Seconds until the gateway answers the key with ``status`` (fails after ``within_s``)."""
    started = time.monotonic()
    while True:
        got, code = await gateway_status(gw, key)
        elapsed = time.monotonic() - started
        if got == status:
            return elapsed, code
        assert elapsed < within_s, f"gateway still answers {got} ({code}) after {within_s} s, want {status}"
        await asyncio.sleep(0.02)


async def chat(sdk: Any, gw: Gateway, key: str, model: str, **kw: Any) -> Any:
    """One chat call with the SDK; retried only while the new mapping is not seen yet (the
    gateway re-reads mappings every 0.2 s in the harness)."""
    deadline = time.monotonic() + 2.0
    while True:
        try:
            return await sdk(gw, key).chat.completions.with_raw_response.create(
                model=model, messages=MSGS, **kw
            )
        except openai.NotFoundError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def audit_log(who: Actor, org_id: str) -> list[dict[str, Any]]:
    """Every row of the org's audit log, following the cursor."""
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 20}
    while True:
        page = ok(await who.get(f"/api/org/{org_id}/audit_log", params=params))
        rows += page["data"]
        if not page["next_cursor"]:
            assert page["count"] == len(rows)
            return rows
        params["cursor"] = page["next_cursor"]


# --- the stories --------------------------------------------------------------------------------


async def test_system_admin_founds_an_org_and_its_first_org_admin_joins(idt: Identity) -> None:
    org = await found_org(idt)

    # what the Org Admin now sees of the org: the org, its budget, the model it may use
    assert ok(await org.admin.get(f"/api/org/{org.id}"))["name"] == org.name
    listed = ok(await org.admin.get("/api/org"))
    assert [o["id"] for o in listed["data"]] == [org.id]
    budget = ok(await org.admin.get(f"/api/org/{org.id}/budget"))
    assert budget["monthly_token_limit"] == 1_000_000
    models = ok(await org.admin.get("/api/model", params={"org_id": org.id}))
    assert org.model in [m["name"] for m in models["data"]]
    members = ok(await org.admin.get(f"/api/org/{org.id}/user"))
    assert [(m["email"], m["role"], m["name"]) for m in members["data"]] == [
        (org.admin.email, "org_admin", "Olga Admin")
    ]

    # the invite was single-use; the invitee's password logs in
    [token] = org.invites
    assert token.startswith("iasi_")
    again = await idt.new_client().post(
        f"/api/invite/{token}/accept", json={"name": "Mallory", "password": "another passphrase 1"}
    )
    refused(again, 410)
    refused(await idt.new_client().get(f"/api/invite/{token}"), 410)
    await login(idt, org.admin.email, org.admin.password)


async def test_org_user_joins_creates_a_key_and_calls_the_gateway(
    idt: Identity, gw: Gateway, sdk: Any, nats_url: str
) -> None:
    org = await found_org(idt)
    user = await add_user(idt, org)

    key = await new_key(org, user, "notebook")
    listing = ok(await user.get(f"/api/org/{org.id}/key"))
    assert [k["id"] for k in listing["data"]] == [key["id"]]
    assert "key" not in listing["data"][0] and key["key"] not in json.dumps(listing)  # shown once

    raw = await chat(sdk, gw, key["key"], org.model)
    resp = raw.parse()
    assert resp.choices[0].message.content == ANSWER and resp.model == org.model
    rid = raw.headers["x-request-id"]
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not events and time.monotonic() < deadline:
        events = [
            e for e in await usage_events(nats_url, gw.stream, gw.subject, 1) if e["client_request_id"] == rid
        ]
        if not events:
            await asyncio.sleep(0.1)
    assert len(events) == 1, "no usage event published for the call"
    ev = events[0]
    assert (ev["org_id"], ev["user_id"], ev["key_id"], ev["model"], ev["status"]) == (
        org.id,
        str(user.id),
        key["id"],
        org.model,
        "ok",
    )
    assert (ev["input_tokens"], ev["output_tokens"]) == (
        resp.usage.prompt_tokens,
        resp.usage.completion_tokens,
    )
    assert (Decimal(ev["price_input"]), Decimal(ev["price_output"])) == (Decimal("0.15"), Decimal("0.6"))


async def test_org_user_sees_and_revokes_only_their_own_keys(idt: Identity, gw: Gateway, sdk: Any) -> None:
    org = await found_org(idt)
    user = await add_user(idt, org)
    mine = await new_key(org, user, "laptop")
    spare = await new_key(org, user, "ci")
    admins = await new_key(org, org.admin, "admin-tools")

    listing = ok(await user.get(f"/api/org/{org.id}/key"))
    assert {k["id"] for k in listing["data"]} == {mine["id"], spare["id"]} and listing["count"] == 2
    assert admins["prefix"] not in json.dumps(listing)
    by_owner = ok(await user.get(f"/api/org/{org.id}/key", params={"owner": str(org.admin.id)}))
    assert by_owner["data"] == [] and by_owner["count"] == 0

    refused(await user.delete(f"/api/org/{org.id}/key/{admins['id']}"), 404)
    assert await gateway_status(gw, admins["key"]) == (200, None)  # untouched
    mails = len(read_outbox(idt.api.outbox))
    refused(await user.post(f"/api/org/{org.id}/user", {"email": f"x-{tag()}@example.com"}), 403)
    assert len(read_outbox(idt.api.outbox)) == mails  # no mail went out
    refused(await user.get(f"/api/org/{org.id}/audit_log"), 403)

    assert await gateway_status(gw, mine["key"]) == (200, None)
    revoked = ok(await user.delete(f"/api/org/{org.id}/key/{mine['id']}"))
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    elapsed, code = await until_gateway(gw, mine["key"], 401)
    assert code == "invalid_api_key" and elapsed < 1.0
    with pytest.raises(openai.AuthenticationError):
        await sdk(gw, mine["key"]).chat.completions.create(model=org.model, messages=MSGS)
    assert await gateway_status(gw, spare["key"]) == (200, None)


async def test_org_admin_manages_keys_and_roles_and_reads_a_clean_audit_log(
    idt: Identity, gw: Gateway
) -> None:
    org = await found_org(idt)
    user = await add_user(idt, org)
    mine = await new_key(org, user, "laptop")
    other = await new_key(org, user, "ci")
    admins = await new_key(org, org.admin, "admin-tools")
    ok(await user.delete(f"/api/org/{org.id}/key/{mine['id']}"))

    listing = ok(await org.admin.get(f"/api/org/{org.id}/key"))
    seen = {k["id"]: (k["owner"]["email"], k["status"]) for k in listing["data"]}
    assert seen == {
        mine["id"]: (user.email, "revoked"),
        other["id"]: (user.email, "active"),
        admins["id"]: (org.admin.email, "active"),
    }
    assert await gateway_status(gw, other["key"]) == (200, None)
    ok(await org.admin.delete(f"/api/org/{org.id}/key/{other['id']}"))
    elapsed, _ = await until_gateway(gw, other["key"], 401)
    assert elapsed < 1.0

    changed = ok(await org.admin.patch(f"/api/org/{org.id}/user/{user.id}", {"role": "org_admin"}))
    assert (changed["id"], changed["role"]) == (str(user.id), "org_admin")
    me = ok(await user.get("/api/auth/me"))
    assert [m["role"] for m in me["memberships"]] == ["org_admin"]
    ok(await user.get(f"/api/org/{org.id}/audit_log"))  # the new role applies at once

    rows = await audit_log(org.admin, org.id)
    assert all(r["org_id"] == org.id for r in rows)
    by_action: dict[str, list[tuple[str | None, dict[str, Any]]]] = {}
    for r in reversed(rows):  # oldest first
        by_action.setdefault(r["action_type"], []).append((r["user_id"], r["payload"]))
    root, admin, dev = str(org.root.id), str(org.admin.id), str(user.id)

    def actors(action: str) -> list[str | None]:
        return [who for who, _ in by_action.get(action, [])]

    assert actors("user_invited") == [root, admin]
    assert [p["email"] for _, p in by_action["user_invited"]] == [org.admin.email, user.email]
    assert actors("invite_accepted") == [admin, dev]
    assert actors("key_created") == [dev, dev, admin]
    assert [p["key_id"] for _, p in by_action["key_created"]] == [mine["id"], other["id"], admins["id"]]
    assert actors("key_revoked") == [dev, admin]
    assert [p["key_id"] for _, p in by_action["key_revoked"]] == [mine["id"], other["id"]]
    assert actors("budget_changed") == [root]
    assert by_action["budget_changed"][0][1]["new_limit"] == 1_000_000
    assert actors("user_role_changed") == [admin]
    role_change = by_action["user_role_changed"][0][1]
    assert (role_change["user_id"], role_change["role"], role_change["previous_role"]) == (
        dev,
        "org_admin",
        "org_user",
    )
    emails = {r["user_id"]: r["user_email"] for r in rows}
    assert emails[root] == org.root.email and emails[admin] == org.admin.email and emails[dev] == user.email

    # no secret anywhere: not in the org's log, not in the System Admin's global view of it
    text = json.dumps(rows) + json.dumps(ok(await org.root.get("/api/audit_log", params={"org_id": org.id})))
    for secret in org.secrets:
        assert secret not in text, f"secret {secret[:8]}… in the audit log"


async def test_budget_set_by_the_org_admin_stops_the_org_user(idt: Identity, gw: Gateway, sdk: Any) -> None:
    org = await found_org(idt)
    user = await add_user(idt, org)
    key = await new_key(org, user, "notebook")
    first = (await chat(sdk, gw, key["key"], org.model, max_tokens=10)).parse()
    spent = first.usage.total_tokens
    deadline = time.monotonic() + 5
    while (used := ok(await org.admin.get(f"/api/org/{org.id}/budget"))["used_this_month"]) != spent:
        assert time.monotonic() < deadline, f"budget shows {used} used, the call used {spent}"
        await asyncio.sleep(0.05)

    refused(await user.put(f"/api/org/{org.id}/budget", {"monthly_token_limit": 10**9}), 403)
    # one more call reserves prompt (15) + max_tokens (10) = 25 tokens: room for one, not two
    small = ok(await org.admin.put(f"/api/org/{org.id}/budget", {"monthly_token_limit": spent + 40}))
    assert small["monthly_token_limit"] == spent + 40 and small["remaining_this_month"] == 40
    c = sdk(gw, key["key"])
    await c.chat.completions.create(model=org.model, messages=MSGS, max_tokens=10)
    with pytest.raises(openai.RateLimitError) as exc:
        await c.chat.completions.create(model=org.model, messages=MSGS, max_tokens=10)
    assert exc.value.status_code == 429
    assert exc.value.body["code"] == "insufficient_quota" and exc.value.body["type"] == "insufficient_quota"

    # the Org Admin lifts the limit: the next call goes through at once
    ok(await org.admin.put(f"/api/org/{org.id}/budget", {"monthly_token_limit": "unlimited"}))
    resp = await c.chat.completions.create(model=org.model, messages=MSGS, max_tokens=10)
    assert resp.choices[0].message.content


async def test_disabled_org_is_refused_and_other_orgs_see_nothing(
    idt: Identity, gw: Gateway, sdk: Any
) -> None:
    org = await found_org(idt)
    user = await add_user(idt, org)
    key = await new_key(org, user, "notebook")
    assert await gateway_status(gw, key["key"]) == (200, None)

    disabled = ok(await org.root.patch(f"/api/org/{org.id}", {"status": "disabled"}))
    assert disabled["status"] == "disabled"
    elapsed, code = await until_gateway(gw, key["key"], 403)
    assert code == "org_disabled" and elapsed < 1.0
    with pytest.raises(openai.PermissionDeniedError) as exc:
        await sdk(gw, key["key"]).chat.completions.create(model=org.model, messages=MSGS)
    assert exc.value.body["code"] == "org_disabled"
    ok(await org.root.patch(f"/api/org/{org.id}", {"status": "active"}))
    elapsed, _ = await until_gateway(gw, key["key"], 200)
    assert elapsed < 1.0

    refused(await org.root.post(f"/api/org/{org.id}/key", {"name": "root-key"}), 403)
    assert ok(await org.root.get(f"/api/org/{org.id}/key"))["count"] == 1

    # a second org with its own Org Admin
    b = ok(await org.root.post("/api/org", {"name": f"other-{tag()}"}), 201)
    org_b = Org(b["id"], b["name"], org.model, org.root, admin=None)  # type: ignore[arg-type]
    email = f"admin-b-{tag()}@example.com"
    token = await invite(idt, org.root, org_b, email, "org_admin")
    outsider = await accept(
        idt, org_b, token, email=email, name="Otto Outsider", role="org_admin", inviter=org.root
    )
    assert [o["id"] for o in ok(await outsider.get("/api/org"))["data"]] == [org_b.id]
    for path in ("", "/key", "/audit_log", "/budget", "/user"):
        refused(await outsider.get(f"/api/org/{org.id}{path}"), 404)
    refused(await outsider.delete(f"/api/org/{org.id}/key/{key['id']}"), 404)
    refused(await outsider.put(f"/api/org/{org.id}/budget", {"monthly_token_limit": 1}), 404)
    assert await gateway_status(gw, key["key"]) == (200, None)


async def test_password_change_ends_other_sessions_and_logout_ends_this_one(idt: Identity) -> None:
    org = await found_org(idt)
    user = await add_user(idt, org)
    second = await login(idt, user.email, user.password)  # another browser
    new_password = f"a new passphrase {tag()}"

    changed = ok(
        await user.post(
            "/api/auth/password", {"current_password": user.password, "new_password": new_password}
        )
    )
    assert changed["sessions_revoked"] >= 1
    refused(await second.get("/api/auth/me"), 401)
    ok(await user.get("/api/auth/me"))  # the session that changed it lives on
    refused(
        await idt.new_client().post("/api/auth/login", json={"email": user.email, "password": user.password}),
        401,
    )
    fresh = await login(idt, user.email, new_password)

    r = await user.post("/api/auth/logout")
    assert r.status_code == 204, r.text
    refused(await user.get("/api/auth/me"), 401)
    refused(await user.post(f"/api/org/{org.id}/key", {"name": "after-logout"}), 401)
    ok(await fresh.get("/api/auth/me"))

    rows = await audit_log(org.admin, org.id)
    text = json.dumps(rows) + json.dumps(
        ok(await org.root.get("/api/audit_log", params={"user_id": str(user.id)}))
    )
    for secret in (user.password, new_password, user.token, second.token, fresh.token):
        assert secret not in text
