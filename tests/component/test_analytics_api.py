"""The analytics API end to end in-process: real PostgreSQL (users, orgs, memberships, sessions,
keys, budgets written with the repositories), real ClickHouse (chDB; a database of each test's
own, events written with the recorder's `insert_usage_events`), the FastAPI app over ASGI.

The service's clock is pinned to NOW, so windows and the budget month are exact; sessions
expire on the database's real clock.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.analytics import get_client, insert_usage_events
from ias_serve.analytics.reader import LocalUsageReader
from ias_serve.api.apps import create_analytics_app
from ias_serve.db.repositories import (
    ApiKeyRepository,
    BudgetRepository,
    MembershipRepository,
    OrgRepository,
    SessionRepository,
    UserRepository,
)
from ias_serve.domain.roles import OrgRole, Status
from ias_serve.domain.tokens import SESSION_COOKIE, TokenKind, hash_token, new_token
from ias_serve.protocol.usage import UsageEvent
from ias_serve.services.analytics import AnalyticsService
from ias_serve.services.sessions import SessionAuthenticator
from tests.component.gateway_harness import new_session
from tests.support.clickhouse import own_database

SM = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)  # 30-day window: 2026-02-14 … 2026-03-15
M1, M2 = "model-one", "model-two"


@pytest.fixture
def ch_dsn(clickhouse_dsn: str) -> Iterator[str]:
    """A migrated ClickHouse database of the test's own (the system view sums every org)."""
    with own_database(clickhouse_dsn, "ias_api") as dsn:
        yield dsn


@dataclass
class World:
    org_a: uuid.UUID
    org_b: uuid.UUID
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, uuid.UUID] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def _make_world(sm: SM) -> World:
    tag = uuid.uuid4().hex[:8]
    async with sm() as db, db.begin():
        orgs, users, members, keys = (
            OrgRepository(db),
            UserRepository(db),
            MembershipRepository(db),
            ApiKeyRepository(db),
        )
        a = await orgs.create(f"Acme {tag}")
        b = await orgs.create(f"Beta {tag}")
        w = World(a.id, b.id, names={"org_a": a.name, "org_b": b.name})
        for who, org, role, admin in (
            ("root", None, None, True),
            ("admin_a", a, OrgRole.ORG_ADMIN, False),
            ("user_a", a, OrgRole.ORG_USER, False),
            ("user_a2", a, OrgRole.ORG_USER, False),
            ("admin_b", b, OrgRole.ORG_ADMIN, False),
        ):
            u = await users.create(f"{who}-{tag}@ias.test", name=f"{who} name", is_system_admin=admin)
            w.users[who] = u.id
            if org is not None:
                await members.add(u.id, org.id, role)
            w.tokens[who] = await new_session(db, u.id)
        for key, who, org in (
            ("k_user_a_1", "user_a", a),
            ("k_user_a_2", "user_a", a),
            ("k_admin_a", "admin_a", a),
            ("k_user_a2", "user_a2", a),
            ("k_admin_b", "admin_b", b),
        ):
            k = await keys.create(
                key_hash=hashlib.sha256(f"{tag}{key}".encode()).hexdigest(),
                prefix=f"ias-{key[:8]}",
                user_id=w.users[who],
                org_id=org.id,
                name=f"{key} name",
            )
            w.keys[key] = k.id
        await BudgetRepository(db).set_limit(a.id, 10_000)
        # sessions that must not work
        w.tokens["expired"] = await new_session(db, w.users["admin_a"], ttl=timedelta(seconds=-60))
        revoked = new_token(TokenKind.SESSION)
        s = await SessionRepository(db).create(
            user_id=w.users["admin_a"], token_hash=hash_token(revoked), expires_at=NOW + timedelta(days=3650)
        )
        await SessionRepository(db).revoke(s.id)
        w.tokens["revoked"] = revoked
        disabled = await users.create(f"disabled-{tag}@ias.test", status=Status.DISABLED)
        await members.add(disabled.id, a.id, OrgRole.ORG_ADMIN)
        w.tokens["disabled"] = await new_session(db, disabled.id)
    return w


