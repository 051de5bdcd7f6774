"""Members of an org: list, change role, remove (keys revoked in PostgreSQL and the gateway's
Redis cache, sessions ended when no org is left), the last-Org-Admin guard, who may — and one
audit row per write, none for a refused one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ias_serve.cache.key_store import MISS
from ias_serve.db.repositories import ApiKeyRepository, MembershipRepository
from ias_serve.domain.keys import generate_api_key
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.roles import OrgRole
from ias_serve.errors import Conflict
from ias_serve.services.management.members import MemberService
from tests.component.identity_helpers import Identity, error, identity_api
from tests.component.mgmt_harness import User


@pytest.fixture
async def idt(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Identity]:
    async with identity_api(database_url, redis_url, tmp_path) as ident:
        yield ident


async def _key(idt: Identity, user: User, org: uuid.UUID) -> tuple[uuid.UUID, str]:
    """A live key of ``user`` in ``org``, also cached in Redis as the gateway would."""
    issued = generate_api_key()
    async with idt.api.sm() as s, s.begin():
        row = await ApiKeyRepository(s).create(
            key_hash=issued.key_hash, prefix=issued.prefix, user_id=user.id, org_id=org, name="ci"
        )
        principal = await ApiKeyRepository(s).find_principal_by_hash(issued.key_hash)
    assert principal is not None and idt.api.ctx.keys is not None
    assert await idt.api.ctx.keys.fill(issued.key_hash, principal)
    return row.id, issued.key_hash


async def _team(idt: Identity) -> tuple[uuid.UUID, User, User]:
    org = await idt.api.org()
    return (
        org,
        await idt.api.user(org_id=org, role=OrgRole.ORG_ADMIN),
        await idt.api.user(org_id=org, role=OrgRole.ORG_USER),
    )


async def test_list_members(idt: Identity) -> None:
    org, admin, member = await _team(idt)
    other_org, other_admin, _ = await _team(idt)
    root = await idt.api.user(system_admin=True)
    for who in (admin, root):
        r = await idt.client.get(f"/api/org/{org}/user", headers=who.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == 2
        rows = {m["id"]: m for m in body["data"]}
        assert rows[str(admin.id)]["role"] == "org_admin" and rows[str(member.id)]["role"] == "org_user"
        assert set(rows[str(member.id)]) == {"id", "email", "name", "role", "status", "joined_at"}
    page = (await idt.client.get(f"/api/org/{org}/user?limit=1&offset=1", headers=admin.headers)).json()
    assert len(page["data"]) == 1 and page["count"] == 2

    error(await idt.client.get(f"/api/org/{org}/user", headers=member.headers), 403, "permission_denied")
    error(await idt.client.get(f"/api/org/{org}/user", headers=other_admin.headers), 404, "not_found")
    error(await idt.client.get(f"/api/org/{uuid.uuid4()}/user", headers=root.headers), 404)
    error(await idt.client.get(f"/api/org/{org}/user?limit=0", headers=admin.headers), 400)
    error(await idt.client.get(f"/api/org/{org}/user"), 401)
    assert other_org != org


async def test_change_role_and_the_last_admin_guard(idt: Identity) -> None:
    org, admin, member = await _team(idt)
    patch = idt.client.patch

    before = await idt.last_audit_id()
    error(
        await patch(f"/api/org/{org}/user/{admin.id}", json={"role": "org_user"}, headers=admin.headers),
        409,
        "last_org_admin",
    )
    error(
        await patch(f"/api/org/{org}/user/{member.id}", json={"role": "org_admin"}, headers=member.headers),
        403,
    )
    error(
        await patch(f"/api/org/{org}/user/{uuid.uuid4()}", json={"role": "org_admin"}, headers=admin.headers),
        404,
    )
    error(await patch(f"/api/org/{org}/user/{member.id}", json={"role": "owner"}, headers=admin.headers), 400)
    error(
        await patch(
            f"/api/org/{org}/user/{member.id}", json={"role": "org_admin", "x": 1}, headers=admin.headers
        ),
        400,
    )
    error(await patch(f"/api/org/{org}/user/{member.id}", json={}, headers=admin.headers), 400)
    await idt.no_audit(before)

    r = await patch(f"/api/org/{org}/user/{member.id}", json={"role": "org_admin"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "org_admin" and r.json()["email"] == member.email
    row = await idt.one_audit(before, "user_role_changed")
    assert row.org_id == org and row.user_id_performing_action == admin.id
    assert row.payload == {
        "user_id": str(member.id),
        "role": "org_admin",
        "previous_role": "org_user",
        "email": member.email,
    }

    # two admins now: the first may step down, then the second is the last one
    before = await idt.last_audit_id()
    r = await patch(f"/api/org/{org}/user/{admin.id}", json={"role": "org_user"}, headers=admin.headers)
    assert r.status_code == 200
    r = await patch(f"/api/org/{org}/user/{member.id}", json={"role": "org_user"}, headers=member.headers)
    error(r, 409, "last_org_admin")
    await idt.one_audit(before, "user_role_changed")


async def test_remove_revokes_keys_sessions_and_is_audited(idt: Identity) -> None:
    org, admin, member = await _team(idt)
    key_id, key_hash = await _key(idt, member, org)
    store = idt.api.ctx.keys
    assert store is not None and await store.get(key_hash) not in (None, MISS)

    before = await idt.last_audit_id()
    r = await idt.client.delete(f"/api/org/{org}/user/{member.id}", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "user_id": str(member.id),
        "org_id": str(org),
        "keys_revoked": 1,
        "sessions_revoked": 1,
    }
    row = await idt.one_audit(before, "user_removed")
    assert row.org_id == org and row.user_id_performing_action == admin.id
    assert row.payload | {"email": None} == {
        "user_id": str(member.id),
        "email": None,
        "role": "org_user",
        "keys_revoked": 1,
        "sessions_revoked": 1,
    }

    async with idt.api.sm() as s:
        key = await ApiKeyRepository(s).get(key_id)
        assert key is not None and key.revoked_at is not None
        assert await MembershipRepository(s).get(member.id, org) is None
    assert await store.get(key_hash) is None  # tombstoned for every gateway replica
    error(await idt.client.get("/api/auth/me", headers=member.headers), 401)  # no org left: logged out
    r = await idt.client.delete(f"/api/org/{org}/user/{member.id}", headers=admin.headers)
    error(r, 404)


async def test_remove_keeps_sessions_while_another_membership_remains(idt: Identity) -> None:
    org, admin, member = await _team(idt)
    second = await idt.api.org()
    async with idt.api.sm() as s, s.begin():
        await MembershipRepository(s).add(member.id, second, OrgRole.ORG_USER)
    r = await idt.client.delete(f"/api/org/{org}/user/{member.id}", headers=admin.headers)
    assert r.json()["sessions_revoked"] == 0 and r.json()["keys_revoked"] == 0
    assert (await idt.client.get("/api/auth/me", headers=member.headers)).status_code == 200


async def test_remove_without_revoking_keys(database_url: str, redis_url: str, tmp_path: Path) -> None:
    async with identity_api(database_url, redis_url, tmp_path, remove_member_revokes_keys=False) as idt:
        org, admin, member = await _team(idt)
        key_id, key_hash = await _key(idt, member, org)
        r = await idt.client.delete(f"/api/org/{org}/user/{member.id}", headers=admin.headers)
        assert r.status_code == 200 and r.json()["keys_revoked"] == 0
        async with idt.api.sm() as s:
            key = await ApiKeyRepository(s).get(key_id)
            assert key is not None and key.revoked_at is None  # kept ...
            assert await ApiKeyRepository(s).find_principal_by_hash(key_hash) is None  # ... but refused
        assert idt.api.ctx.keys is not None and await idt.api.ctx.keys.get(key_hash) is MISS  # forgotten


async def test_remove_refusals_write_nothing(idt: Identity) -> None:
    org, admin, member = await _team(idt)
    _, other_admin, _ = await _team(idt)
    root = await idt.api.user(system_admin=True)
    delete = idt.client.delete
    before = await idt.last_audit_id()
    error(await delete(f"/api/org/{org}/user/{admin.id}", headers=admin.headers), 409, "last_org_admin")
    error(await delete(f"/api/org/{org}/user/{admin.id}", headers=root.headers), 409, "last_org_admin")
    error(await delete(f"/api/org/{org}/user/{admin.id}", headers=member.headers), 403)
    error(await delete(f"/api/org/{org}/user/{member.id}", headers=other_admin.headers), 404)
    error(await delete(f"/api/org/{org}/user/{root.id}", headers=root.headers), 404)  # not a member
    error(await delete(f"/api/org/{org}/user/not-a-uuid", headers=admin.headers), 400)
    await idt.no_audit(before)

    # a System Admin removes in any org
    r = await delete(f"/api/org/{org}/user/{member.id}", headers=root.headers)
    assert r.status_code == 200
    assert (await idt.one_audit(before, "user_removed")).user_id_performing_action == root.id


async def test_two_admins_removing_each_other_at_once_leave_one(
    idt: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests already passed authorisation (as admins) when they reach the guard: the
    per-org lock lets one remove, the other then finds the last admin and gets 409. The admin
    count is slowed down so that, without the lock, both would count 2 before either deletes."""
    count = MembershipRepository.count

    async def slow_count(self: MembershipRepository, *args: Any, **kwargs: Any) -> int:
        n = await count(self, *args, **kwargs)
        await asyncio.sleep(0.3)
        return n

    monkeypatch.setattr(MembershipRepository, "count", slow_count)
    org, a, _ = await _team(idt)
    b = await idt.api.user(org_id=org, role=OrgRole.ORG_ADMIN)

    def admin(u: User) -> SessionPrincipal:
        return SessionPrincipal(
            user_id=u.id, email=u.email, is_system_admin=False, memberships={org: OrgRole.ORG_ADMIN}
        )

    service = MemberService(idt.api.ctx)
    before = await idt.last_audit_id()
    results = await asyncio.gather(
        service.remove(admin(a), org, b.id), service.remove(admin(b), org, a.id), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "MemberRemoved"], results
    assert next(r for r in results if isinstance(r, Conflict)).code == "last_org_admin"
    async with idt.api.sm() as s:
        assert await MembershipRepository(s).count(org, roles=[OrgRole.ORG_ADMIN]) == 1
    await idt.one_audit(before, "user_removed")
