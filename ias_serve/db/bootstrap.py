"""First-run bootstrap: the initial System Admin."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.db.repositories.audit import AuditRepository
from ias_serve.db.repositories.users import UserRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.emails import normalize_email
from ias_serve.domain.passwords import hash_password
from ias_serve.errors import Conflict


async def ensure_system_admin(
    sessionmaker: async_sessionmaker[AsyncSession], email: str, password: str, *, name: str = "System Admin"
) -> bool:
    """Create a System Admin ``email`` unless a user with that address exists.

    Returns True when created (with an audit row ``system_admin_bootstrapped`` in the same
    transaction, payload without the password), False when the user already existed; an
    existing user is never changed (not its password, not its admin flag). Safe to run
    concurrently from several processes. Raises :class:`ias_serve.domain.InvalidValue` for a
    malformed e-mail or a password shorter than the policy allows.
    """
    address = normalize_email(email)
    async with sessionmaker() as session:
        users = UserRepository(session)
        async with session.begin():
            if await users.get_by_email(address) is not None:
                return False
        # validates the policy; argon2 is slow: off the event loop, outside any transaction
        password_hash = await asyncio.to_thread(hash_password, password)
        async with session.begin():
            try:
                user = await users.create(
                    address, name=name, password_hash=password_hash, is_system_admin=True
                )
            except Conflict:  # created concurrently by another process
                return False
            await AuditRepository(session).record(
                AuditAction.SYSTEM_ADMIN_BOOTSTRAPPED,
                user_id=user.id,
                payload={"email": address, "user_id": user.id, "name": user.name},
            )
        return True