def _events(w: World) -> list[UsageEvent]:
    """The usage of the world; the expected figures in the tests are worked out from it."""
    spec: list[tuple[str, str, str, str, datetime, int, int, str | None, str | None]] = [
        # who, org, key, model, ts, in, out, price in, price out (per million)
        ("user_a", "a", "k_user_a_1", M1, datetime(2026, 3, 14, 9, tzinfo=UTC), 100, 50, "1", "2"),
        # the price of model-one doubled: the earlier request keeps its cost
        ("user_a", "a", "k_user_a_1", M1, datetime(2026, 3, 15, 9, tzinfo=UTC), 100, 50, "2", "4"),
        ("user_a", "a", "k_user_a_2", M2, datetime(2026, 3, 10, 23, 59, tzinfo=UTC), 10, 5, "0.5", "0.5"),
        ("admin_a", "a", "k_admin_a", M1, datetime(2026, 3, 1, 0, 0, tzinfo=UTC), 1000, 500, "1", "2"),
        # February: in the 30-day window, not in the budget month; no prices → cost 0
        ("user_a2", "a", "k_user_a2", M2, datetime(2026, 2, 20, 12, tzinfo=UTC), 300, 100, None, None),
        # before the window
        ("user_a", "a", "k_user_a_1", M1, datetime(2025, 12, 1, tzinfo=UTC), 7, 7, "1", "1"),
        # the other org
        ("admin_b", "b", "k_admin_b", M2, datetime(2026, 3, 14, 10, tzinfo=UTC), 5000, 5000, "0.1", "0.1"),
    ]
    return [
        UsageEvent(
            request_id=f"req-{w.org_a.hex[:8]}-{n}",
            ts=ts,
            org_id=w.org_a if org == "a" else w.org_b,
            user_id=w.users[who],
            key_id=w.keys[key],
            model=model,
            input_tokens=tin,
            output_tokens=tout,
            latency_ms=20,
            price_input=None if pin is None else Decimal(pin),
            price_output=None if pout is None else Decimal(pout),
        )
        for n, (who, org, key, model, ts, tin, tout, pin, pout) in enumerate(spec)
    ]


@pytest.fixture
async def world(sm: SM, ch_dsn: str) -> World:
    w = await _make_world(sm)
    client = get_client(ch_dsn)
    try:
        assert insert_usage_events(client, _events(w)) == 7
    finally:
        client.close()
    return w


