"""`/api/org/{id}/audit_log` and `/api/audit_log`: who may read, filters, cursor paging (newest
first, no duplicates or gaps), read-only."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from ias_serve.db.repositories import AuditRepository
from ias_serve.domain.audit import AuditAction
from tests.component.mgmt_harness import Api
from tests.component.mgmt_resources_support import error_code, last_audit_id, team, walk


async def test_who_may_read_an_orgs_log(api: Api) -> None:
    t = await team(api)
    r = await api.client.put(
        f"/org/{t.org}/budget", json={"monthly_token_limit": 10}, headers=t.admin.headers
    )
    assert r.status_code == 200
    for who in (t.admin, t.root):
        r = await api.client.get(f"/org/{t.org}/audit_log", headers=who.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == 1 and body["next_cursor"] is None
        (entry,) = body["data"]
        assert entry["action_type"] == "budget_changed" and entry["org_id"] == str(t.org)
        assert entry["user_id"] == str(t.admin.id) and entry["user_email"] == t.admin.email
        assert entry["payload"]["new_limit"] == 10 and isinstance(entry["id"], int)
    r = await api.client.get(f"/org/{t.org}/audit_log", headers=t.user.headers)
    assert r.status_code == 403 and error_code(r) == "permission_denied"
    r = await api.client.get(f"/org/{t.org}/audit_log", headers=t.outsider.headers)
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert (await api.client.get(f"/org/{uuid.uuid4()}/audit_log", headers=t.root.headers)).status_code == 404
    assert (await api.client.get(f"/org/{t.org}/audit_log")).status_code == 401


async def test_the_global_log_is_for_system_admins(api: Api) -> None:
    t = await team(api)
    name = f"model-{uuid.uuid4().hex[:8]}"
    assert (
        await api.client.post("/model", json={"name": name, "serve": "a"}, headers=t.root.headers)
    ).status_code == 201
    await api.client.put(
        f"/org/{t.other_org}/budget", json={"monthly_token_limit": 1}, headers=t.outsider.headers
    )
    rows = (await api.client.get("/audit_log", params={"limit": 10}, headers=t.root.headers)).json()["data"]
    assert rows[0]["action_type"] == "budget_changed" and rows[0]["org_id"] == str(t.other_org)
    assert rows[1]["action_type"] == "model_added" and rows[1]["org_id"] is None  # global changes too
    only = await walk(api.client, "/audit_log", t.root.headers, org_id=str(t.other_org))
    assert [r["action_type"] for r in only] == ["budget_changed"]
    for who in (t.admin, t.user, t.outsider):
        r = await api.client.get("/audit_log", headers=who.headers)
        assert r.status_code == 403 and error_code(r) == "permission_denied"


async def test_filters(api: Api) -> None:
    t = await team(api)
    for limit in (1, 2):
        r = await api.client.put(
            f"/org/{t.org}/budget", json={"monthly_token_limit": limit}, headers=t.admin.headers
        )
        assert r.status_code == 200
    r = await api.client.post(f"/org/{t.org}/key", json={"name": "k"}, headers=t.user.headers)
    assert r.status_code == 201
    r = await api.client.put(f"/org/{t.org}/budget", json={"monthly_token_limit": 3}, headers=t.root.headers)
    url, h = f"/org/{t.org}/audit_log", t.admin.headers

    everything = await walk(api.client, url, h)
    assert [e["action_type"] for e in everything] == [
        "budget_changed",
        "key_created",
        "budget_changed",
        "budget_changed",
    ]
    assert [e["payload"].get("new_limit") for e in everything] == [3, None, 2, 1]  # newest first
    budget = await walk(api.client, url, h, action_type="budget_changed")
    assert len(budget) == 3
    by_admin = await walk(api.client, url, h, user_id=str(t.admin.id))
    assert [e["payload"]["new_limit"] for e in by_admin] == [2, 1]
    both = await walk(api.client, url, h, user_id=str(t.admin.id), action_type="key_created")
    assert both == []

    # time range: since inclusive, until exclusive
    ts = [datetime.fromisoformat(e["ts"]) for e in everything]
    middle = await walk(api.client, url, h, since=ts[2].isoformat(), until=ts[0].isoformat())
    assert [e["id"] for e in middle] == [everything[1]["id"], everything[2]["id"]]
    later = await walk(api.client, url, h, since=(ts[0] + timedelta(seconds=1)).isoformat())
    assert later == []

    for params, status in (
        ({"action_type": "made_up"}, 400),
        ({"user_id": "me"}, 400),
        ({"since": "yesterday"}, 400),
        ({"limit": 0}, 400),
        ({"limit": 501}, 400),
        ({"cursor": "abc"}, 422),
        ({"since": ts[0].isoformat(), "until": ts[3].isoformat()}, 422),
    ):
        r = await api.client.get(url, params=params, headers=h)
        assert r.status_code == status, (params, r.text)
        error_code(r)


async def test_cursor_paging_without_duplicates_or_gaps(api: Api) -> None:
    t = await team(api)
    async with api.sm() as s, s.begin():  # 40 rows: 25 in one transaction (one ts), 15 alone
        for i in range(25):
            await AuditRepository(s).record(
                AuditAction.ORG_UPDATED, org_id=t.org, user_id=t.root.id, payload={"i": i}
            )
    for i in range(25, 40):
        async with api.sm() as s, s.begin():
            await AuditRepository(s).record(
                AuditAction.ORG_UPDATED, org_id=t.org, user_id=t.root.id, payload={"i": i}
            )
    url = f"/org/{t.org}/audit_log"
    first = (await api.client.get(url, params={"limit": 7}, headers=t.admin.headers)).json()
    assert first["count"] == 40 and len(first["data"]) == 7 and first["next_cursor"]

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        body = (await api.client.get(url, params=params, headers=t.admin.headers)).json()
        seen += [e["payload"]["i"] for e in body["data"]]
        pages += 1
        if pages == 2:  # a write while paging lands before the first page, not in this walk
            await api.client.put(
                f"/org/{t.org}/budget", json={"monthly_token_limit": 9}, headers=t.admin.headers
            )
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(39, -1, -1)) and pages == 6
    # a cursor of another listing is refused
    r = await api.client.get(
        f"/org/{t.org}/key", params={"cursor": first["next_cursor"]}, headers=t.admin.headers
    )
    assert r.status_code == 422


async def test_reading_is_not_audited_and_nothing_can_change_rows(api: Api) -> None:
    t = await team(api)
    await api.client.put(f"/org/{t.org}/budget", json={"monthly_token_limit": 1}, headers=t.admin.headers)
    mark = await last_audit_id(api)
    for _ in range(3):
        await api.client.get(f"/org/{t.org}/audit_log", headers=t.admin.headers)
        await api.client.get("/audit_log", headers=t.root.headers)
    assert await last_audit_id(api) == mark
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in (f"/org/{t.org}/audit_log", "/audit_log"):
            r = await api.client.request(method, path, json={}, headers=t.root.headers)
            assert r.status_code == 405, (method, path)
    paths = api.client._transport.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert set(paths["/audit_log"]) == {"get"} and set(paths["/org/{org_id}/audit_log"]) == {"get"}
    assert await last_audit_id(api) == mark
