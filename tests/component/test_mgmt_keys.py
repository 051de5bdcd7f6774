"""`/api/org/{id}/key`: create, list, revoke — every role, the audit rows, and the effect on the
gateway: a created key authenticates at once with the gateway's own KeyAuthenticator (same
PostgreSQL and Valkey), a revoked one is refused within 1 s (tombstone + ``ias:revocations``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from ias_serve.cache.key_store import CHANNEL, entry_key
from ias_serve.cache.keys import KeyAuthenticator
from ias_serve.cache.local import INVALID_MARKER
from ias_serve.db.models import ApiKey
from ias_serve.db.repositories import ApiKeyRepository, MembershipRepository
from ias_serve.domain.keys import generate_api_key, hash_api_key, is_well_formed_api_key
from ias_serve.domain.roles import OrgRole
from ias_serve.errors import InvalidApiKey
from tests.component.mgmt_harness import Api, User
from tests.component.mgmt_resources_support import (
    Team,
    error_code,
    last_audit_id,
    one_new_row,
    state,
    team,
    walk,
)


@pytest.fixture
async def gateway(redis: Redis, api: Api) -> AsyncIterator[KeyAuthenticator]:
    async with KeyAuthenticator(redis, api.sm, last_used_flush_s=3600) as auth:
        yield auth


async def _create(api: Api, who: User, org: uuid.UUID, name: str = "ci", **extra: object) -> dict:
    r = await api.client.post(f"/org/{org}/key", json={"name": name, **extra}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _refused(gateway: KeyAuthenticator, bearer: str, within_s: float = 1.0) -> float:
    """Seconds until the gateway refuses the key (fails the test after ``within_s``)."""
    started = time.monotonic()
    while True:
        try:
            await gateway.authenticate(bearer)
        except InvalidApiKey:
            return time.monotonic() - started
        assert time.monotonic() - started < within_s, f"key still accepted after {within_s} s"
        await asyncio.sleep(0.01)


async def test_created_key_is_shown_once_stored_hashed_audited_and_works_at_once(
    api: Api, gateway: KeyAuthenticator
) -> None:
    t = await team(api)
    mark = await last_audit_id(api)
    body = await _create(api, t.user, t.org, "  ci-pipeline ", expires_in_days=30)
    key = body["key"]
    assert is_well_formed_api_key(key) and body["prefix"] == key[:12] and body["name"] == "ci-pipeline"
    assert body["owner"] == {"id": str(t.user.id), "email": t.user.email}
    assert body["status"] == "active" and body["revoked_at"] is None and body["last_used_at"] is None
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)

    async with api.sm() as s:
        row = await s.get(ApiKey, uuid.UUID(body["id"]))
        assert row is not None and row.key_hash == hash_api_key(key) and row.user_id == t.user.id
    audit = await one_new_row(api, mark)
    assert (audit.action_type, audit.org_id, audit.user_id_performing_action) == (
        "key_created",
        t.org,
        t.user.id,
    )
    assert audit.payload["key_id"] == body["id"] and audit.payload["prefix"] == body["prefix"]
    assert audit.payload["name"] == "ci-pipeline" and audit.payload["expires_in_days"] == 30
    assert datetime.fromisoformat(audit.payload["expires_at"]) == expires
    assert key not in json.dumps(audit.payload) and hash_api_key(key) not in json.dumps(audit.payload)

    principal = await gateway.authenticate(f"Bearer {key}")
    assert (principal.org_id, principal.user_id, principal.key_id) == (
        t.org,
        t.user.id,
        uuid.UUID(body["id"]),
    )


async def test_who_may_create(api: Api) -> None:
    t = await team(api)
    assert (await _create(api, t.admin, t.org))["owner"]["id"] == str(t.admin.id)
    member_root = await api.user(system_admin=True, org_id=t.org, role=OrgRole.ORG_ADMIN)
    before = await state(api)
    for who, status in ((t.root, 403), (member_root, 403), (t.outsider, 404)):
        r = await api.client.post(f"/org/{t.org}/key", json={"name": "x"}, headers=who.headers)
        assert r.status_code == status, r.text
        error_code(r)
    r = await api.client.post(f"/org/{uuid.uuid4()}/key", json={"name": "x"}, headers=t.user.headers)
    assert r.status_code == 404
    assert (await api.client.post(f"/org/{t.org}/key", json={"name": "x"})).status_code == 401
    assert await state(api) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"name": ""}, 400),
        ({"name": "x", "key": "ias-chosen"}, 400),
        ({"name": "x", "expires_in_days": 0}, 400),
        ({"name": "x", "expires_in_days": 3651}, 400),
        ({"name": "x", "expires_in_days": 5, "expires_at": "2099-01-01T00:00:00Z"}, 400),
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, 422),
        ({"name": "x", "expires_at": "9999-12-31T23:00:00-05:00"}, 422),
        ({"name": "x", "expires_at": "tomorrow"}, 400),
    ],
)
async def test_bad_input_changes_nothing(api: Api, body: dict, status: int) -> None:
    t = await team(api)
    before = await state(api)
    r = await api.client.post(f"/org/{t.org}/key", json=body, headers=t.user.headers)
    assert r.status_code == status, r.text
    error_code(r)
    assert await state(api) == before


async def test_duplicate_active_name_is_409_until_revoked(api: Api) -> None:
    t = await team(api)
    first = await _create(api, t.user, t.org, "deploy")
    before = await state(api)
    r = await api.client.post(f"/org/{t.org}/key", json={"name": "DEPLOY"}, headers=t.user.headers)
    assert r.status_code == 409 and error_code(r) == "key_name_taken"
    assert await state(api) == before
    await _create(api, t.user2, t.org, "deploy")  # another owner: fine
    r = await api.client.delete(f"/org/{t.org}/key/{first['id']}", headers=t.user.headers)
    assert r.status_code == 200
    await _create(api, t.user, t.org, "deploy")  # rotated


async def test_concurrent_creations_of_one_name_give_one_key(api: Api) -> None:
    t = await team(api)
    rs = await asyncio.gather(
        *(
            api.client.post(f"/org/{t.org}/key", json={"name": "race"}, headers=t.user.headers)
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in rs) == [201, 409, 409, 409]


async def test_disabled_org_gets_no_new_keys(api: Api) -> None:
    t = await team(api)
    r = await api.client.patch(f"/org/{t.org}", json={"status": "disabled"}, headers=t.root.headers)
    assert r.status_code == 200
    before = await state(api)
    r = await api.client.post(f"/org/{t.org}/key", json={"name": "x"}, headers=t.user.headers)
    assert r.status_code == 409 and error_code(r) == "org_disabled"
    assert await state(api) == before


async def _keyset(api: Api, t: Team) -> dict[str, dict]:
    """Keys of user, user2 and admin; one of user's revoked, one expired (written directly)."""
    made = {
        "u1": await _create(api, t.user, t.org, "u1"),
        "u1-revoked": await _create(api, t.user, t.org, "u1-revoked"),
        "u2": await _create(api, t.user2, t.org, "u2"),
        "adm": await _create(api, t.admin, t.org, "adm"),
    }
    r = await api.client.delete(f"/org/{t.org}/key/{made['u1-revoked']['id']}", headers=t.user.headers)
    assert r.status_code == 200
    issued = generate_api_key()
    async with api.sm() as s, s.begin():
        row = await ApiKeyRepository(s).create(
            key_hash=issued.key_hash,
            prefix=issued.prefix,
            user_id=t.user.id,
            org_id=t.org,
            name="u1-expired",
            expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        made["u1-expired"] = {"id": str(row.id)}
    return made


async def test_list_by_role_and_filters(api: Api) -> None:
    t = await team(api)
    made = await _keyset(api, t)
    ids = {name: k["id"] for name, k in made.items()}

    async def names(who: User, **params: object) -> set[str]:
        rows = await walk(api.client, f"/org/{t.org}/key", who.headers, **params)
        for row in rows:
            assert "key" not in row and "key_hash" not in row and row["org_id"] == str(t.org)
        return {name for name, i in ids.items() if i in {row["id"] for row in rows}}

    assert await names(t.admin) == set(ids)
    assert await names(t.root) == set(ids)
    assert await names(t.user) == {"u1", "u1-revoked", "u1-expired"}
    assert await names(t.user2) == {"u2"}
    assert await names(t.user, owner=str(t.user2.id)) == set()  # never another user's keys
    assert await names(t.admin, owner="me") == {"adm"}
    assert await names(t.admin, owner=str(t.user.id)) == {"u1", "u1-revoked", "u1-expired"}
    assert await names(t.admin, status="active") == {"u1", "u2", "adm"}
    assert await names(t.admin, status="revoked") == {"u1-revoked"}
    assert await names(t.admin, status="expired") == {"u1-expired"}
    assert await names(t.user, status="active") == {"u1"}

    r = await api.client.get(f"/org/{t.org}/key", params={"status": "expired"}, headers=t.admin.headers)
    row = r.json()["data"][0]
    assert row["status"] == "expired" and row["owner"] == {"id": str(t.user.id), "email": t.user.email}
    assert r.json()["count"] == 1

    r = await api.client.get(f"/org/{t.org}/key", headers=t.outsider.headers)
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert (await api.client.get(f"/org/{uuid.uuid4()}/key", headers=t.root.headers)).status_code == 404
    for params in ({"owner": "someone"}, {"cursor": "x"}):
        r = await api.client.get(f"/org/{t.org}/key", params=params, headers=t.admin.headers)
        assert r.status_code == 422, r.text
    for params in ({"status": "lost"}, {"limit": 501}):
        r = await api.client.get(f"/org/{t.org}/key", params=params, headers=t.admin.headers)
        assert r.status_code == 400, r.text


async def test_paging_has_no_duplicates_or_gaps_even_with_inserts_meanwhile(api: Api) -> None:
    t = await team(api)
    made = [(await _create(api, t.user, t.org, f"k{i}"))["id"] for i in range(11)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        r = await api.client.get(f"/org/{t.org}/key", params=params, headers=t.user.headers)
        body = r.json()
        assert body["count"] >= 11 and len(body["data"]) <= 4
        seen += [row["id"] for row in body["data"]]
        if len(seen) == 4:
            await _create(api, t.user, t.org, "late")  # newer than every page: not in this walk
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))  # newest first, each once