@pytest.fixture
async def api(sm: SM, ch_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    reader = LocalUsageReader(ch_dsn)
    service = AnalyticsService(reader, sm, clock=lambda: NOW, closers=[reader.close])
    app = create_analytics_app(
        analytics=service, sessions=SessionAuthenticator(sm), registry=CollectorRegistry()
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client
    await service.aclose()


def _fig(requests: int, tin: int, tout: int, cost: str) -> dict[str, Any]:
    return {
        "requests": requests,
        "input_tokens": tin,
        "output_tokens": tout,
        "total_tokens": tin + tout,
        "cost": cost,
    }


def _strip(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in keys}


# --- GET /analytics/org/{org_id} ------------------------------------------------------------


async def test_org_dashboard_exact_figures(api: httpx.AsyncClient, world: World) -> None:
    r = await api.get(f"/org/{world.org_a}", headers=world.auth("admin_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["org_id"] == str(world.org_a) and body["name"] == world.names["org_a"]
    assert body["period"] == {"from": "2026-02-14", "to": "2026-03-15", "days": 30}
    # 0.0002 + 0.0004 (after the price change) + 0.0000075 + 0.002 + 0
    assert body["totals"] == _fig(5, 1510, 705, "0.0026075")
    assert body["mine"] == _fig(1, 1000, 500, "0.002")
    assert body["by_model"] == [
        {"model": M1, **_fig(3, 1200, 600, "0.0026")},
        {"model": M2, **_fig(2, 310, 105, "0.0000075")},
    ]
    u = world.users
    assert [(row["user_id"], row["email"], row["name"]) for row in body["by_user"]] == [
        (str(u["admin_a"]), body["by_user"][0]["email"], "admin_a name"),
        (str(u["user_a2"]), body["by_user"][1]["email"], "user_a2 name"),
        (str(u["user_a"]), body["by_user"][2]["email"], "user_a name"),
    ]
    assert body["by_user"][0]["email"].startswith("admin_a-")
    assert [_strip(row, "user_id", "email", "name") for row in body["by_user"]] == [
        _fig(1, 1000, 500, "0.002"),
        _fig(1, 300, 100, "0"),
        _fig(3, 210, 105, "0.0006075"),
    ]
    daily = {d["day"]: _strip(d, "day") for d in body["daily"]}
    assert list(daily) == [(date(2026, 2, 14) + timedelta(days=n)).isoformat() for n in range(30)]
    assert daily["2026-02-20"] == _fig(1, 300, 100, "0")
    assert daily["2026-03-01"] == _fig(1, 1000, 500, "0.002")
    assert daily["2026-03-10"] == _fig(1, 10, 5, "0.0000075")
    assert daily["2026-03-14"] == _fig(1, 100, 50, "0.0002")
    assert daily["2026-03-15"] == _fig(1, 100, 50, "0.0004")
    assert daily["2026-03-02"] == _fig(0, 0, 0, "0")
    # March so far: everything but February's request
    assert body["budget"] == {
        "period": "2026-03",
        "limit": 10_000,
        "used": 1815,
        "cost": "0.0026075",
        "remaining": 8185,
        "percent": 18.15,
    }


async def test_org_user_sees_the_org_and_its_own_share(api: httpx.AsyncClient, world: World) -> None:
    r = await api.get(f"/org/{world.org_a}?days=7", headers=world.auth("user_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == {"from": "2026-03-09", "to": "2026-03-15", "days": 7}
    assert body["totals"] == _fig(3, 210, 105, "0.0006075")
    assert body["mine"] == body["totals"]
    assert len(body["daily"]) == 7


async def test_from_to_window(api: httpx.AsyncClient, world: World) -> None:
    r = await api.get(f"/org/{world.org_a}?from=2025-12-01&to=2026-03-01", headers=world.auth("admin_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == {"from": "2025-12-01", "to": "2026-03-01", "days": 91}
    assert body["totals"] == _fig(3, 1307, 607, "0.002014")  # Dec 1 + Feb 20 + Mar 1


async def test_system_admin_sees_every_org_and_unbudgeted_is_unlimited(
    api: httpx.AsyncClient, world: World
) -> None:
    a = await api.get(f"/org/{world.org_a}", headers=world.auth("root"))
    assert a.status_code == 200 and a.json()["mine"] == _fig(0, 0, 0, "0")
    b = await api.get(f"/org/{world.org_b}", headers=world.auth("root"))
    assert b.status_code == 200
    assert b.json()["totals"] == _fig(1, 5000, 5000, "0.001")
    assert b.json()["budget"] == {
        "period": "2026-03",
        "limit": None,
        "used": 10_000,
        "cost": "0.001",
        "remaining": None,
        "percent": None,
    }


async def test_another_tenant_looks_like_a_missing_org(api: httpx.AsyncClient, world: World) -> None:
    other = await api.get(f"/org/{world.org_a}", headers=world.auth("admin_b"))
    missing = await api.get(f"/org/{uuid.uuid4()}", headers=world.auth("admin_b"))
    assert other.status_code == missing.status_code == 404
    assert (
        other.json()
        == missing.json()
        == {"error": {"code": "not_found", "message": "organisation not found"}}
    )
    # a System Admin learns that an id does not exist
    root = await api.get(f"/org/{uuid.uuid4()}", headers=world.auth("root"))
    assert root.status_code == 404 and root.json()["error"]["code"] == "not_found"
    # not a UUID: a malformed request, whoever asks
    bad = await api.get("/org/acme", headers=world.auth("admin_b"))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


# --- GET /analytics/me ----------------------------------------------------------------------


async def test_my_usage_by_key_model_org_and_day(api: httpx.AsyncClient, world: World) -> None:
    r = await api.get("/me", headers=world.auth("user_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == str(world.users["user_a"]) and body["email"].startswith("user_a-")
    assert body["totals"] == _fig(3, 210, 105, "0.0006075")
    assert body["by_key"] == [
        {
            "key_id": str(world.keys["k_user_a_1"]),
            "name": "k_user_a_1 name",
            "prefix": "ias-k_user_a",
            **_fig(2, 200, 100, "0.0006"),
        },
        {
            "key_id": str(world.keys["k_user_a_2"]),
            "name": "k_user_a_2 name",
            "prefix": "ias-k_user_a",
            **_fig(1, 10, 5, "0.0000075"),
        },
    ]
    assert body["by_model"] == [
        {"model": M1, **_fig(2, 200, 100, "0.0006")},
        {"model": M2, **_fig(1, 10, 5, "0.0000075")},
    ]
    assert body["by_org"] == [
        {"org_id": str(world.org_a), "name": world.names["org_a"], **_fig(3, 210, 105, "0.0006075")}
    ]
    assert sum(d["requests"] for d in body["daily"]) == 3 and len(body["daily"]) == 30


async def test_my_usage_of_a_system_admin_without_membership_is_empty(
    api: httpx.AsyncClient, world: World
) -> None:
    r = await api.get("/me?days=366", headers=world.auth("root"))
    assert r.status_code == 200
    body = r.json()
    assert body["totals"] == _fig(0, 0, 0, "0")
    assert body["by_key"] == body["by_model"] == body["by_org"] == [] and len(body["daily"]) == 366


# --- GET /analytics/system ------------------------------------------------------------------


async def test_system_usage(api: httpx.AsyncClient, world: World) -> None:
    r = await api.get("/system", headers=world.auth("root"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"] == _fig(6, 6510, 5705, "0.0036075")
    assert body["by_org"] == [
        {"org_id": str(world.org_b), "name": world.names["org_b"], **_fig(1, 5000, 5000, "0.001")},
        {"org_id": str(world.org_a), "name": world.names["org_a"], **_fig(5, 1510, 705, "0.0026075")},
    ]
    assert body["by_model"] == [
        {"model": M2, **_fig(3, 5310, 5105, "0.0010075")},
        {"model": M1, **_fig(3, 1200, 600, "0.0026")},
    ]
    assert {d["day"]: d["requests"] for d in body["daily"] if d["requests"]} == {
        "2026-02-20": 1,
        "2026-03-01": 1,
        "2026-03-10": 1,
        "2026-03-14": 2,
        "2026-03-15": 1,
    }


@pytest.mark.parametrize("who", ["admin_a", "user_a", "admin_b"])
async def test_system_usage_is_for_system_admins_only(api: httpx.AsyncClient, world: World, who: str) -> None:
    r = await api.get("/system", headers=world.auth(who))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "permission_denied"


# --- every role × every endpoint --------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("root", "/org/{a}", 200),
        ("root", "/org/{b}", 200),
        ("root", "/me", 200),
        ("root", "/system", 200),
        ("admin_a", "/org/{a}", 200),
        ("admin_a", "/org/{b}", 404),
        ("admin_a", "/me", 200),
        ("admin_a", "/system", 403),
        ("user_a", "/org/{a}", 200),
        ("user_a", "/org/{b}", 404),
        ("user_a", "/me", 200),
        ("user_a", "/system", 403),
        ("admin_b", "/org/{a}", 404),
        ("admin_b", "/org/{b}", 200),
    ],
)
async def test_access_matrix(api: httpx.AsyncClient, world: World, who: str, path: str, status: int) -> None:
    r = await api.get(path.format(a=world.org_a, b=world.org_b), headers=world.auth(who))
    assert r.status_code == status, r.text


# --- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("days=0", 400, "invalid_request"),
        ("days=367", 400, "invalid_request"),
        ("days=ten", 400, "invalid_request"),
        ("from=2026-13-01", 400, "invalid_request"),
        ("from=yesterday", 400, "invalid_request"),
        ("from=2026-03-02&to=2026-03-01", 422, "validation_error"),
        ("from=2026-03-16", 422, "validation_error"),  # after today (to defaults to today)
        ("days=7&from=2026-03-01", 422, "validation_error"),
        ("to=2026-03-01", 422, "validation_error"),
        ("from=2025-01-01&to=2026-01-02", 422, "validation_error"),  # 367 days
        ("from=1900-01-01&to=1900-01-02", 422, "validation_error"),
    ],
)
async def test_bad_parameters(
    api: httpx.AsyncClient, world: World, query: str, status: int, code: str
) -> None:
    for path in (f"/org/{world.org_a}", "/me", "/system"):
        r = await api.get(f"{path}?{query}", headers=world.auth("root"))
        assert r.status_code == status, (path, r.text)
        body = r.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]) <= {
            "code",
            "message",
            "details",
        }
        assert body["error"]["code"] == code and body["error"]["message"]
        if status == 400:  # a malformed parameter: details name it
            assert body["error"]["details"][0]["loc"][0] == "query"


async def test_366_days_is_accepted(api: httpx.AsyncClient, world: World) -> None:
    r = await api.get(f"/org/{world.org_a}?days=366", headers=world.auth("admin_a"))
    assert r.status_code == 200 and r.json()["period"]["days"] == 366
    assert r.json()["totals"]["requests"] == 6  # December's request too


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer iass_not-a-real-session"},
        {"Authorization": "Bearer ias-an-api-key-is-no-session"},
    ],
    ids=["none", "empty-bearer", "basic", "unknown", "api-key"],
)
async def test_no_valid_session_is_401(api: httpx.AsyncClient, world: World, headers: dict[str, str]) -> None:
    for path in (f"/org/{world.org_a}", "/me", "/system"):
        r = await api.get(path, headers=headers)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] in {"unauthenticated", "invalid_session"}


@pytest.mark.parametrize("which", ["expired", "revoked", "disabled"])
async def test_expired_revoked_or_disabled_user_session_is_401(
    api: httpx.AsyncClient, world: World, which: str
) -> None:
    r = await api.get(f"/org/{world.org_a}", headers=world.auth(which))
    assert r.status_code == 401
    assert r.json() == {
        "error": {"code": "invalid_session", "message": "session invalid, expired or revoked"}
    }


async def test_cookie_authentication_and_the_header_wins(api: httpx.AsyncClient, world: World) -> None:
    api.cookies.set(SESSION_COOKIE, world.tokens["user_a"])
    try:
        r = await api.get("/me")
        assert r.status_code == 200 and r.json()["user_id"] == str(world.users["user_a"])
        # both sent: the Authorization header decides
        r = await api.get("/me", headers=world.auth("admin_a"))
        assert r.json()["user_id"] == str(world.users["admin_a"])
        r = await api.get("/me", headers=world.auth("revoked"))
        assert r.status_code == 401
    finally:
        api.cookies.clear()


# --- the app around it ----------------------------------------------------------------------


async def test_routes_answer_503_without_a_service() -> None:
    app = create_analytics_app(registry=CollectorRegistry())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for path in ("/me", "/system", f"/org/{uuid.uuid4()}"):
            r = await client.get(path, headers={"Authorization": "Bearer iass_x"})
            assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
        assert (await client.get("/health")).status_code == 200


async def test_an_unreachable_usage_store_is_503(sm: SM, world: World) -> None:
    reader = LocalUsageReader("http://127.0.0.1:9/ias")  # nothing listens on the discard port
    service = AnalyticsService(reader, sm, clock=lambda: NOW, closers=[reader.close])
    app = create_analytics_app(
        analytics=service, sessions=SessionAuthenticator(sm), registry=CollectorRegistry()
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            for path in (f"/org/{world.org_a}", "/me", "/system"):
                r = await client.get(path, headers=world.auth("root" if path == "/system" else "admin_a"))
                assert r.status_code == 503, r.text
                assert r.json()["error"]["code"] == "service_unavailable"
    finally:
        await service.aclose()


async def test_openapi_describes_the_responses(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert {"/org/{org_id}", "/me", "/system"} <= set(spec["paths"])
    ok = spec["paths"]["/org/{org_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/OrgUsagePublic"}
    schemas = spec["components"]["schemas"]
    assert {"OrgUsagePublic", "MyUsagePublic", "SystemUsagePublic", "BudgetStatus", "UsageFigures"} <= set(
        schemas
    )
    assert schemas["UsageFigures"]["properties"]["cost"]["type"] == "string"
    assert {p["name"] for p in spec["paths"]["/me"]["get"]["parameters"]} == {"days", "from", "to"}
    assert set(spec["components"]["securitySchemes"]) == {"session", "session_cookie"}
