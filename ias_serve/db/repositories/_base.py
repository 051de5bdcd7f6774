"""Shared plumbing of the repositories: error translation, savepoints, the UNSET marker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import Enum
from typing import Any, Final, Literal, NoReturn, TypeVar

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ias_serve.errors import Conflict, NotFound, ValidationFailed


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]
"""Type of :data:`UNSET`: "leave this column as it is" where ``None`` is a meaningful value."""

MAX_PAGE = 1000
M = TypeVar("M")

# unique / primary key constraint → (param, message)
_CONFLICTS: dict[str, tuple[str, str]] = {
    "uq_organizations_name_lower": ("name", "an organisation with this name already exists"),
    "uq_users_email_lower": ("email", "a user with this e-mail address already exists"),
    "pk_memberships": ("user_id", "the user is already a member of this organisation"),
    "uq_invites_token_hash": ("token", "an invite with this token already exists"),
    "uq_sessions_token_hash": ("token", "a session with this token already exists"),
    "uq_api_keys_key_hash": ("key", "an API key with this hash already exists"),
    "pk_org_budgets": ("org_id", "this organisation already has a budget"),
    "uq_model_mappings_name": ("name", "a model mapping with this name already exists"),
}

# foreign key constraint → what is missing
_MISSING = {"organizations": ("org_id", "organisation"), "users": ("user_id", "user")}


def _driver_error(exc: IntegrityError) -> Any:
    orig = exc.orig
    return getattr(orig, "driver_exception", None) or getattr(orig, "__cause__", None) or orig


def constraint_name(exc: IntegrityError) -> str | None:
    """Name of the violated constraint (asyncpg or psycopg), if the driver reports it."""
    err = _driver_error(exc)
    name = getattr(err, "constraint_name", None)
    if name is None and (diag := getattr(err, "diag", None)) is not None:
        name = getattr(diag, "constraint_name", None)
    return name


def sqlstate(exc: IntegrityError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def raise_translated(exc: IntegrityError) -> NoReturn:
    """Unique → :class:`Conflict`, FK → :class:`NotFound`, check/not-null → :class:`ValidationFailed`."""
    name = constraint_name(exc) or ""
    state = sqlstate(exc)
    if state == "23505":
        param, message = _CONFLICTS.get(
            name, (None, f"duplicate value violates {name or 'a unique constraint'}")
        )
        raise Conflict(message, param=param) from exc
    if state == "23503":
        referred = name.rsplit("_", 1)[-1] if name else ""
        param, what = _MISSING.get(referred, (None, "referenced row"))
        raise NotFound(f"{what} not found", param=param) from exc
    if state in {"23514", "23502"}:
        raise ValidationFailed(f"invalid value (violates {name or 'a constraint'})") from exc
    raise exc


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """Run writes in a SAVEPOINT; integrity errors roll back only it and are translated.

    The caller's transaction stays usable after a :class:`Conflict` (e.g. to write an audit row
    or try another name).
    """
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as exc:
        raise_translated(exc)


def page(limit: int, offset: int = 0) -> tuple[int, int]:
    """Clamp paging arguments: 1 ≤ limit ≤ :data:`MAX_PAGE`, offset ≥ 0."""
    return max(1, min(int(limit), MAX_PAGE)), max(0, int(offset))


class Repository:
    """Base: a repository wraps one ``AsyncSession``; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _update_by_id(
        self, model: type[M], row_id: Any, values: dict[str, Any], missing: NotFound
    ) -> M:
        """UPDATE one row by primary key and return it refreshed (``missing`` when it is gone)."""
        stmt = (
            update(model)
            .where(model.id == row_id)  # type: ignore[attr-defined]
            .values(**values)
            .returning(model)
            .execution_options(populate_existing=True)
        )
        async with savepoint(self.session):
            row = await self.session.scalar(stmt)
        if row is None:
            raise missing
        return row

    async def _add(self, obj: Any) -> None:
        async with savepoint(self.session):
            self.session.add(obj)
            await self.session.flush()
