"""`/api/model`: model mapping CRUD (System Admin), prices as decimal strings, per-org
allow-lists, what members see, and the audit rows."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ias_serve.db.models import ModelMapping
from ias_serve.db.repositories import ModelMappingRepository
from tests.component.mgmt_harness import Api
from tests.component.mgmt_resources_support import error_code, last_audit_id, one_new_row, state, team


def _name() -> str:
    return f"model-{uuid.uuid4().hex[:8]}"


async def test_create_serve_and_remote_mappings(api: Api) -> None:
    t = await team(api)
    mark = await last_audit_id(api)
    name = _name()
    r = await api.client.post(
        "/model",
        json={
            "name": name,
            "serve": "llama3-engine",
            "price_per_million_input": "0.15",
            "price_per_million_output": 2,
        },
        headers=t.root.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == name and body["backend_kind"] == "serve" and body["serve"] == "llama3-engine"
    assert body["remote_url"] is None and body["enabled"] is True and body["allowed_org_ids"] is None
    assert (body["price_per_million_input"], body["price_per_million_output"]) == ("0.15", "2")
    row = await one_new_row(api, mark)
    assert (row.action_type, row.org_id, row.user_id_performing_action) == ("model_added", None, t.root.id)
    assert row.payload == {
        "name": name,
        "serve": "llama3-engine",
        "price_per_million_input": "0.15",
        "price_per_million_output": "2",
        "id": body["id"],
    }
    async with api.sm() as s:
        m = await s.get(ModelMapping, uuid.UUID(body["id"]))
        assert m is not None and m.price_per_million_input == Decimal("0.15")

    remote = await api.client.post(
        "/model",
        json={
            "name": _name(),
            "remote_url": "http://llama-3-8b.inference.svc.cluster.local:8000/v1/",
            "allowed_org_ids": [str(t.org)],
        },
        headers=t.root.headers,
    )
    assert remote.status_code == 201, remote.text
    assert remote.json()["remote_url"] == "http://llama-3-8b.inference.svc.cluster.local:8000/v1"
    assert remote.json()["allowed_org_ids"] == [str(t.org)] and remote.json()["serve"] is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "m"}, 400),
        ({"name": "m", "serve": "a", "remote_url": "http://h"}, 400),
        ({"name": "bad name", "serve": "a"}, 400),
        ({"name": "m", "serve": "a", "price_per_million_input": "-1"}, 400),
        ({"name": "m", "serve": "a", "price_per_million_input": "0.0000001"}, 400),
        ({"name": "m", "serve": "a", "price_per_million_output": "abc"}, 400),
        ({"name": "m", "serve": "a", "colour": 1}, 400),
        ({"name": "m", "remote_url": "ftp://host"}, 422),
        ({"name": "m", "remote_url": "http://user:pw@host"}, 422),
        ({"name": "m", "serve": "has space"}, 422),
        ({"name": "m", "serve": "a", "allowed_org_ids": [str(uuid.UUID(int=7))]}, 422),
    ],
)
async def test_bad_input_changes_nothing(api: Api, body: dict, status: int) -> None:
    root = await api.user(system_admin=True)
    before = await state(api)
    r = await api.client.post("/model", json=body, headers=root.headers)
    assert r.status_code == status, r.text
    error_code(r)
    assert await state(api) == before


async def test_unknown_allowed_org_is_named_in_details(api: Api) -> None:
    root = await api.user(system_admin=True)
    ghost = str(uuid.uuid4())
    r = await api.client.post(
        "/model", json={"name": _name(), "serve": "a", "allowed_org_ids": [ghost]}, headers=root.headers
    )
    assert r.status_code == 422 and r.json()["error"]["details"] == {"unknown_org_ids": [ghost]}


async def test_duplicate_name_is_409(api: Api) -> None:
    root = await api.user(system_admin=True)
    name = _name()
    assert (
        await api.client.post("/model", json={"name": name, "serve": "a"}, headers=root.headers)
    ).status_code == 201
    before = await state(api)
    r = await api.client.post("/model", json={"name": name, "serve": "b"}, headers=root.headers)
    assert r.status_code == 409 and error_code(r) == "conflict"
    assert await state(api) == before


async def test_only_system_admins_manage_mappings(api: Api) -> None:
    t = await team(api)
    mid = (
        await api.client.post("/model", json={"name": _name(), "serve": "a"}, headers=t.root.headers)
    ).json()["id"]
    before = await state(api)
    for who in (t.admin, t.user, t.outsider):
        for method, path, body in (
            ("POST", "/model", {"name": _name(), "serve": "a"}),
            ("GET", f"/model/{mid}", None),
            ("PATCH", f"/model/{mid}", {"enabled": False}),
            ("DELETE", f"/model/{mid}", None),
        ):
            r = await api.client.request(method, path, json=body, headers=who.headers)
            assert r.status_code == 403, (method, path, r.text)
            assert error_code(r) == "permission_denied"
    assert (await api.client.post("/model", json={"name": _name(), "serve": "a"})).status_code == 401
    assert await state(api) == before


async def test_listing_full_for_system_admin_names_for_members(api: Api) -> None:
    t = await team(api)
    root = t.root

    async def add(**body: object) -> dict:
        r = await api.client.post("/model", json={"name": _name(), **body}, headers=root.headers)
        assert r.status_code == 201, r.text
        return r.json()

    everyone = await add(serve="a")
    ours = await add(serve="b", allowed_org_ids=[str(t.org)])
    theirs = await add(serve="c", allowed_org_ids=[str(t.other_org)])
    closed = await add(serve="d", allowed_org_ids=[])
    off = await add(serve="e", enabled=False)

    full = (await api.client.get("/model", headers=root.headers)).json()
    by_name = {m["name"]: m for m in full["data"]}
    assert {everyone["name"], ours["name"], theirs["name"], closed["name"], off["name"]} <= set(by_name)
    assert by_name[ours["name"]]["allowed_org_ids"] == [str(t.org)] and full["count"] == len(full["data"])

    member = (await api.client.get("/model", headers=t.user.headers)).json()
    assert all(set(m) == {"name"} for m in member["data"])  # names only: no backends, no prices
    names = {m["name"] for m in member["data"]}
    assert {everyone["name"], ours["name"]} <= names
    assert not names & {theirs["name"], closed["name"], off["name"]}

    for_org = (
        await api.client.get("/model", params={"org_id": str(t.other_org)}, headers=root.headers)
    ).json()
    assert theirs["name"] in {m["name"] for m in for_org["data"]} and "serve" in for_org["data"][0]
    r = await api.client.get("/model", params={"org_id": str(t.other_org)}, headers=t.user.headers)
    assert r.status_code == 404
    r = await api.client.get("/model", params={"org_id": str(t.org)}, headers=t.user.headers)
    assert {m["name"] for m in r.json()["data"]} == names
    loner = await api.user()
    assert (await api.client.get("/model", headers=loner.headers)).json() == {"data": [], "count": 0}
    assert (
        await api.client.get("/model", params={"org_id": str(uuid.uuid4())}, headers=root.headers)
    ).status_code == 404


async def test_update_is_audited_with_previous_values(api: Api) -> None:
    t = await team(api)
    created = (
        await api.client.post(
            "/model",
            json={"name": _name(), "serve": "a", "price_per_million_input": "1"},
            headers=t.root.headers,
        )
    ).json()
    mid = created["id"]
    mark = await last_audit_id(api)
    r = await api.client.patch(
        f"/model/{mid}",
        json={
            "remote_url": "https://api.example.com/v1",
            "price_per_million_input": "0.5",
            "allowed_org_ids": [],
        },
        headers=t.root.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["backend_kind"] == "remote_url" and body["remote_url"] == "https://api.example.com/v1"
    assert (
        body["serve"] is None and body["price_per_million_input"] == "0.5" and body["allowed_org_ids"] == []
    )
    row = await one_new_row(api, mark)
    assert (row.action_type, row.org_id, row.user_id_performing_action) == ("model_updated", None, t.root.id)
    assert row.payload["id"] == mid and row.payload["remote_url"] == "https://api.example.com/v1"
    assert row.payload["previous"] == {
        "backend_kind": "serve",
        "target": "a",
        "price_per_million_input": "1.000000",
        "allowed_org_ids": None,
    }

    r = await api.client.patch(
        f"/model/{mid}", json={"allowed_org_ids": None, "enabled": False}, headers=t.root.headers
    )
    assert r.status_code == 200 and r.json()["allowed_org_ids"] is None and r.json()["enabled"] is False
    r = await api.client.get(f"/model/{mid}", headers=t.root.headers)
    assert r.status_code == 200 and r.json()["enabled"] is False


async def test_update_refusals_change_nothing(api: Api) -> None:
    root = await api.user(system_admin=True)
    a = (await api.client.post("/model", json={"name": _name(), "serve": "a"}, headers=root.headers)).json()
    b = (await api.client.post("/model", json={"name": _name(), "serve": "b"}, headers=root.headers)).json()
    before = await state(api)
    for mid, body, status in (
        (a["id"], {"name": b["name"]}, 409),
        (str(uuid.uuid4()), {"enabled": False}, 404),
        (a["id"], {}, 400),
        (a["id"], {"enabled": None}, 400),
        (a["id"], {"serve": "x", "remote_url": "http://h"}, 400),
        (a["id"], {"remote_url": "not a url"}, 422),
        (a["id"], {"allowed_org_ids": [str(uuid.uuid4())]}, 422),
    ):
        r = await api.client.patch(f"/model/{mid}", json=body, headers=root.headers)
        assert r.status_code == status, (body, r.text)
        error_code(r)
    assert await state(api) == before


async def test_delete(api: Api) -> None:
    root = await api.user(system_admin=True)
    created = (
        await api.client.post("/model", json={"name": _name(), "serve": "a"}, headers=root.headers)
    ).json()
    mark = await last_audit_id(api)
    r = await api.client.delete(f"/model/{created['id']}", headers=root.headers)
    assert r.status_code == 204 and r.content == b""
    row = await one_new_row(api, mark)
    assert row.action_type == "model_removed" and row.user_id_performing_action == root.id
    assert row.payload == {
        "id": created["id"],
        "name": created["name"],
        "backend_kind": "serve",
        "target": "a",
    }
    async with api.sm() as s:
        assert await ModelMappingRepository(s).get(uuid.UUID(created["id"])) is None
    before = await state(api)
    assert (await api.client.delete(f"/model/{created['id']}", headers=root.headers)).status_code == 404
    assert (await api.client.get(f"/model/{created['id']}", headers=root.headers)).status_code == 404
    assert await state(api) == before
