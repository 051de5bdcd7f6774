"""The audit log: recorded in the caller's transaction, queryable, and insert-only in the database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.repositories import AuditRepository, OrgRepository
from ias_serve.domain.audit import REDACTED, AuditAction


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def sm(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


async def test_record_redacts_and_reads_back(sm: async_sessionmaker[AsyncSession]) -> None:
    org_id, actor = uuid.uuid4(), uuid.uuid4()
    async with sm() as s, s.begin():
        entry = await AuditRepository(s).record(
            AuditAction.USER_INVITED,
            org_id=org_id,
            user_id=actor,
            payload={
                "email": "a@b.c",
                "password": "hunter2hunter2",
                "invite": {"token": "iasi_x"},
                "id": org_id,
            },
        )
        assert isinstance(entry.id, int) and entry.ts.tzinfo is not None
    async with sm() as s:
        got = await AuditRepository(s).get(entry.id)
        assert got is not None
        assert got.action_type == "user_invited"
        assert (got.org_id, got.user_id_performing_action) == (org_id, actor)
        assert got.payload == {
            "email": "a@b.c",
            "password": REDACTED,
            "invite": {"token": REDACTED},
            "id": str(org_id),
        }


async def test_record_defaults(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm() as s, s.begin():
        entry = await AuditRepository(s).record("custom_action")
        assert entry.payload == {} and entry.org_id is None and entry.user_id_performing_action is None


async def test_audit_row_rolls_back_with_its_change(sm: async_sessionmaker[AsyncSession]) -> None:
    org_id = uuid.uuid4()
    name = f"rolled-{uuid.uuid4().hex[:8]}"
    async with sm() as s:
        async with s.begin():
            org = await OrgRepository(s).create(name)
            await AuditRepository(s).record(AuditAction.ORG_CREATED, org_id=org_id, payload={"name": name})
            await s.rollback()
    async with sm() as s:
        assert await AuditRepository(s).list_entries(org_id=org_id) == []
        assert await OrgRepository(s).get(org.id) is None


async def test_list_filters_and_keyset_paging(sm: async_sessionmaker[AsyncSession]) -> None:
    org_a, org_b, actor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with sm() as s, s.begin():
        repo = AuditRepository(s)
        ids_a = [
            (await repo.record(AuditAction.KEY_CREATED, org_id=org_a, user_id=actor, payload={"i": i})).id
            for i in range(5)
        ]
        revoked = await repo.record(AuditAction.KEY_REVOKED, org_id=org_a)
        await repo.record(AuditAction.KEY_CREATED, org_id=org_b)
    async with sm() as s:
        repo = AuditRepository(s)
        all_a = await repo.list_entries(org_id=org_a)
        assert [e.id for e in all_a] == [revoked.id, *reversed(ids_a)]  # newest first
        assert {e.org_id for e in all_a} == {org_a}
        created = await repo.list_entries(org_id=org_a, action_type=AuditAction.KEY_CREATED)
        assert [e.id for e in created] == list(reversed(ids_a))
        assert [e.id for e in await repo.list_entries(org_id=org_a, user_id=actor)] == list(reversed(ids_a))

        # keyset paging by id
        pages, before = [], None
        while True:
            chunk = await repo.list_entries(org_id=org_a, limit=2, before_id=before)
            if not chunk:
                break
            pages.append([e.id for e in chunk])
            before = chunk[-1].id
        assert pages == [[revoked.id, ids_a[4]], [ids_a[3], ids_a[2]], [ids_a[1], ids_a[0]]]

        # time window: since inclusive, until exclusive
        ts = all_a[0].ts  # one transaction: all rows share now()
        assert len(await repo.list_entries(org_id=org_a, since=ts)) == 6
        assert await repo.list_entries(org_id=org_a, until=ts) == []
        assert await repo.list_entries(org_id=org_a, since=ts + timedelta(microseconds=1)) == []
        assert len(await repo.list_entries(org_id=org_a, until=datetime.now(UTC) + timedelta(minutes=1))) == 6
        # no org filter: every org (System Admin view)
        assert {org_a, org_b} <= {e.org_id for e in await repo.list_entries(limit=1000)}


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET action_type = 'tampered' WHERE id = :id",
        "UPDATE audit_log SET payload = '{}'::jsonb",
        "DELETE FROM audit_log WHERE id = :id",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
async def test_audit_log_is_insert_only_in_the_database(
    sm: async_sessionmaker[AsyncSession], engine: AsyncEngine, sql: str
) -> None:
    async with sm() as s, s.begin():
        entry = await AuditRepository(s).record(AuditAction.ORG_UPDATED, payload={"before": 1})
    async with engine.connect() as conn:
        with pytest.raises(DBAPIError) as exc:
            await conn.execute(text(sql), {"id": entry.id})
        assert "audit_log is insert-only" in str(exc.value)
        await conn.rollback()
    async with sm() as s:
        again = await AuditRepository(s).get(entry.id)
        assert again is not None and again.action_type == "org_updated" and again.payload == {"before": 1}


def test_audit_log_is_insert_only_for_a_raw_superuser_connection(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO audit_log (action_type, payload) VALUES ('raw', '{\"x\": 1}') RETURNING id"
        ).fetchone()
        assert row is not None
        for sql in (
            "UPDATE audit_log SET action_type = 'x' WHERE id = %s",
            "DELETE FROM audit_log WHERE id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql, (row[0],))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE audit_log")
        with pytest.raises(psycopg.errors.GeneratedAlways):  # ids cannot be forged either
            conn.execute("INSERT INTO audit_log (id, action_type) VALUES (1, 'forged')")
        assert conn.execute("SELECT action_type FROM audit_log WHERE id = %s", (row[0],)).fetchone() == (
            "raw",
        )