async def test_revocation_reaches_the_gateway_within_one_second(
    api: Api, gateway: KeyAuthenticator, redis: Redis
) -> None:
    t = await team(api)
    body = await _create(api, t.user, t.org)
    bearer = f"Bearer {body['key']}"
    await gateway.authenticate(bearer)  # cached in this replica and in Redis
    key_hash = hash_api_key(body["key"])
    assert await redis.get(entry_key(key_hash)) not in (None, INVALID_MARKER)

    pubsub = redis.pubsub()
    await pubsub.subscribe(CHANNEL)
    try:
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
        mark = await last_audit_id(api)
        r = await api.client.delete(f"/org/{t.org}/key/{body['id']}", headers=t.user.headers)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "revoked" and r.json()["revoked_at"] is not None
        assert await _refused(gateway, bearer) < 1.0
        messages = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and f"key:{key_hash}" not in messages:
            m = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if m is not None:
                messages.append(m["data"].decode() if isinstance(m["data"], bytes) else m["data"])
        assert f"key:{key_hash}" in messages
    finally:
        await pubsub.aclose()
    assert await redis.get(entry_key(key_hash)) == INVALID_MARKER  # tombstone, not a live entry
    audit = await one_new_row(api, mark)
    assert (audit.action_type, audit.org_id, audit.user_id_performing_action) == (
        "key_revoked",
        t.org,
        t.user.id,
    )
    assert audit.payload == {
        "key_id": body["id"],
        "name": "ci",
        "prefix": body["prefix"],
        "owner_id": str(t.user.id),
    }


