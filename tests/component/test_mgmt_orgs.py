"""`/api/org`: create, list, read, rename, disable/enable — through HTTP on real PostgreSQL and
Valkey, with the gateway's own KeyAuthenticator proving that a disabled org's keys stop working.

(In-process the app serves its routes at the root; Ray Serve mounts it under ``/api``.)
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis

from ias_serve.cache.budget import limit_key
from ias_serve.cache.keys import KeyAuthenticator
from ias_serve.db.repositories import BudgetRepository, MembershipRepository
from ias_serve.domain.roles import OrgRole
from ias_serve.errors import PermissionDenied
from tests.component.mgmt_harness import Api
from tests.component.mgmt_resources_support import (
    error_code,
    last_audit_id,
    one_new_row,
    state,
    team,
    walk,
)


def _name(tag: str = "org") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


async def test_system_admin_creates_an_org_with_a_budget(api: Api, redis: Redis) -> None:
    root = await api.user(system_admin=True)
    mark = await last_audit_id(api)
    name = _name("Acme")
    r = await api.client.post(
        "/org", json={"name": f"  {name} ", "monthly_token_limit": "500M"}, headers=root.headers
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == name and body["status"] == "active" and body["monthly_token_limit"] == 500_000_000
    org_id = uuid.UUID(body["id"])
    row = await one_new_row(api, mark)
    assert (row.action_type, row.org_id, row.user_id_performing_action) == ("org_created", org_id, root.id)
    assert row.payload == {"name": name, "monthly_token_limit": 500_000_000, "org_id": str(org_id)}
    async with api.sm() as s:
        assert await BudgetRepository(s).get_limit(org_id) == 500_000_000
    assert int(await redis.get(limit_key(org_id))) == 500_000_000  # published to the gateway


async def test_create_without_budget_is_unlimited(api: Api) -> None:
    root = await api.user(system_admin=True)
    r = await api.client.post("/org", json={"name": _name()}, headers=root.headers)
    assert r.status_code == 201 and r.json()["monthly_token_limit"] is None
    async with api.sm() as s:
        assert await BudgetRepository(s).get(uuid.UUID(r.json()["id"])) is None


async def test_duplicate_name_case_insensitive_is_409_and_writes_nothing(api: Api) -> None:
    root = await api.user(system_admin=True)
    name = _name("Dup")
    assert (await api.client.post("/org", json={"name": name}, headers=root.headers)).status_code == 201
    before = await state(api)
    r = await api.client.post(
        "/org", json={"name": name.upper(), "monthly_token_limit": 5}, headers=root.headers
    )
    assert r.status_code == 409 and error_code(r) == "conflict"
    assert await state(api) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": ""}, 400),
        ({"name": "   "}, 400),
        ({"name": "x" * 201}, 400),
        ({"name": "a\u0000b"}, 400),
        ({"name": "ok", "colour": "red"}, 400),
        ({"name": "ok", "monthly_token_limit": -5}, 400),
        ({"name": "ok", "monthly_token_limit": "lots"}, 422),
        ({"name": "ok", "monthly_token_limit": "1.2345k"}, 422),
        ({}, 400),
    ],
)
async def test_bad_input_is_a_clear_4xx_and_changes_nothing(api: Api, body: dict, status: int) -> None:
    root = await api.user(system_admin=True)
    before = await state(api)
    r = await api.client.post("/org", json=body, headers=root.headers)
    assert r.status_code == status, r.text
    error_code(r)
    assert await state(api) == before


async def test_malformed_json_is_400(api: Api) -> None:
    root = await api.user(system_admin=True)
    r = await api.client.post(
        "/org", content=b"{not json", headers={**root.headers, "content-type": "application/json"}
    )
    assert r.status_code == 400 and error_code(r) == "invalid_request"
    assert r.json()["error"]["details"]


async def test_only_system_admins_create_or_change_orgs(api: Api) -> None:
    t = await team(api)
    before = await state(api)
    for who in (t.admin, t.user, t.outsider):
        r = await api.client.post("/org", json={"name": _name()}, headers=who.headers)
        assert r.status_code == 403 and error_code(r) == "permission_denied"
        r = await api.client.patch(f"/org/{t.org}", json={"status": "disabled"}, headers=who.headers)
        assert r.status_code == 403
    assert (await api.client.post("/org", json={"name": _name()})).status_code == 401
    assert (await api.client.get("/org")).status_code == 401
    assert await state(api) == before


async def test_get_one_org_by_role(api: Api) -> None:
    t = await team(api)
    for who in (t.root, t.admin, t.user):
        r = await api.client.get(f"/org/{t.org}", headers=who.headers)
        assert r.status_code == 200 and r.json()["id"] == str(t.org)
    r = await api.client.get(f"/org/{t.org}", headers=t.outsider.headers)
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert (await api.client.get(f"/org/{uuid.uuid4()}", headers=t.root.headers)).status_code == 404
    assert (await api.client.get("/org/not-a-uuid", headers=t.root.headers)).status_code == 400


async def test_list_members_see_their_orgs_system_admin_sees_all(api: Api) -> None:
    t = await team(api)
    third = await api.org()
    both = await api.user(org_id=t.org, role=OrgRole.ORG_USER)
    async with api.sm() as s, s.begin():
        await MembershipRepository(s).add(both.id, third, OrgRole.ORG_ADMIN)
    r = await api.client.get("/org", headers=t.user.headers)
    assert r.status_code == 200
    assert [o["id"] for o in r.json()["data"]] == [str(t.org)] and r.json()["count"] == 1
    ids = {o["id"] for o in (await api.client.get("/org", headers=both.headers)).json()["data"]}
    assert ids == {str(t.org), str(third)}
    everything = await walk(api.client, "/org", t.root.headers, limit=500)
    assert {str(t.org), str(t.other_org), str(third)} <= {o["id"] for o in everything}


async def test_list_filters_and_pages_by_name(api: Api) -> None:
    root = await api.user(system_admin=True)
    tag = uuid.uuid4().hex[:8]
    names = [f"Page-{tag}-{c}" for c in "edcbaFGH"]  # mixed case: sorted case-insensitively
    for n in names:
        assert (await api.client.post("/org", json={"name": n}, headers=root.headers)).status_code == 201
    first = await api.client.get("/org", params={"name": f"page-{tag}", "limit": 3}, headers=root.headers)
    assert first.json()["count"] == len(names) and len(first.json()["data"]) == 3
    rows = await walk(api.client, "/org", root.headers, name=f"PAGE-{tag}", limit=3)
    assert [o["name"] for o in rows] == sorted(names, key=str.lower)
    # wildcards are literal
    assert (await api.client.get("/org", params={"name": "%"}, headers=root.headers)).json()["count"] == 0
    # status filter
    some = rows[0]["id"]
    r = await api.client.patch(f"/org/{some}", json={"status": "disabled"}, headers=root.headers)
    assert r.status_code == 200
    disabled = await walk(api.client, "/org", root.headers, name=f"page-{tag}", status="disabled")
    assert [o["id"] for o in disabled] == [some]


async def test_list_bad_parameters(api: Api) -> None:
    root = await api.user(system_admin=True)
    for params, status in (
        ({"cursor": "garbage"}, 422),
        ({"limit": 0}, 400),
        ({"limit": 501}, 400),
        ({"status": "gone"}, 400),
        ({"name": "a\x00"}, 422),
    ):
        r = await api.client.get("/org", params=params, headers=root.headers)
        assert r.status_code == status, (params, r.text)
        error_code(r)


async def test_rename_is_audited_with_previous_values(api: Api) -> None:
    root = await api.user(system_admin=True)
    org = await api.org()
    mark = await last_audit_id(api)
    new = _name("renamed")
    r = await api.client.patch(f"/org/{org}", json={"name": new}, headers=root.headers)
    assert r.status_code == 200 and r.json()["name"] == new
    row = await one_new_row(api, mark)
    assert (row.action_type, row.org_id, row.user_id_performing_action) == ("org_updated", org, root.id)
    assert row.payload["name"] == new and row.payload["org_id"] == str(org)
    assert set(row.payload["previous"]) == {"name"}


async def test_patch_refusals_change_nothing(api: Api) -> None:
    root = await api.user(system_admin=True)
    org, taken = await api.org(), _name("taken")
    await api.org(taken)
    before = await state(api)
    for path, body, status in (
        (f"/org/{org}", {"name": taken.upper()}, 409),
        (f"/org/{uuid.uuid4()}", {"status": "disabled"}, 404),
        (f"/org/{org}", {}, 400),
        (f"/org/{org}", {"status": "paused"}, 400),
        (f"/org/{org}", {"name": None}, 400),
        (f"/org/{org}", {"id": str(uuid.uuid4())}, 400),
    ):
        r = await api.client.patch(path, json=body, headers=root.headers)
        assert r.status_code == status, (body, r.text)
        error_code(r)
    assert await state(api) == before


async def test_disabling_an_org_refuses_its_keys_in_the_gateway_at_once(api: Api, redis: Redis) -> None:
    t = await team(api)
    r = await api.client.post(f"/org/{t.org}/key", json={"name": "svc"}, headers=t.user.headers)
    assert r.status_code == 201
    bearer = f"Bearer {r.json()['key']}"
    async with KeyAuthenticator(redis, api.sm, last_used_flush_s=3600) as gateway:
        assert (await gateway.authenticate(bearer)).org_id == t.org  # now cached locally and in Redis

        r = await api.client.patch(f"/org/{t.org}", json={"status": "disabled"}, headers=t.root.headers)
        assert r.status_code == 200 and r.json()["status"] == "disabled"
        started = time.monotonic()
        while True:
            try:
                await gateway.authenticate(bearer)
            except PermissionDenied as exc:
                assert exc.code == "org_disabled"
                break
            assert time.monotonic() - started < 1.0, "disabled org's key still accepted after 1 s"
            await asyncio.sleep(0.02)

        r = await api.client.patch(f"/org/{t.org}", json={"status": "active"}, headers=t.root.headers)
        assert r.status_code == 200
        started = time.monotonic()
        while True:
            try:
                await gateway.authenticate(bearer)
                break
            except PermissionDenied:
                # the org fence (5 s) keeps fills away, so lookups go to PostgreSQL meanwhile
                assert time.monotonic() - started < 1.0, "re-enabled org's key still refused after 1 s"
                await asyncio.sleep(0.02)
