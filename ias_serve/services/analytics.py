"""Usage dashboards: the use cases behind ``/analytics`` (no Ray, no FastAPI).

Each call: the window from the query parameters (:func:`resolve_window`, 422 when
inconsistent) → the RBAC policy (:func:`authorize`: 403, or 404 for another tenant's org) →
the usage reads (ClickHouse, through an :class:`AsyncUsageReader`; for an org dashboard both
reads start first and overlap the PostgreSQL look-ups) → the names of the ids in the
breakdowns (users, keys, orgs) and the budget limit from PostgreSQL → the pydantic response.

Where the usage store cannot be read, the call answers 503 ``service_unavailable`` (logged
with the cause), never a 500 with a driver's message.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final, TypeVar

from sqlalchemy import Uuid, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.analytics.queries import Breakdown, Figures
from ias_serve.analytics.reader import AsyncUsageReader
from ias_serve.db.models import ApiKey, Organization, User
from ias_serve.db.repositories import BudgetRepository, OrgRepository
from ias_serve.domain.budget import period_key
from ias_serve.domain.policy import Action, authorize
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.domain.usage_window import UsageWindow, resolve_window
from ias_serve.errors import IASError, NotFound, ServiceUnavailable
from ias_serve.protocol.analytics import (
    BudgetStatus,
    DailyUsage,
    KeyUsage,
    ModelUsage,
    MyUsagePublic,
    OrgUsage,
    OrgUsagePublic,
    SystemUsagePublic,
    UsageFigures,
    UsagePeriod,
    UserUsage,
)

log = logging.getLogger(__name__)

R = TypeVar("R", bound=UsageFigures)
SM = async_sessionmaker[AsyncSession]


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- response assembly (pure) -------------------------------------------------------------


def figures(f: Figures) -> dict[str, Any]:
    """The fields of :class:`UsageFigures` from a reader's :class:`Figures`."""
    return {
        "requests": f.requests,
        "input_tokens": f.input_tokens,
        "output_tokens": f.output_tokens,
        "cost": f.cost,
    }


def ranked(by: Mapping[Any, Figures], row: Callable[[Any, dict[str, Any]], R]) -> list[R]:
    """One row per value, largest ``total_tokens`` first (ties: by value, for a stable order)."""
    items = sorted(by.items(), key=lambda kv: (-kv[1].total_tokens, str(kv[0])))
    return [row(value, figures(f)) for value, f in items]


def daily(by_day: Mapping[date, Figures], window: UsageWindow) -> list[DailyUsage]:
    """Every day of the window in order, zeros where nothing was recorded."""
    return [DailyUsage(day=d, **figures(by_day.get(d, Figures()))) for d in window.dates()]


def period(window: UsageWindow) -> UsagePeriod:
    return UsagePeriod(from_=window.start, to=window.last, days=window.days)


def _by(b: Breakdown, dim: str) -> Mapping[Any, Figures]:
    return b.by.get(dim, {})


# --- the service ----------------------------------------------------------------------------


