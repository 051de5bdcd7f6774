"""The permission matrix of ../shared/PERMISSIONS.md, cell by cell, through the HTTP API.

Every management action × every role × own org / another org: an allowed call succeeds and
leaves exactly one audit row of its action; a denied call answers 403 (a member lacking the
role, or a global action) or 404 (another tenant's org: it must look absent) and changes
nothing — the tables and the audit log are the same before and after.

The two dashboard rows ("view system-wide usage", "view org usage dashboard") belong to the
analytics API and are walked in tests/component/test_analytics_api.py; "call the inference
API" needs a key, which the "create API key" row decides (a System Admin can never hold one).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ias_serve.db.repositories import OrgRepository
from ias_serve.domain.roles import OrgRole, Status
from tests.component.mgmt_harness import Api, User, management_api
from tests.component.mgmt_resources_support import last_audit_id, one_new_row, state

ROLES = ("system_admin", "org_admin", "org_user", "other_org_admin", "other_org_user")


@dataclass
class World:
    api: Api
    org: uuid.UUID
    users: dict[str, User]
    admin_key: str  # key ids of org A: the Org Admin's, the Org User's, another Org User's
    user_key: str
    user2_key: str
    disabled_org: uuid.UUID  # a third org, disabled: what "delete an organisation" acts on


async def _key(api: Api, org: uuid.UUID, who: User, name: str) -> str:
    r = await api.client.post(f"/api/org/{org}/key", json={"name": name}, headers=who.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _disabled_org(api: Api) -> uuid.UUID:
    org = await api.org()
    async with api.sm() as s, s.begin():
        await OrgRepository(s).update(org, status=Status.DISABLED)
    return org


@pytest.fixture
async def world(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with management_api(database_url, redis_url, tmp_path) as api:
        org, other = await api.org(), await api.org()
        users = {
            "system_admin": await api.user(system_admin=True, password=False),
            "org_admin": await api.user(org_id=org, role=OrgRole.ORG_ADMIN, password=False),
            "org_user": await api.user(org_id=org, role=OrgRole.ORG_USER, password=False),
            "org_user2": await api.user(org_id=org, role=OrgRole.ORG_USER, password=False),
            "other_org_admin": await api.user(org_id=other, role=OrgRole.ORG_ADMIN, password=False),
            "other_org_user": await api.user(org_id=other, role=OrgRole.ORG_USER, password=False),
        }
        yield World(
            api,
            org,
            users,
            admin_key=await _key(api, org, users["org_admin"], "admin-key"),
            user_key=await _key(api, org, users["org_user"], "user-key"),
            user2_key=await _key(api, org, users["org_user2"], "user2-key"),
            disabled_org=await _disabled_org(api),
        )


Call = Callable[[World, User], Awaitable[httpx.Response]]


def _post(path: str, body: dict) -> Call:
    async def call(w: World, who: User) -> httpx.Response:
        return await w.api.client.post(path.format(org=w.org), json=body, headers=who.headers)

    return call


def _put(path: str, body: dict) -> Call:
    async def call(w: World, who: User) -> httpx.Response:
        return await w.api.client.put(path.format(org=w.org), json=body, headers=who.headers)

    return call


def _patch(path: str, body: dict) -> Call:
    async def call(w: World, who: User) -> httpx.Response:
        return await w.api.client.patch(path.format(org=w.org), json=body, headers=who.headers)

    return call


def _get(path: str) -> Call:
    async def call(w: World, who: User) -> httpx.Response:
        return await w.api.client.get(path.format(org=w.org), headers=who.headers)

    return call


def _revoke(which: str) -> Call:
    async def call(w: World, who: User) -> httpx.Response:
        key = getattr(w, which)
        return await w.api.client.delete(f"/api/org/{w.org}/key/{key}", headers=who.headers)

    return call


@dataclass(frozen=True)
class Row:
    action: str  # the row of PERMISSIONS.md
    call: Call
    allowed: dict[str, int]  # role -> success status; absent roles are denied
    audit: str | None  # the action_type an allowed write records (None: a read)
    tenant_bound: bool = True  # outsiders get 404 (org-scoped) rather than 403 (global action)
    member_denied: int = 403  # what a member lacking the right gets


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


MATRIX: tuple[Row, ...] = (
    Row(
        "manage model mappings",
        lambda w, u: _post("/api/model", {"name": _unique("m"), "serve": "echo-model"})(w, u),
        {"system_admin": 201},
        "model_added",
        tenant_bound=False,
    ),
    Row(
        "create organisations",
        lambda w, u: _post("/api/org", {"name": _unique("org")})(w, u),
        {"system_admin": 201},
        "org_created",
        tenant_bound=False,
    ),
    Row(
        "manage organisations (rename, disable)",
        lambda w, u: _patch("/api/org/{org}", {"name": _unique("renamed")})(w, u),
        {"system_admin": 200},
        "org_updated",
        tenant_bound=False,  # refused before the org is looked at: 403 for any id, reveals nothing
    ),
    Row(
        "manage organisations (delete a disabled one)",
        lambda w, u: w.api.client.delete(f"/api/org/{w.disabled_org}", headers=u.headers),
        {"system_admin": 200},
        "org_deleted",
        tenant_bound=False,
    ),
    Row(
        "invite users of an org",
        lambda w, u: _post(
            "/api/org/{org}/user", {"email": f"{_unique('new')}@example.com", "role": "org_user"}
        )(w, u),
        {"system_admin": 201, "org_admin": 201},
        "user_invited",
    ),
    Row(
        "remove users of an org",
        lambda w, u: w.api.client.delete(
            f"/api/org/{w.org}/user/{w.users['org_user2'].id}", headers=u.headers
        ),
        {"system_admin": 200, "org_admin": 200},
        "user_removed",
    ),
    Row(
        "set / adjust org budget",
        _put("/api/org/{org}/budget", {"monthly_token_limit": 1_000_000}),
        {"system_admin": 200, "org_admin": 200},
        "budget_changed",
    ),
    Row(
        "view org budget alerts (with the org budget: admins only)",
        _get("/api/org/{org}/budget/alerts"),
        {"system_admin": 200, "org_admin": 200},
        None,
    ),
    Row(
        "set org budget alerts (with the org budget)",
        _put(
            "/api/org/{org}/budget/alerts", {"thresholds": [50, 80], "webhook_url": "https://h.example.com/"}
        ),
        {"system_admin": 200, "org_admin": 200},
        "budget_alerts_changed",
    ),
    Row(
        "view org rate limits (with the org usage)",
        _get("/api/org/{org}/rate-limits"),
        {"system_admin": 200, "org_admin": 200, "org_user": 200},
        None,
    ),
    Row(
        "set / adjust org rate limits (with the org budget)",
        _put("/api/org/{org}/rate-limits", {"requests_per_minute": 600}),
        {"system_admin": 200, "org_admin": 200},
        "rate_limits_changed",
    ),
    Row(
        "set the org's rate-limit ceiling (System Admin)",
        _put("/api/org/{org}/rate-limits/ceiling", {"tokens_per_minute": 1_000_000}),
        {"system_admin": 200},
        "rate_limits_changed",
        tenant_bound=False,  # refused before the org is looked at: 403 for any id
    ),
    Row(
        "view own API key's rate limits",
        lambda w, u: w.api.client.get(f"/api/org/{w.org}/key/{w.user_key}/rate-limits", headers=u.headers),
        {"org_user": 200, "org_admin": 200, "system_admin": 200},  # the owner; admins: any key
        None,
    ),
    Row(
        "view another user's API key's rate limits",
        lambda w, u: w.api.client.get(f"/api/org/{w.org}/key/{w.user2_key}/rate-limits", headers=u.headers),
        {"org_admin": 200, "system_admin": 200},
        None,
        member_denied=404,  # an Org User cannot see another Org User's key
    ),
    Row(
        "set an API key's rate limits (Org Admin; not the Org User, even their own)",
        lambda w, u: w.api.client.put(
            f"/api/org/{w.org}/key/{w.user_key}/rate-limits",
            json={"max_concurrent_requests": 2},
            headers=u.headers,
        ),
        {"org_admin": 200, "system_admin": 200},
        "rate_limits_changed",
    ),
    Row(
        "create API key",
        lambda w, u: _post("/api/org/{org}/key", {"name": _unique("k")})(w, u),
        {"org_admin": 201, "org_user": 201},
        "key_created",
    ),
    Row(
        "view own API keys",
        _get("/api/org/{org}/key?owner=me"),
        {"org_admin": 200, "org_user": 200, "system_admin": 200},  # a System Admin: all keys ("any")
        None,
    ),
    Row(
        "revoke own API key",
        _revoke("user_key"),
        {"org_user": 200, "org_admin": 200, "system_admin": 200},  # the owner; admins: any key
        "key_revoked",
    ),
    Row(
        "revoke another user's API key (all keys of an org)",
        _revoke("user2_key"),
        {"system_admin": 200, "org_admin": 200},
        "key_revoked",
        member_denied=404,  # "cannot revoke (or see) a key created by another Org User"
    ),
    Row(
        "view org audit log",
        _get("/api/org/{org}/audit_log"),
        {"system_admin": 200, "org_admin": 200},
        None,
    ),
    Row(
        "view the system-wide audit log",
        _get("/api/audit_log"),
        {"system_admin": 200},
        None,
        tenant_bound=False,
    ),
)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda r: r.action.replace(" ", "_"))
async def test_permission_matrix_cell(world: World, row: Row, role: str) -> None:
    who = world.users[role]
    before, audit_before = await state(world.api), await last_audit_id(world.api)
    r = await row.call(world, who)
    if role in row.allowed:
        assert r.status_code == row.allowed[role], f"{row.action} as {role}: {r.status_code} {r.text}"
        if row.audit is not None:
            entry = await one_new_row(world.api, audit_before)
            assert entry.action_type == row.audit
            assert entry.user_id_performing_action == who.id
        else:
            assert await state(world.api) == before, "a read changed something"
        return
    outsider = role.startswith("other_org")
    want = {404} if outsider and row.tenant_bound else {row.member_denied if not outsider else 403}
    assert r.status_code in want, f"{row.action} as {role}: {r.status_code} {r.text} (wanted {want})"
    assert set(r.json()) == {"error"} and r.json()["error"]["code"]
    assert await state(world.api) == before, f"denied {row.action} as {role} changed something"
    assert await last_audit_id(world.api) == audit_before, "a denied call wrote an audit row"


async def test_org_user_sees_only_own_keys_and_admins_see_all(world: World) -> None:
    async def ids(role: str, query: str = "") -> set[str]:
        r = await world.api.client.get(f"/api/org/{world.org}/key{query}", headers=world.users[role].headers)
        assert r.status_code == 200, r.text
        return {k["id"] for k in r.json()["data"]}

    everything = {world.admin_key, world.user_key, world.user2_key}
    assert await ids("org_user") == {world.user_key}
    assert await ids("org_user", "?owner=me") == {world.user_key}
    assert await ids("org_admin") == everything
    assert await ids("system_admin") == everything
    assert await ids("org_admin", "?owner=me") == {world.admin_key}
