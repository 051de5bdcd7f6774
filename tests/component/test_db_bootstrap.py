"""First System Admin bootstrap."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.db.bootstrap import ensure_system_admin
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.repositories import AuditRepository, UserRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.passwords import verify_password
from ias_serve.domain.validation import InvalidValue

PASSWORD = "first-admin-password"


@pytest.fixture
async def sm(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def _email() -> str:
    return f"Admin.{uuid.uuid4().hex[:8]}@IAS.local"


async def test_bootstrap_creates_once_and_never_changes_the_password(
    sm: async_sessionmaker[AsyncSession],
) -> None:
    addr = _email()
    assert await ensure_system_admin(sm, addr, PASSWORD) is True
    assert await ensure_system_admin(sm, addr, "another-password-entirely") is False
    assert await ensure_system_admin(sm, addr.lower(), PASSWORD) is False  # any case
    async with sm() as s:
        user = await UserRepository(s).get_by_email(addr)
        assert user is not None
        assert user.is_system_admin and user.email == addr.lower()
        assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
        assert verify_password(user.password_hash, PASSWORD)
        assert not verify_password(user.password_hash, "another-password-entirely")
        rows = await AuditRepository(s).list_entries(
            user_id=user.id, action_type=AuditAction.SYSTEM_ADMIN_BOOTSTRAPPED
        )
        assert len(rows) == 1
        assert rows[0].payload["email"] == addr.lower()
        assert rows[0].payload["user_id"] == str(user.id)
        flat = str(rows[0].payload)
        assert PASSWORD not in flat and "password" not in flat


async def test_bootstrap_does_not_promote_an_existing_user(sm: async_sessionmaker[AsyncSession]) -> None:
    addr = _email()
    async with sm() as s, s.begin():
        await UserRepository(s).create(addr)
    assert await ensure_system_admin(sm, addr, PASSWORD) is False
    async with sm() as s:
        user = await UserRepository(s).get_by_email(addr)
        assert user is not None and not user.is_system_admin and user.password_hash is None


async def test_concurrent_bootstraps_create_exactly_one(sm: async_sessionmaker[AsyncSession]) -> None:
    addr = _email()
    results = await asyncio.gather(*(ensure_system_admin(sm, addr, PASSWORD) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    async with sm() as s:
        user = await UserRepository(s).get_by_email(addr)
        assert user is not None
        rows = await AuditRepository(s).list_entries(
            user_id=user.id, action_type=AuditAction.SYSTEM_ADMIN_BOOTSTRAPPED
        )
        assert len(rows) == 1


@pytest.mark.parametrize(("addr", "pw"), [("not-an-email", PASSWORD), ("ok@ias.local", "short")])
async def test_bootstrap_rejects_bad_input(sm: async_sessionmaker[AsyncSession], addr: str, pw: str) -> None:
    with pytest.raises(InvalidValue):
        await ensure_system_admin(sm, addr.replace("ok@", f"ok{uuid.uuid4().hex[:6]}@"), pw)
