"""Repositories against a real PostgreSQL (one migrated database per module, unique names per test)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.db.models import Organization, User
from ias_serve.db.repositories import (
    ApiKeyRepository,
    BudgetRepository,
    InviteRepository,
    MembershipRepository,
    ModelMappingRepository,
    OrgRepository,
    SessionRepository,
    UserRepository,
)
from ias_serve.domain.keys import generate_api_key
from ias_serve.domain.model_mappings import BackendKind
from ias_serve.domain.roles import OrgRole, Status
from ias_serve.domain.tokens import TokenKind, issue_token
from ias_serve.domain.validation import InvalidValue
from ias_serve.errors import Conflict, NotFound, ValidationFailed

SM = async_sessionmaker[AsyncSession]


def uniq(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def email(prefix: str = "user") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.com"


async def org_and_user(s: AsyncSession, role: OrgRole = OrgRole.ORG_USER) -> tuple[Organization, User]:
    org = await OrgRepository(s).create(uniq("org"))
    user = await UserRepository(s).create(email(), name="Dev")
    await MembershipRepository(s).add(user.id, org.id, role)
    return org, user


# --- organisations -----------------------------------------------------------------------


async def test_org_crud(sm: SM) -> None:
    name = uniq("Acme")
    async with sm() as s, s.begin():
        repo = OrgRepository(s)
        org = await repo.create(f"  {name}  ")
        assert org.name == name and org.status is Status.ACTIVE
        assert isinstance(org.id, uuid.UUID)
        assert org.created_at.tzinfo is not None and org.updated_at.tzinfo is not None
    async with sm() as s, s.begin():
        repo = OrgRepository(s)
        assert (await repo.require(org.id)).name == name
        assert (await repo.get_by_name(name.upper())).id == org.id  # type: ignore[union-attr]
        assert await repo.get(uuid.uuid4()) is None
        updated = await repo.update(org.id, status=Status.DISABLED)
        assert updated.status is Status.DISABLED and updated.name == name
        assert updated.updated_at >= org.updated_at
        assert (await repo.update(org.id)).id == org.id  # no change
        assert org.id in {o.id for o in await repo.list_orgs(status=Status.DISABLED, limit=1000)}
        assert org.id not in {o.id for o in await repo.list_orgs(status=Status.ACTIVE, limit=1000)}
        assert await repo.count() >= await repo.count(status=Status.DISABLED) >= 1
        with pytest.raises(NotFound):
            await repo.require(uuid.uuid4())
        with pytest.raises(NotFound):
            await repo.update(uuid.uuid4(), name="nope")
        with pytest.raises(InvalidValue):
            await repo.create("   ")


async def test_duplicate_org_name_any_case_conflicts_and_tx_survives(sm: SM) -> None:
    name = uniq("Dup")
    async with sm() as s, s.begin():
        repo = OrgRepository(s)
        first = await repo.create(name)
        with pytest.raises(Conflict) as exc:
            await repo.create(name.upper())
        assert exc.value.param == "name" and exc.value.status == 409
        other = await repo.create(name + "-2")  # the transaction is still usable
        with pytest.raises(Conflict):
            await repo.update(other.id, name=name.lower())
    async with sm() as s:
        assert (await OrgRepository(s).require(first.id)).name == name
        assert (await OrgRepository(s).require(other.id)).name == name + "-2"


async def test_org_list_paging(sm: SM) -> None:
    async with sm() as s, s.begin():
        repo = OrgRepository(s)
        for i in range(3):
            await repo.create(uniq(f"page{i}"))
        first = await repo.list_orgs(limit=2)
        second = await repo.list_orgs(limit=2, offset=2)
        assert len(first) == 2
        assert not {o.id for o in first} & {o.id for o in second}


# --- users and memberships -----------------------------------------------------------------


async def test_user_crud_and_case_insensitive_email(sm: SM) -> None:
    addr = email("Alice")
    async with sm() as s, s.begin():
        users = UserRepository(s)
        user = await users.create(addr.upper(), name=" Alice ", password_hash="$argon2id$x")
        assert user.email == addr.lower() and user.name == "Alice"
        assert not user.is_system_admin and user.status is Status.ACTIVE
    async with sm() as s, s.begin():
        users = UserRepository(s)
        assert (await users.get_by_email(f"  {addr.title()} ")).id == user.id  # type: ignore[union-attr]
        with pytest.raises(Conflict) as exc:
            await users.create(addr.swapcase())
        assert exc.value.param == "email"
        changed = await users.update(user.id, name="Alice B", status=Status.DISABLED, is_system_admin=True)
        assert (changed.name, changed.status, changed.is_system_admin) == ("Alice B", Status.DISABLED, True)
        assert (await users.set_password_hash(user.id, "$argon2id$y")).password_hash == "$argon2id$y"
        assert (await users.update(user.id, password_hash=None)).password_hash is None
        assert (await users.update(user.id)).id == user.id
        new_addr = email("renamed")
        assert (await users.update(user.id, email=new_addr.upper())).email == new_addr
        with pytest.raises(NotFound):
            await users.update(uuid.uuid4(), name="x")
        with pytest.raises(NotFound):
            await users.require(uuid.uuid4())
        with pytest.raises(InvalidValue):
            await users.create("not-an-email")


async def test_email_uniqueness_is_enforced_for_raw_sql(sm: SM, database_url: str) -> None:
    addr = email("raw")
    async with sm() as s, s.begin():
        await UserRepository(s).create(addr)
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.UniqueViolation) as exc:
        conn.execute("INSERT INTO users (email) VALUES (%s)", (addr.upper(),))
    assert exc.value.diag.constraint_name == "uq_users_email_lower"


async def test_list_users_and_system_admins(sm: SM) -> None:
    async with sm() as s, s.begin():
        org, member = await org_and_user(s)
        users = UserRepository(s)
        admin = await users.create(email("root"), is_system_admin=True)
        outsider = await users.create(email("out"))
        in_org = {u.id for u in await users.list_users(org_id=org.id)}
        assert in_org == {member.id}
        admins = {u.id for u in await users.list_users(system_admins_only=True, limit=1000)}
        assert admin.id in admins and outsider.id not in admins
        assert await users.count_system_admins() >= 1
        await users.update(admin.id, status=Status.DISABLED)
        assert admin.id not in {
            u.id for u in await users.list_users(system_admins_only=True, status=Status.ACTIVE, limit=1000)
        }
        assert await users.count_system_admins(active_only=False) >= await users.count_system_admins()


async def test_memberships(sm: SM) -> None:
    async with sm() as s, s.begin():
        org, user = await org_and_user(s, OrgRole.ORG_ADMIN)
        members = MembershipRepository(s)
        m = await members.get(user.id, org.id)
        assert m is not None and m.role is OrgRole.ORG_ADMIN and m.created_at.tzinfo is not None
        with pytest.raises(Conflict) as exc:
            await members.add(user.id, org.id, OrgRole.ORG_USER)
        assert exc.value.param == "user_id"
        with pytest.raises(NotFound) as nf:
            await members.add(user.id, uuid.uuid4(), OrgRole.ORG_USER)
        assert nf.value.param == "org_id"
        with pytest.raises(NotFound) as nf:
            await members.add(uuid.uuid4(), org.id, OrgRole.ORG_USER)
        assert nf.value.param == "user_id"
        second = await UserRepository(s).create(email())
        await members.add(second.id, org.id, OrgRole.ORG_USER)
        assert await members.count(org.id) == 2
        assert await members.count(org.id, roles=[OrgRole.ORG_ADMIN]) == 1
        listed = await members.list_members(org.id)
        assert [(u.id, mm.role) for u, mm in listed] == sorted(
            [(user.id, OrgRole.ORG_ADMIN), (second.id, OrgRole.ORG_USER)],
            key=lambda t: next(u.email for u, _ in listed if u.id == t[0]),
        )
        assert [u.id for u, _ in await members.list_members(org.id, role=OrgRole.ORG_USER)] == [second.id]
        assert (await members.set_role(second.id, org.id, OrgRole.ORG_ADMIN)).role is OrgRole.ORG_ADMIN
        with pytest.raises(NotFound):
            await members.set_role(uuid.uuid4(), org.id, OrgRole.ORG_ADMIN)
        assert [mm.org_id for mm in await members.list_for_user(second.id)] == [org.id]
        assert await members.remove(second.id, org.id)
        assert not await members.remove(second.id, org.id)
        assert await members.get(second.id, org.id) is None


# --- invites ----------------------------------------------------------------------------


async def test_invites(sm: SM) -> None:
    now = datetime.now(UTC)
    async with sm() as s, s.begin():
        org, admin = await org_and_user(s, OrgRole.ORG_ADMIN)
        invites = InviteRepository(s)
        tok = issue_token(TokenKind.INVITE, 3600, now=now)
        addr = email("Invitee")
        inv = await invites.create(
            org_id=org.id,
            email=addr.upper(),
            role=OrgRole.ORG_USER,
            token_hash=tok.token_hash,
            expires_at=tok.expires_at,
            invited_by=admin.id,
        )
        assert inv.email == addr.lower() and inv.accepted_at is None
        with pytest.raises(Conflict) as exc:
            await invites.create(
                org_id=org.id,
                email=addr,
                role=OrgRole.ORG_USER,
                token_hash=tok.token_hash,
                expires_at=tok.expires_at,
            )
        assert exc.value.param == "token"
        assert (await invites.get_by_token_hash(tok.token_hash)).id == inv.id  # type: ignore[union-attr]
        assert (await invites.get_pending_by_token_hash(tok.token_hash)).id == inv.id  # type: ignore[union-attr]
        # expired from the point of view of a later clock
        later = now + timedelta(hours=2)
        assert await invites.get_pending_by_token_hash(tok.token_hash, now=later) is None
        assert await invites.accept(inv.id, user_id=admin.id, now=later) is None
        assert [i.id for i in await invites.list_for_org(org.id, pending_only=True)] == [inv.id]
        assert await invites.list_for_org(org.id, pending_only=True, now=later) == []

        accepted = await invites.accept(inv.id, user_id=admin.id)
        assert accepted is not None and accepted.accepted_at is not None and accepted.accepted_by == admin.id
        assert await invites.accept(inv.id, user_id=admin.id) is None  # only once
        assert await invites.revoke(inv.id) is None  # accepted invites cannot be revoked
        assert await invites.get_pending_by_token_hash(tok.token_hash) is None

        t2, t3 = issue_token(TokenKind.INVITE, 3600), issue_token(TokenKind.INVITE, 3600)
        for t in (t2, t3):
            await invites.create(
                org_id=org.id,
                email=addr,
                role=OrgRole.ORG_ADMIN,
                token_hash=t.token_hash,
                expires_at=t.expires_at,
            )
        assert await invites.revoke_pending_for_email(org.id, addr.upper()) == 2
        assert await invites.list_for_org(org.id, pending_only=True) == []
        assert len(await invites.list_for_org(org.id)) == 3
        t4 = issue_token(TokenKind.INVITE, 3600)
        inv4 = await invites.create(
            org_id=org.id,
            email=addr,
            role=OrgRole.ORG_USER,
            token_hash=t4.token_hash,
            expires_at=t4.expires_at,
        )
        revoked = await invites.revoke(inv4.id)
        assert revoked is not None and revoked.revoked_at is not None
        assert await invites.revoke(inv4.id) is None
        assert (await invites.get(inv4.id)).revoked_at is not None  # type: ignore[union-attr]


# --- sessions ---------------------------------------------------------------------------


async def test_sessions(sm: SM) -> None:
    now = datetime.now(UTC)
    async with sm() as s, s.begin():
        _, user = await org_and_user(s)
        sessions = SessionRepository(s)
        tok = issue_token(TokenKind.SESSION, 3600, now=now)
        sess = await sessions.create(user_id=user.id, token_hash=tok.token_hash, expires_at=tok.expires_at)
        with pytest.raises(Conflict):
            await sessions.create(user_id=user.id, token_hash=tok.token_hash, expires_at=tok.expires_at)
        with pytest.raises(NotFound):
            await sessions.create(user_id=uuid.uuid4(), token_hash="f" * 64, expires_at=tok.expires_at)
        found = await sessions.find_valid(tok.token_hash)
        assert found is not None and found[0].id == sess.id and found[1].id == user.id
        assert await sessions.find_valid(tok.token_hash, now=now + timedelta(hours=2)) is None
        assert await sessions.find_valid("0" * 64) is None
        await sessions.touch(sess.id, now=now)
        assert (await sessions.get(sess.id)).last_seen_at == now  # type: ignore[union-attr]
        assert (await sessions.get_by_token_hash(tok.token_hash)).id == sess.id  # type: ignore[union-attr]

        await UserRepository(s).update(user.id, status=Status.DISABLED)
        assert await sessions.find_valid(tok.token_hash) is None  # disabled user
        await UserRepository(s).update(user.id, status=Status.ACTIVE)

        others = [issue_token(TokenKind.SESSION, 3600) for _ in range(2)]
        for t in others:
            await sessions.create(user_id=user.id, token_hash=t.token_hash, expires_at=t.expires_at)
        assert await sessions.revoke(sess.id)
        assert not await sessions.revoke(sess.id)
        assert await sessions.find_valid(tok.token_hash) is None
        keep = await sessions.get_by_token_hash(others[0].token_hash)
        assert keep is not None
        assert await sessions.revoke_all_for_user(user.id, except_id=keep.id) == 1
        assert await sessions.find_valid(others[0].token_hash) is not None
        assert await sessions.find_valid(others[1].token_hash) is None
        assert await sessions.delete_stale(before=datetime.now(UTC) + timedelta(seconds=1)) >= 2
        assert await sessions.get(sess.id) is None
        assert await sessions.get(keep.id) is not None


# --- API keys ---------------------------------------------------------------------------


async def test_api_keys(sm: SM) -> None:
    async with sm() as s, s.begin():
        org, user = await org_and_user(s)
        keys = ApiKeyRepository(s)
        issued = generate_api_key()
        key = await keys.create(
            key_hash=issued.key_hash, prefix=issued.prefix, user_id=user.id, org_id=org.id, name=" ci "
        )
        assert key.name == "ci" and key.revoked_at is None and key.created_at.tzinfo is not None
        with pytest.raises(Conflict) as exc:
            await keys.create(key_hash=issued.key_hash, prefix="ias-x", user_id=user.id, org_id=org.id)
        assert exc.value.param == "key"
        with pytest.raises(ValidationFailed):  # check constraint: lowercase sha256 hex only
            await keys.create(key_hash="NOT-A-HASH", prefix="ias-x", user_id=user.id, org_id=org.id)
        with pytest.raises(NotFound):
            await keys.create(key_hash="a" * 64, prefix="ias-x", user_id=user.id, org_id=uuid.uuid4())
        assert (await keys.get_by_hash(issued.key_hash)).id == key.id  # type: ignore[union-attr]
        assert (await keys.find_valid_by_hash(issued.key_hash)).id == key.id  # type: ignore[union-attr]
        assert await keys.find_valid_by_hash("b" * 64) is None

        # every reason a key stops working
        await OrgRepository(s).update(org.id, status=Status.DISABLED)
        assert await keys.find_valid_by_hash(issued.key_hash) is None
        await OrgRepository(s).update(org.id, status=Status.ACTIVE)
        await UserRepository(s).update(user.id, status=Status.DISABLED)
        assert await keys.find_valid_by_hash(issued.key_hash) is None
        await UserRepository(s).update(user.id, status=Status.ACTIVE)
        assert await keys.find_valid_by_hash(issued.key_hash) is not None

        expiring = generate_api_key()
        soon = datetime.now(UTC) + timedelta(minutes=5)
        await keys.create(
            key_hash=expiring.key_hash,
            prefix=expiring.prefix,
            user_id=user.id,
            org_id=org.id,
            expires_at=soon,
        )
        assert await keys.find_valid_by_hash(expiring.key_hash) is not None
        assert await keys.find_valid_by_hash(expiring.key_hash, now=soon + timedelta(seconds=1)) is None

        revoked = await keys.revoke(key.id)
        assert revoked is not None and revoked.revoked_at is not None
        assert await keys.revoke(key.id) is None  # idempotent
        assert await keys.find_valid_by_hash(issued.key_hash) is None
        assert (await keys.get(key.id)).revoked_at is not None  # type: ignore[union-attr]


async def test_api_key_listing_member_removal_and_last_used(sm: SM) -> None:
    async with sm() as s, s.begin():
        org, alice = await org_and_user(s)
        bob = await UserRepository(s).create(email("bob"))
        await MembershipRepository(s).add(bob.id, org.id, OrgRole.ORG_USER)
        keys = ApiKeyRepository(s)
        made = {}
        for owner, n in ((alice, 2), (bob, 1)):
            for _ in range(n):
                k = generate_api_key()
                row = await keys.create(key_hash=k.key_hash, prefix=k.prefix, user_id=owner.id, org_id=org.id)
                made[row.id] = (owner.id, k.key_hash)
        assert {k.id for k in await keys.list_for_org(org.id)} == set(made)
        alice_keys = await keys.list_for_org(org.id, user_id=alice.id)
        assert {k.user_id for k in alice_keys} == {alice.id} and len(alice_keys) == 2
        assert len(await keys.list_for_user(bob.id)) == 1
        assert len(await keys.live_hashes(org_id=org.id)) == 3

        bob_hash = next(h for uid, h in made.values() if uid == bob.id)
        assert await keys.find_valid_by_hash(bob_hash) is not None
        await MembershipRepository(s).remove(bob.id, org.id)
        assert await keys.find_valid_by_hash(bob_hash) is None  # no longer a member
        assert await keys.revoke_for_member(bob.id, org.id) == [bob_hash]
        assert await keys.revoke_for_member(bob.id, org.id) == []
        assert len(await keys.list_for_org(org.id, include_revoked=False)) == 2
        assert await keys.list_for_user(bob.id, include_revoked=False) == []
        assert set(await keys.live_hashes(user_id=alice.id)) == {h for u, h in made.values() if u == alice.id}

        ids = [k.id for k in alice_keys]
        t1 = datetime(2030, 1, 1, tzinfo=UTC)
        assert await keys.touch_last_used(ids, at=t1) == 2
        assert await keys.touch_last_used(ids, at=t1 - timedelta(days=1)) == 0  # never backwards
        assert await keys.touch_last_used([]) == 0
        s.expire_all()
        assert {(await keys.get(i)).last_used_at for i in ids} == {t1}  # type: ignore[union-attr]


# --- budgets ----------------------------------------------------------------------------


async def test_budgets(sm: SM) -> None:
    async with sm() as s, s.begin():
        org, admin = await org_and_user(s, OrgRole.ORG_ADMIN)
        budgets = BudgetRepository(s)
        assert await budgets.get(org.id) is None
        assert await budgets.get_limit(org.id) is None  # no row: unlimited
        b = await budgets.set_limit(org.id, 500_000_000, updated_by=admin.id)
        assert (b.org_id, b.monthly_token_limit, b.updated_by) == (org.id, 500_000_000, admin.id)
        big = 2**62
        b2 = await budgets.set_limit(org.id, big)
        assert b2.monthly_token_limit == big and b2.updated_by is None
        assert await budgets.get_limit(org.id) == big
        assert (await budgets.set_limit(org.id, None)).monthly_token_limit is None
        with pytest.raises(ValidationFailed):
            await budgets.set_limit(org.id, -1)
        with pytest.raises(NotFound):
            await budgets.set_limit(uuid.uuid4(), 10)
        await budgets.set_limit(org.id, 0)
        assert await budgets.get_limit(org.id) == 0
        assert org.id in {x.org_id for x in await budgets.list_all()}


# --- model mappings ---------------------------------------------------------------------


async def test_model_mappings(sm: SM) -> None:
    async with sm() as s, s.begin():
        org_a, _ = await org_and_user(s)
        org_b, _ = await org_and_user(s)
        repo = ModelMappingRepository(s)
        open_name, only_a, closed = uniq("open"), uniq("only-a"), uniq("closed")
        m_open = await repo.create(
            open_name,
            BackendKind.SERVE,
            "LLMServer:test-model",
            price_per_million_input="0.15",
            price_per_million_output=Decimal("0.6"),
        )
        assert m_open.allowed_org_ids is None and m_open.enabled
        assert m_open.price_per_million_input == Decimal("0.15")
        m_a = await repo.create(
            only_a,
            "remote_url",
            "http://llama-3-8b.inference.svc.cluster.local/v1/",
            allowed_org_ids=[org_a.id],
        )
        assert m_a.backend_kind is BackendKind.REMOTE_URL
        assert m_a.target == "http://llama-3-8b.inference.svc.cluster.local/v1"
        assert m_a.allowed_org_ids == [org_a.id]
        m_closed = await repo.create(closed, BackendKind.SERVE, "echo", allowed_org_ids=[])
        with pytest.raises(Conflict) as exc:
            await repo.create(open_name, BackendKind.SERVE, "other")
        assert exc.value.param == "name"
        with pytest.raises(InvalidValue):
            await repo.create(uniq("bad"), BackendKind.REMOTE_URL, "not a url")

        mine = {m.name for m in await repo.list_for_org(org_a.id)}
        theirs = {m.name for m in await repo.list_for_org(org_b.id)}
        assert {open_name, only_a} <= mine and closed not in mine
        assert open_name in theirs and only_a not in theirs and closed not in theirs

        upd = await repo.update(
            m_a.id, allowed_org_ids=[org_b.id, org_a.id, org_b.id], price_per_million_output=2
        )
        assert upd.allowed_org_ids == sorted([org_a.id, org_b.id])
        assert upd.price_per_million_output == Decimal("2")
        assert only_a in {m.name for m in await repo.list_for_org(org_b.id)}
        await repo.update(m_a.id, allowed_org_ids=None)
        assert (await repo.require(m_a.id)).allowed_org_ids is None
        off = await repo.update(m_open.id, enabled=False, name=open_name + "-v2", price_per_million_input=1)
        assert (off.name, off.enabled, off.price_per_million_input) == (
            open_name + "-v2",
            False,
            Decimal("1"),
        )
        assert open_name + "-v2" not in {m.name for m in await repo.list_for_org(org_a.id)}
        assert open_name + "-v2" not in {m.name for m in await repo.list_mappings(enabled_only=True)}
        assert open_name + "-v2" in {m.name for m in await repo.list_mappings()}
        assert (await repo.get_by_name(open_name + "-v2")).id == m_open.id  # type: ignore[union-attr]
        with pytest.raises(InvalidValue):  # the current target is not a URL
            await repo.update(m_closed.id, backend_kind=BackendKind.REMOTE_URL)
        moved = await repo.update(
            m_closed.id, backend_kind=BackendKind.REMOTE_URL, target="https://x.example/v1"
        )
        assert (moved.backend_kind, moved.target) == (BackendKind.REMOTE_URL, "https://x.example/v1")
        assert (await repo.update(m_closed.id, target="https://y.example")).target == "https://y.example"
        assert (await repo.update(m_closed.id)).id == m_closed.id
        with pytest.raises(Conflict):
            await repo.update(m_closed.id, name=only_a)
        assert await repo.delete(m_closed.id)
        assert not await repo.delete(m_closed.id)
        with pytest.raises(NotFound):
            await repo.update(m_closed.id, enabled=True)


# --- cascades ---------------------------------------------------------------------------


async def test_deleting_an_org_cascades(sm: SM, database_url: str) -> None:
    async with sm() as s, s.begin():
        org, user = await org_and_user(s)
        k = generate_api_key()
        await ApiKeyRepository(s).create(key_hash=k.key_hash, prefix=k.prefix, user_id=user.id, org_id=org.id)
        await BudgetRepository(s).set_limit(org.id, 10, updated_by=user.id)
    async with sm() as s, s.begin():
        await s.execute(text("DELETE FROM organizations WHERE id = :id"), {"id": org.id})
    async with sm() as s:
        assert await ApiKeyRepository(s).get_by_hash(k.key_hash) is None
        assert await BudgetRepository(s).get(org.id) is None
        assert await MembershipRepository(s).get(user.id, org.id) is None
        assert await UserRepository(s).get(user.id) is not None  # users outlive their orgs


async def test_raw_integrity_error_outside_savepoint_is_sqlalchemy_error(sm: SM) -> None:
    """Sanity check of the test database: constraints exist independently of the repositories."""
    async with sm() as s:
        with pytest.raises(IntegrityError):
            await s.execute(
                text("INSERT INTO memberships (user_id, org_id, role) VALUES (:u, :o, 'org_user')"),
                {"u": uuid.uuid4(), "o": uuid.uuid4()},
            )
        await s.rollback()
