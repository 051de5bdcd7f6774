"""First-run bootstrap: the initial System Admin, the mappings of the shipped engines."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.repositories.audit import AuditRepository
from ias_serve.db.repositories.model_mappings import ModelMappingRepository
from ias_serve.db.repositories.users import UserRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.emails import normalize_email
from ias_serve.domain.model_mappings import BackendKind
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


DEFAULT_MODELS: tuple[tuple[str, BackendKind, str], ...] = (
    # public name, backend kind, target (a Serve engine of serve_config.yaml's gateway app)
    ("echo-model", BackendKind.SERVE, "echo-model"),
)


async def ensure_default_models(
    sessionmaker: async_sessionmaker[AsyncSession],
    models: tuple[tuple[str, BackendKind, str], ...] = DEFAULT_MODELS,
) -> list[str]:
    """Create the model mappings of the engines IAS ships, where no mapping of that name exists
    (an existing one, changed or disabled by an admin, is left alone). Returns the names created."""
    created = []
    async with sessionmaker() as session:
        repo = ModelMappingRepository(session)
        for name, kind, target in models:
            async with session.begin():
                if await repo.get_by_name(name) is not None:
                    continue
                try:
                    await repo.create(name, kind, target)
                except Conflict:  # created concurrently
                    continue
                await AuditRepository(session).record(
                    AuditAction.MODEL_ADDED,
                    payload={"name": name, "backend_kind": kind.value, "target": target},
                )
                created.append(name)
    return created


def bootstrap(
    url: str, email: str, password: str, models: tuple[tuple[str, BackendKind, str], ...] = ()
) -> tuple[bool, list[str]]:
    """From synchronous code (``ias up``, the chart's migration Job): :func:`ensure_system_admin`
    and :func:`ensure_default_models` on the database ``url``, with an engine of their own.
    Returns (whether the admin was created, the model mappings created)."""

    async def run() -> tuple[bool, list[str]]:
        engine = make_engine(url)
        try:
            sessions = make_sessionmaker(engine)
            created = await ensure_system_admin(sessions, email, password)
            return created, await ensure_default_models(sessions, models)
        finally:
            await engine.dispose()

    return asyncio.run(run())