class AnalyticsService:
    """``reader`` reads ClickHouse (in-process or through the recorder's handle);
    ``sessionmaker`` reads PostgreSQL (names, budget limits). ``clock`` gives "now" (UTC) for
    the default window and the budget month. ``closers`` are called by :meth:`aclose` (what
    the builder opened for the service: the reader, the database engine)."""

    def __init__(
        self,
        reader: AsyncUsageReader,
        sessionmaker: SM,
        *,
        clock: Callable[[], datetime] = _utcnow,
        closers: Sequence[Callable[[], Awaitable[None] | None]] = (),
    ) -> None:
        self._reader = reader
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._closers = tuple(closers)

    async def aclose(self) -> None:
        for close in self._closers:
            result = close()
            if inspect.isawaitable(result):
                await result

    # --- endpoints ----------------------------------------------------------------------------

    async def org_usage(
        self,
        principal: SessionPrincipal,
        org_id: uuid.UUID,
        *,
        days: int | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> OrgUsagePublic:
        now = self._clock().astimezone(UTC)
        window = resolve_window(today=now.date(), days=days, start=start, end=end)
        authorize(principal, Action.VIEW_ORG_USAGE, org_id=org_id)
        month_start = now.date().replace(day=1)
        # both reads start now and overlap the PostgreSQL look-ups
        usage_task = self._start("org_usage", org_id=org_id, start=window.start, end=window.end)
        month_task = self._start("org_month_to_date", org_id=org_id, month_start=month_start)
        try:
            async with self._sessionmaker() as db:
                org = await OrgRepository(db).get(org_id)
                if org is None:  # only a System Admin gets here for an unknown id
                    raise NotFound("organisation not found", param="org_id")
                limit = await BudgetRepository(db).get_limit(org_id)
                usage: Breakdown = await usage_task
                users = await _users(db, _by(usage, "user_id"))
            month: Figures = await month_task
        except BaseException:
            _abandon(usage_task, month_task)
            raise
        by_user = _by(usage, "user_id")
        return OrgUsagePublic(
            org_id=org.id,
            name=org.name,
            period=period(window),
            totals=UsageFigures(**figures(usage.totals)),
            mine=UsageFigures(**figures(by_user.get(principal.user_id, Figures()))),
            by_model=ranked(_by(usage, "model"), lambda m, f: ModelUsage(model=m, **f)),
            by_user=ranked(by_user, lambda u, f: UserUsage(user_id=u, **users.get(u, _GONE_USER), **f)),
            daily=daily(_by(usage, "day"), window),
            budget=BudgetStatus.of(period_key(now), limit, month.total_tokens, month.cost),
        )

    async def my_usage(
        self,
        principal: SessionPrincipal,
        *,
        days: int | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> MyUsagePublic:
        """Usage of the caller's requests in the orgs they are a member of now (a System
        Admin holds no key: empty unless also a member somewhere)."""
        window = resolve_window(today=self._clock().astimezone(UTC).date(), days=days, start=start, end=end)
        usage: Breakdown = await self._read(
            "user_usage",
            user_id=principal.user_id,
            org_ids=sorted(principal.org_ids),
            start=window.start,
            end=window.end,
        )
        async with self._sessionmaker() as db:
            keys = await _keys(db, _by(usage, "key_id"))
            orgs = await _org_names(db, _by(usage, "org_id"))
        return MyUsagePublic(
            user_id=principal.user_id,
            email=principal.email,
            period=period(window),
            totals=UsageFigures(**figures(usage.totals)),
            by_model=ranked(_by(usage, "model"), lambda m, f: ModelUsage(model=m, **f)),
            by_key=ranked(
                _by(usage, "key_id"), lambda k, f: KeyUsage(key_id=k, **keys.get(k, _GONE_KEY), **f)
            ),
            by_org=ranked(_by(usage, "org_id"), lambda o, f: OrgUsage(org_id=o, name=orgs.get(o), **f)),
            daily=daily(_by(usage, "day"), window),
        )

    async def system_usage(
        self,
        principal: SessionPrincipal,
        *,
        days: int | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> SystemUsagePublic:
        window = resolve_window(today=self._clock().astimezone(UTC).date(), days=days, start=start, end=end)
        authorize(principal, Action.VIEW_SYSTEM_USAGE)
        usage: Breakdown = await self._read("system_usage", start=window.start, end=window.end)
        async with self._sessionmaker() as db:
            orgs = await _org_names(db, _by(usage, "org_id"))
        return SystemUsagePublic(
            period=period(window),
            totals=UsageFigures(**figures(usage.totals)),
            by_org=ranked(_by(usage, "org_id"), lambda o, f: OrgUsage(org_id=o, name=orgs.get(o), **f)),
            by_model=ranked(_by(usage, "model"), lambda m, f: ModelUsage(model=m, **f)),
            daily=daily(_by(usage, "day"), window),
        )

    # --- plumbing -------------------------------------------------------------------------------

    async def _read(self, query: str, **params: Any) -> Any:
        """One usage read; a failure of the store (not of ours) becomes a 503."""
        try:
            return await self._reader.read(query, **params)
        except (IASError, ValueError):
            raise  # ours (ValueError: an unknown query name, a bug) — not an outage
        except Exception as exc:
            log.warning("usage store read %s failed: %s", query, exc, exc_info=True)
            raise ServiceUnavailable("usage data is unavailable right now; try again shortly") from exc

    def _start(self, query: str, **params: Any) -> asyncio.Task[Any]:
        """:meth:`_read` started now, to overlap other work."""
        return asyncio.ensure_future(self._read(query, **params))


def _abandon(*tasks: asyncio.Task[Any]) -> None:
    """Tasks whose result is no longer wanted: cancel the running ones, and mark the failures
    of finished ones as seen (asyncio would log them as "never retrieved")."""
    for task in tasks:
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()


# Names of the ids a breakdown mentions: one query each, with the ids as ONE array parameter
# (`= ANY($1)`), however many there are. Ids whose row is gone (a deleted user/key/org: usage
# outlives them) get None names.
_GONE_USER: Final[dict[str, Any]] = {"email": None, "name": None}
_GONE_KEY: Final[dict[str, Any]] = {"name": None, "prefix": None}


def _any(column: Any, ids: Iterable[uuid.UUID]) -> Any:
    return column == any_(bindparam("ids", list(ids), type_=ARRAY(Uuid)))


async def _users(db: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    if not (wanted := list(ids)):
        return {}
    rows = await db.execute(select(User.id, User.email, User.name).where(_any(User.id, wanted)))
    return {r.id: {"email": r.email, "name": r.name} for r in rows}


async def _keys(db: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    if not (wanted := list(ids)):
        return {}
    rows = await db.execute(select(ApiKey.id, ApiKey.name, ApiKey.prefix).where(_any(ApiKey.id, wanted)))
    return {r.id: {"name": r.name, "prefix": r.prefix} for r in rows}


async def _org_names(db: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not (wanted := list(ids)):
        return {}
    rows = await db.execute(select(Organization.id, Organization.name).where(_any(Organization.id, wanted)))
    return {r.id: r.name for r in rows}