async def test_who_may_revoke(api: Api, gateway: KeyAuthenticator) -> None:
    t = await team(api)
    k_user = await _create(api, t.user, t.org, "a")
    k_user2 = await _create(api, t.user2, t.org, "b")
    k_admin = await _create(api, t.admin, t.org, "c")
    other_user = await api.user(org_id=t.other_org, role=OrgRole.ORG_USER)
    k_other = await _create(api, other_user, t.other_org, "d")
    before = await state(api)
    for who, org, key in (
        (t.user, t.org, k_user2),  # another user's key: looks absent
        (t.user, t.org, k_admin),
        (t.outsider, t.org, k_user),  # admin of another org
        (t.admin, t.org, k_other),  # key of another org under this org's path
        (t.admin, t.other_org, k_other),  # not a member there
        (t.admin, t.org, {"id": str(uuid.uuid4())}),
    ):
        r = await api.client.delete(f"/org/{org}/key/{key['id']}", headers=who.headers)
        assert r.status_code == 404, r.text
        assert error_code(r) == "not_found"
    assert await state(api) == before
    await gateway.authenticate(f"Bearer {k_user2['key']}")  # untouched

    assert (
        await api.client.delete(f"/org/{t.org}/key/{k_user2['id']}", headers=t.admin.headers)
    ).status_code == 200
    r = await api.client.delete(f"/org/{t.other_org}/key/{k_other['id']}", headers=t.root.headers)
    assert r.status_code == 200 and r.json()["owner"]["email"] == other_user.email
    await _refused(gateway, f"Bearer {k_other['key']}")

    before = await state(api)
    r = await api.client.delete(f"/org/{t.org}/key/{k_user2['id']}", headers=t.admin.headers)
    assert r.status_code == 409 and error_code(r) == "key_already_revoked"
    assert await state(api) == before


async def test_removed_member_cannot_list_or_revoke(api: Api) -> None:
    t = await team(api)
    k = await _create(api, t.user, t.org)
    async with api.sm() as s, s.begin():
        await MembershipRepository(s).remove(t.user.id, t.org)
    assert (await api.client.get(f"/org/{t.org}/key", headers=t.user.headers)).status_code == 404
    assert (await api.client.delete(f"/org/{t.org}/key/{k['id']}", headers=t.user.headers)).status_code == 404
    async with api.sm() as s:
        assert (await s.scalar(select(ApiKey.revoked_at).where(ApiKey.id == uuid.UUID(k["id"])))) is None
