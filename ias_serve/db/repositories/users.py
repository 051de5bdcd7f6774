"""Users and their organisation memberships."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, update

from ias_serve.db.models import Membership, User
from ias_serve.db.repositories._base import UNSET, Repository, Unset, page, savepoint
from ias_serve.domain.emails import normalize_email
from ias_serve.domain.roles import OrgRole, Status
from ias_serve.domain.validation import clean_name
from ias_serve.errors import NotFound


class UserRepository(Repository):
    async def create(
        self,
        email: str,
        *,
        name: str = "",
        password_hash: str | None = None,
        is_system_admin: bool = False,
        status: Status = Status.ACTIVE,
    ) -> User:
        """The e-mail is stored case-folded; :class:`Conflict` when it exists in any case."""
        user = User(
            email=normalize_email(email),
            name=clean_name(name, allow_empty=True),
            password_hash=password_hash,
            is_system_admin=is_system_admin,
            status=status,
        )
        await self._add(user)
        return user

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def require(self, user_id: uuid.UUID) -> User:
        user = await self.get(user_id)
        if user is None:
            raise NotFound("user not found", param="user_id")
        return user

    async def get_by_email(self, email: str) -> User | None:
        """Case-insensitive lookup (uses the unique index on ``lower(email)``)."""
        stmt = select(User).where(func.lower(User.email) == func.lower(normalize_email(email)))
        return await self.session.scalar(stmt)

    async def list_users(
        self,
        *,
        org_id: uuid.UUID | None = None,
        system_admins_only: bool = False,
        status: Status | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[User]:
        """Users ordered by e-mail; ``org_id`` restricts to members of that organisation."""
        lim, off = page(limit, offset)
        stmt = select(User).order_by(User.email, User.id)
        if org_id is not None:
            stmt = stmt.join(Membership, Membership.user_id == User.id).where(Membership.org_id == org_id)
        if system_admins_only:
            stmt = stmt.where(User.is_system_admin.is_(True))
        if status is not None:
            stmt = stmt.where(User.status == status)
        return list(await self.session.scalars(stmt.limit(lim).offset(off)))

    async def update(
        self,
        user_id: uuid.UUID,
        *,
        name: str | Unset = UNSET,
        email: str | Unset = UNSET,
        status: Status | Unset = UNSET,
        is_system_admin: bool | Unset = UNSET,
        password_hash: str | Unset | None = UNSET,
    ) -> User:
        values: dict[str, object] = {}
        if name is not UNSET:
            values["name"] = clean_name(name, allow_empty=True)
        if email is not UNSET:
            values["email"] = normalize_email(email)
        if status is not UNSET:
            values["status"] = status
        if is_system_admin is not UNSET:
            values["is_system_admin"] = is_system_admin
        if password_hash is not UNSET:
            values["password_hash"] = password_hash
        if not values:
            return await self.require(user_id)
        return await self._update_by_id(User, user_id, values, NotFound("user not found", param="user_id"))

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> User:
        return await self.update(user_id, password_hash=password_hash)

    async def count_system_admins(self, *, active_only: bool = True) -> int:
        stmt = select(func.count()).select_from(User).where(User.is_system_admin.is_(True))
        if active_only:
            stmt = stmt.where(User.status == Status.ACTIVE)
        return int(await self.session.scalar(stmt) or 0)

    async def create_with_id(
        self,
        user_id: uuid.UUID,
        email: str,
        *,
        name: str = "",
        password_hash: str | None = None,
        status: Status = Status.ACTIVE,
    ) -> User:
        """:meth:`create` with an id chosen by the caller (an audited write that creates the
        user who performs it, e.g. accepting an invite, knows its actor before the insert)."""
        user = User(
            id=user_id,
            email=normalize_email(email),
            name=clean_name(name, allow_empty=True),
            password_hash=password_hash,
            is_system_admin=False,
            status=status,
        )
        await self._add(user)
        return user


class MembershipRepository(Repository):
    async def add(self, user_id: uuid.UUID, org_id: uuid.UUID, role: OrgRole) -> Membership:
        """:class:`Conflict` when already a member; :class:`NotFound` when user or org is missing."""
        # an INSERT statement rather than session.add(): a duplicate must reach the database (and
        # become a Conflict) even when the existing row is already in the identity map
        stmt = (
            insert(Membership)
            .values(user_id=user_id, org_id=org_id, role=role)
            .returning(Membership)
            .execution_options(populate_existing=True)
        )
        async with savepoint(self.session):
            return (await self.session.scalars(stmt)).one()

    async def get(self, user_id: uuid.UUID, org_id: uuid.UUID) -> Membership | None:
        return await self.session.get(Membership, (user_id, org_id))

    async def list_for_user(self, user_id: uuid.UUID) -> list[Membership]:
        stmt = select(Membership).where(Membership.user_id == user_id).order_by(Membership.created_at)
        return list(await self.session.scalars(stmt))

    async def list_members(
        self, org_id: uuid.UUID, *, role: OrgRole | None = None, limit: int = 100, offset: int = 0
    ) -> list[tuple[User, Membership]]:
        """The organisation's users with their membership, ordered by e-mail."""
        lim, off = page(limit, offset)
        stmt = (
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org_id)
            .order_by(User.email, User.id)
        )
        if role is not None:
            stmt = stmt.where(Membership.role == role)
        rows = await self.session.execute(stmt.limit(lim).offset(off))
        return [(row[0], row[1]) for row in rows]

    async def set_role(self, user_id: uuid.UUID, org_id: uuid.UUID, role: OrgRole) -> Membership:
        stmt = (
            update(Membership)
            .where(Membership.user_id == user_id, Membership.org_id == org_id)
            .values(role=role)
            .returning(Membership)
            .execution_options(populate_existing=True)
        )
        membership = await self.session.scalar(stmt)
        if membership is None:
            raise NotFound("membership not found", param="user_id")
        return membership

    async def remove(self, user_id: uuid.UUID, org_id: uuid.UUID) -> bool:
        """True when a membership was deleted (keys are revoked separately: ApiKeyRepository)."""
        stmt = (
            delete(Membership)
            .where(Membership.user_id == user_id, Membership.org_id == org_id)
            .returning(Membership.user_id)
            .execution_options(synchronize_session="fetch")
        )
        return (await self.session.scalar(stmt)) is not None

    async def count(self, org_id: uuid.UUID, *, roles: Sequence[OrgRole] | None = None) -> int:
        """Members of an org (e.g. ``roles=[OrgRole.ORG_ADMIN]`` guards removing the last admin)."""
        stmt = select(func.count()).select_from(Membership).where(Membership.org_id == org_id)
        if roles:
            stmt = stmt.where(Membership.role.in_(list(roles)))
        return int(await self.session.scalar(stmt) or 0)
