"""`DELETE /api/org/{id}`: a disabled organisation goes with everything that belonged only to it,
its audit trail stays, and the gateway refuses its keys at once (real PostgreSQL and Valkey).

This is what the E2E harness cleans up with (tests/e2e), so its guarantees are proven here.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from redis.asyncio import Redis
from sqlalchemy import func, select

from ias_serve.cache.keys import KeyAuthenticator
from ias_serve.db.models import ApiKey, Invite, Membership, ModelMapping, Organization, OrgBudget, User
from ias_serve.db.repositories import MembershipRepository
from ias_serve.domain.roles import OrgRole
from ias_serve.errors import InvalidApiKey, PermissionDenied
from tests.component.mgmt_harness import Api
from tests.component.mgmt_resources_support import audit_rows, error_code, last_audit_id, state, team


async def _rows_of(api: Api, org: uuid.UUID) -> dict[str, int]:
    async with api.sm() as s:

        async def count(model, column) -> int:  # type: ignore[no-untyped-def]
            return int(await s.scalar(select(func.count()).select_from(model).where(column == org)) or 0)

        return {
            "organizations": await count(Organization, Organization.id),
            "memberships": await count(Membership, Membership.org_id),
            "invites": await count(Invite, Invite.org_id),
            "api_keys": await count(ApiKey, ApiKey.org_id),
            "org_budgets": await count(OrgBudget, OrgBudget.org_id),
        }


async def test_delete_a_disabled_org_and_what_belonged_only_to_it(api: Api, redis: Redis) -> None:
    t = await team(api)
    async with api.sm() as s, s.begin():  # user2 also belongs to the other org: kept
        await MembershipRepository(s).add(t.user2.id, t.other_org, OrgRole.ORG_USER)
    key = await api.client.post(f"/org/{t.org}/key", json={"name": "svc"}, headers=t.user.headers)
    assert key.status_code == 201, key.text
    bearer = f"Bearer {key.json()['key']}"
    for path, body in (
        (f"/org/{t.org}/user", {"email": f"later-{uuid.uuid4().hex[:6]}@example.org"}),
        (f"/org/{t.org}/budget", {"monthly_token_limit": "1M"}),
    ):
        r = await (api.client.put if path.endswith("budget") else api.client.post)(
            path, json=body, headers=t.admin.headers
        )
        assert r.status_code in (200, 201), r.text
    model = await api.client.post(
        "/model",
        json={
            "name": f"m-{uuid.uuid4().hex[:8]}",
            "serve": "echo-model",
            "allowed_org_ids": [str(t.org), str(t.other_org)],
        },
        headers=t.root.headers,
    )
    assert model.status_code == 201, model.text
    await redis.set(f"ias:budget:{t.org}:2026-11", 123)
    assert (await _rows_of(api, t.org)) == {
        "organizations": 1,
        "memberships": 3,
        "invites": 1,
        "api_keys": 1,
        "org_budgets": 1,
    }
    trail_before = [r.id for r in await audit_rows(api) if r.org_id == t.org]

    async with KeyAuthenticator(redis, api.sm, last_used_flush_s=3600) as gateway:
        assert (await gateway.authenticate(bearer)).org_id == t.org  # cached locally and in Redis

        # an active org cannot be deleted; nobody but a System Admin may delete; nothing changes
        before = await state(api)
        r = await api.client.delete(f"/org/{t.org}", headers=t.root.headers)
        assert r.status_code == 409 and error_code(r) == "org_not_disabled", r.text
        for who in (t.admin, t.user, t.outsider):
            r = await api.client.delete(f"/org/{t.org}", headers=who.headers)
            assert r.status_code == 403 and error_code(r) == "permission_denied"
        assert (await api.client.delete(f"/org/{t.org}")).status_code == 401
        assert await state(api) == before

        r = await api.client.patch(f"/org/{t.org}", json={"status": "disabled"}, headers=t.root.headers)
        assert r.status_code == 200
        mark = await last_audit_id(api)
        r = await api.client.delete(f"/org/{t.org}", headers=t.root.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "id": str(t.org),
            "name": r.json()["name"],
            "members_removed": 3,
            "users_deleted": 2,
            "keys_deleted": 1,
            "invites_deleted": 1,
        }

        # the gateway refuses the key as unknown within 1 s (it was cached in both tiers)
        started = time.monotonic()
        while True:
            try:
                await gateway.authenticate(bearer)
            except InvalidApiKey:
                break
            except PermissionDenied:  # org_disabled, from the cache, until it is dropped
                pass
            assert time.monotonic() - started < 1.0, "a deleted org's key still known after 1 s"
            await asyncio.sleep(0.02)

    assert await _rows_of(api, t.org) == dict.fromkeys(
        ("organizations", "memberships", "invites", "api_keys", "org_budgets"), 0
    )
    async with api.sm() as s:
        users = set(await s.scalars(select(User.id)))
        mapping = await s.get(ModelMapping, uuid.UUID(model.json()["id"]))
    assert t.admin.id not in users and t.user.id not in users  # members of this org only
    assert {t.user2.id, t.root.id, t.outsider.id} <= users
    assert mapping is not None and mapping.allowed_org_ids == [t.other_org]
    assert [k async for k in redis.scan_iter(match=f"ias:budget:{t.org}:*")] == []

    # the audit trail stays, with one org_deleted row by the System Admin
    rows = await audit_rows(api, after_id=mark)
    assert [(x.action_type, x.org_id, x.user_id_performing_action) for x in rows] == [
        ("org_deleted", t.org, t.root.id)
    ]
    assert set(rows[0].payload["users_deleted"]) == {str(t.admin.id), str(t.user.id)}
    assert rows[0].payload["keys_deleted"] == 1 and rows[0].payload["members_removed"] == 3
    assert set(trail_before) <= {x.id for x in await audit_rows(api) if x.org_id == t.org}

    assert (await api.client.get(f"/org/{t.org}", headers=t.root.headers)).status_code == 404
    r = await api.client.delete(f"/org/{t.org}", headers=t.root.headers)
    assert r.status_code == 404 and error_code(r) == "not_found"
    # the other org is untouched
    assert (await api.client.get(f"/org/{t.other_org}", headers=t.outsider.headers)).status_code == 200
