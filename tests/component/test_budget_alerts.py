"""Budget alerts on real PostgreSQL and Valkey, a real SMTP server (aiosmtpd) and a real HTTP
receiver (uvicorn in a thread) that checks the webhook's signature itself: the settings API
(every field's bad input, who may, the secret shown once, the audit row), detection exactly
once per threshold per month (two dispatchers ticking at once, 50 concurrent gateway requests
crossing 80 %), retries with backoff of an unreachable or failing webhook, and the dispatcher
running in the management app's lifespan."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ias_serve.api.apps import create_management_app
from ias_serve.db.models import AuditEntry, BudgetAlert, OrgBudgetAlertSettings
from ias_serve.domain.budget import period_key
from ias_serve.domain.roles import OrgRole
from ias_serve.services.management.budget_alert_dispatcher import BudgetAlertDispatcher
from ias_serve.services.management.context import Mailer
from ias_serve.services.management.factory import build_management
from ias_serve.services.management.mail import OutboxMailer, SmtpMailer, read_outbox
from ias_serve.settings import Settings
from ias_serve.stack.embedded import free_port
from tests.component.gateway_harness import make_tenant, running_gateway, serve_in_thread
from tests.component.mgmt_harness import Api, User, management_api, management_settings
from tests.component.mgmt_resources_support import error_code, last_audit_id, one_new_row
from tests.support.smtp import Collect, smtp_server

# --- a real SMTP server and a real webhook receiver ----------------------------------------------


@pytest.fixture
async def api(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The management app allowing webhooks to loopback addresses (this file's receivers);
    the default refusal is tested below with an app that keeps it."""
    async with management_api(
        database_url, redis_url, tmp_path, budget_alert_webhook_allow_private=True
    ) as a:
        yield a


@pytest.fixture
def smtp() -> Iterator[tuple[Collect, int]]:
    with smtp_server() as running:
        yield running


def smtp_mailer(port: int, home: Path) -> SmtpMailer:
    return SmtpMailer(
        Settings(
            home=home, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, smtp_from="ias@ias.test"
        )
    )


@dataclass
class Receiver:
    """Records every POST; verifies ``X-IAS-Signature`` with the secret it is given (a
    receiver's own code, not the library's); answers ``status``."""

    secret: str = ""
    status: int = 204
    hits: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            raw = await request.body()
            ts = request.headers.get("x-ias-timestamp", "")
            expected = (
                "sha256="
                + hmac.new(self.secret.encode(), f"{ts}.".encode() + raw, hashlib.sha256).hexdigest()
            )
            self.hits.append(
                {
                    "body": json.loads(raw),
                    "valid": hmac.compare_digest(expected, request.headers.get("x-ias-signature", "")),
                    "fresh": ts.isdigit() and abs(time.time() - int(ts)) < 300,
                    "content_type": request.headers.get("content-type"),
                }
            )
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@contextmanager
def listening(app: Any, sock: socket.socket) -> Iterator[None]:
    """Serve ``app`` on an already bound socket (connects were refused until now)."""
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "receiver did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec, port = Receiver(), free_port()
    with serve_in_thread(rec.app(), port):
        yield rec, f"http://127.0.0.1:{port}/hook"


# --- helpers ---------------------------------------------------------------------------------------


@dataclass
class Org:
    id: uuid.UUID
    root: User
    admins: list[User]
    user: User
    outsider: User

    @property
    def url(self) -> str:
        return f"/org/{self.id}/budget/alerts"


async def new_org(api: Api, *, limit: int | None = 1_000_000, org_id: uuid.UUID | None = None) -> Org:
    org = org_id or await api.org()
    other = await api.org()
    o = Org(
        org,
        root=await api.user(system_admin=True, password=False),
        admins=[await api.user(org_id=org, role=OrgRole.ORG_ADMIN, password=False) for _ in range(2)],
        user=await api.user(org_id=org, role=OrgRole.ORG_USER, password=False),
        outsider=await api.user(org_id=other, role=OrgRole.ORG_ADMIN, password=False),
    )
    if limit is not None:
        r = await api.client.put(
            f"/org/{org}/budget", json={"monthly_token_limit": limit}, headers=o.root.headers
        )
        assert r.status_code == 200, r.text
    return o


async def put_alerts(api: Api, o: Org, body: dict[str, Any], who: User | None = None) -> dict[str, Any]:
    r = await api.client.put(o.url, json=body, headers=(who or o.admins[0]).headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def dispatcher(
    api: Api,
    mailer: Mailer,
    http: httpx.AsyncClient,
    *,
    clock: Callable[[], datetime] | None = None,
    registry: CollectorRegistry | None = None,
    max_attempts: int = 12,
) -> BudgetAlertDispatcher:
    assert api.ctx.budgets is not None
    return BudgetAlertDispatcher(
        sessionmaker=api.sm,
        budgets=api.ctx.budgets,
        mailer=mailer,
        http=http,
        clock=clock or (lambda: datetime.now(UTC)),
        registry=registry or CollectorRegistry(),
        max_attempts=max_attempts,
        portal_url="http://portal.test",
        allow_private=True,  # the receivers listen on 127.0.0.1
    )


async def set_used(api: Api, org: uuid.UUID, tokens: int) -> None:
    assert api.ctx.budgets is not None
    await api.ctx.budgets.set_used(org, period_key(datetime.now(UTC)), tokens)


async def alerts(api: Api, org: uuid.UUID) -> list[BudgetAlert]:
    async with api.sm() as s:
        stmt = select(BudgetAlert).where(BudgetAlert.org_id == org).order_by(BudgetAlert.threshold)
        return list(await s.scalars(stmt))


async def triggered_rows(api: Api, org: uuid.UUID) -> list[AuditEntry]:
    async with api.sm() as s:
        stmt = select(AuditEntry).where(
            AuditEntry.org_id == org, AuditEntry.action_type == "budget_alert_triggered"
        )
        return list(await s.scalars(stmt.order_by(AuditEntry.id)))


async def settings_state(api: Api) -> tuple[Any, ...]:
    async with api.sm() as s:
        rows = (await s.execute(select(*OrgBudgetAlertSettings.__table__.columns))).all()
        audit = await s.scalar(select(func.count()).select_from(AuditEntry))
    return tuple(sorted(map(tuple, rows), key=str)), audit


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


# --- the settings API ------------------------------------------------------------------------------


async def test_defaults_and_who_may_read(api: Api) -> None:
    o = await new_org(api)
    for who in (o.root, *o.admins):
        r = await api.client.get(o.url, headers=who.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "org_id": str(o.id),
            "thresholds": [],
            "webhook_url": None,
            "webhook_secret_set": False,
            "alerts": [],
            "updated_at": None,
            "updated_by": None,
        }
    r = await api.client.get(o.url, headers=o.user.headers)
    assert r.status_code == 403 and error_code(r) == "permission_denied"
    r = await api.client.get(o.url, headers=o.outsider.headers)
    assert r.status_code == 404 and error_code(r) == "not_found"
    r = await api.client.get(f"/org/{uuid.uuid4()}/budget/alerts", headers=o.root.headers)
    assert r.status_code == 404
    assert (await api.client.get(o.url)).status_code == 401


async def test_set_audited_and_the_secret_is_shown_once(api: Api, receiver: tuple[Receiver, str]) -> None:
    _, url = receiver
    o = await new_org(api)
    mark = await last_audit_id(api)
    got = await put_alerts(api, o, {"thresholds": [100, 50, 80], "webhook_url": url})
    secret = got.pop("webhook_secret")
    assert secret.startswith("whsec_") and len(secret) > 40
    assert got["thresholds"] == [50, 80, 100] and got["webhook_url"] == url
    assert got["webhook_secret_set"] is True and got["updated_by"] == str(o.admins[0].id)
    row = await one_new_row(api, mark)
    assert (row.action_type, row.org_id, row.user_id_performing_action) == (
        "budget_alerts_changed",
        o.id,
        o.admins[0].id,
    )
    assert row.payload == {
        "old": {"thresholds": [], "webhook_url": None},
        "new": {"thresholds": [50, 80, 100], "webhook_url": url},
        "secret_generated": True,
    }
    # reads never show it; the same URL again keeps it (and does not show it)
    r = await api.client.get(o.url, headers=o.root.headers)
    assert "webhook_secret" not in r.json() and r.json() == got
    again = await put_alerts(api, o, {"thresholds": [80], "webhook_url": url}, o.root)
    assert "webhook_secret" not in again and again["webhook_secret_set"] is True
    async with api.sm() as s:
        assert (await s.get(OrgBudgetAlertSettings, o.id)).webhook_secret == secret  # type: ignore[union-attr]
    # rotate: a new one, once
    rotated = await put_alerts(api, o, {"thresholds": [80], "webhook_url": url, "rotate_secret": True})
    assert rotated["webhook_secret"].startswith("whsec_") and rotated["webhook_secret"] != secret
    # no secret reaches the audit log
    async with api.sm() as s:
        payloads = [e.payload for e in await s.scalars(select(AuditEntry).where(AuditEntry.org_id == o.id))]
    assert secret not in json.dumps(payloads) and rotated["webhook_secret"] not in json.dumps(payloads)
    # removing the webhook removes the secret; an empty list turns alerts off
    off = await put_alerts(api, o, {"thresholds": [], "webhook_url": None})
    assert off["webhook_url"] is None and off["webhook_secret_set"] is False and off["thresholds"] == []
    async with api.sm() as s:
        assert (await s.get(OrgBudgetAlertSettings, o.id)).webhook_secret is None  # type: ignore[union-attr]
    # a new webhook later: a new secret
    back = await put_alerts(api, o, {"thresholds": [90], "webhook_url": url})
    assert back["webhook_secret"] not in (secret, rotated["webhook_secret"])


async def test_who_may_set(api: Api) -> None:
    o = await new_org(api)
    before = await settings_state(api)
    body = {"thresholds": [80]}
    for who, status in ((o.user, 403), (o.outsider, 404)):
        r = await api.client.put(o.url, json=body, headers=who.headers)
        assert r.status_code == status, r.text
        error_code(r)
    r = await api.client.put(f"/org/{uuid.uuid4()}/budget/alerts", json=body, headers=o.root.headers)
    assert r.status_code == 404
    assert (await api.client.put(o.url, json=body)).status_code == 401
    assert await settings_state(api) == before
    got = await put_alerts(api, o, body, o.root)
    assert got["thresholds"] == [80] and got["updated_by"] == str(o.root.id)


BAD: list[tuple[dict[str, Any], str]] = [
    ({"thresholds": [0]}, "thresholds"),
    ({"thresholds": [101]}, "thresholds"),
    ({"thresholds": [-5]}, "thresholds"),
    ({"thresholds": [10**30]}, "thresholds"),
    ({"thresholds": [80.0]}, "thresholds"),
    ({"thresholds": [80.5]}, "thresholds"),
    ({"thresholds": ["80"]}, "thresholds"),
    ({"thresholds": [True]}, "thresholds"),
    ({"thresholds": [None]}, "thresholds"),
    ({"thresholds": [[80]]}, "thresholds"),
    ({"thresholds": [50, 50]}, "thresholds"),
    ({"thresholds": list(range(1, 12))}, "thresholds"),
    ({"thresholds": 80}, "thresholds"),
    ({"thresholds": "50,80"}, "thresholds"),
    ({"thresholds": None}, "thresholds"),
    ({}, "thresholds"),
    ({"thresholds": [80], "webhook_url": "ftp://hooks.example.com/x"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "file:///etc/passwd"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "javascript:alert(1)"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "hooks.example.com/x"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "http://"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "https://user:pw@hooks.example.com/"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "https://hooks.example.com/#frag"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "https://hooks.example.com:99999/"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "https://hooks example.com/"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "https://hooks.example.com/\n"}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": "https://h.example.com/" + "a" * 2048}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": 42}, "webhook_url"),
    ({"thresholds": [80], "webhook_url": ""}, "webhook_url"),
    ({"thresholds": [80], "rotate_secret": "yes"}, "rotate_secret"),
    ({"thresholds": [80], "rotate_secret": True}, "rotate_secret"),  # no webhook to rotate
    ({"thresholds": [80], "webhook_secret": "whsec_mine"}, "webhook_secret"),  # server-generated only
]


@pytest.mark.parametrize(("body", "field"), BAD, ids=[f"{f}={json.dumps(b)[:40]}" for b, f in BAD])
async def test_bad_input_is_400_naming_the_field_and_changes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    o = await new_org(api)
    await put_alerts(api, o, {"thresholds": [50]})
    before = await settings_state(api)
    r = await api.client.put(o.url, json=body, headers=o.admins[0].headers)
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]["message"], r.text
    error_code(r)
    assert await settings_state(api) == before


# --- detection and delivery ------------------------------------------------------------------------


async def test_each_threshold_alerts_once_a_month_even_with_two_dispatchers(
    api: Api, http: httpx.AsyncClient
) -> None:
    o = await new_org(api, limit=1000)
    await put_alerts(api, o, {"thresholds": [50, 80, 100]})
    mark = await last_audit_id(api)
    registry = CollectorRegistry()
    d1 = dispatcher(api, api.ctx.mailer, http, registry=registry)
    d2 = dispatcher(api, api.ctx.mailer, http)

    await set_used(api, o.id, 499)
    assert (await d1.tick()).triggered == 0 and await alerts(api, o.id) == []
    await set_used(api, o.id, 500)  # exactly 50 %
    results = await asyncio.gather(d1.tick(), d2.tick(), d1.tick(), d2.tick())
    assert sum(r.triggered for r in results) == 1
    await set_used(api, o.id, 850)
    results = await asyncio.gather(*(d.tick() for d in (d1, d2) * 4))
    assert sum(r.triggered for r in results) == 1
    for _ in range(3):  # later ticks: nothing more
        await asyncio.gather(d1.tick(), d2.tick())

    rows = await alerts(api, o.id)
    assert [(a.threshold, a.used_tokens, a.limit_tokens) for a in rows] == [(50, 500, 1000), (80, 850, 1000)]
    assert all((a.email_status, a.webhook_status, a.attempts) == ("delivered", "none", 1) for a in rows)
    audit = await triggered_rows(api, o.id)
    assert [(e.payload["threshold"], e.user_id_performing_action) for e in audit] == [(50, None), (80, None)]
    assert audit[0].payload["alert_id"] == str(rows[0].id) and audit[0].id > mark
    # one mail per alert, to both Org Admins (not the Org User), in the outbox
    mails = read_outbox(api.outbox)
    assert len(mails) == 2
    for m in mails:
        assert sorted(a.strip() for a in m.to.split(",")) == sorted(a.email for a in o.admins)
    for admin in o.admins:  # the outbox listing finds them by any recipient
        assert len(read_outbox(api.outbox, to=admin.email.upper())) == 2
    assert read_outbox(api.outbox, to=o.user.email) == []
    assert sorted(m.subject.split(": ", 1)[1].split("%")[0] for m in mails) == ["50", "80"]
    assert "850 tokens" in next(m.body for m in mails if "80%" in m.subject)
    assert d1.metrics.value("budget_alerts_triggered") + d2.metrics.value("budget_alerts_triggered") == 2

    # the API lists this month's alerts, newest first
    r = await api.client.get(o.url, headers=o.admins[1].headers)
    listed = r.json()["alerts"]
    assert [a["threshold"] for a in listed] == [80, 50]
    assert listed[0] == {
        "id": str(rows[1].id),
        "period": period_key(datetime.now(UTC)),
        "threshold": 80,
        "used_tokens": 850,
        "limit_tokens": 1000,
        "created_at": listed[0]["created_at"],
        "email_status": "delivered",
        "webhook_status": "none",
        "attempts": 1,
        "last_error": None,
    }

    # a new month alerts again; no limit, or alerts off: nothing
    next_month = datetime.now(UTC).replace(day=1) + timedelta(days=40)
    assert api.ctx.budgets is not None
    await api.ctx.budgets.set_used(o.id, period_key(next_month), 600)
    d3 = dispatcher(api, api.ctx.mailer, http, clock=lambda: next_month)
    assert (await d3.tick()).triggered == 1
    other = await new_org(api, limit=None)
    await put_alerts(api, other, {"thresholds": [1]})
    await set_used(api, other.id, 10**9)
    off = await new_org(api, limit=100)
    await set_used(api, off.id, 100)
    assert (await d1.tick()).triggered == 0


async def test_crossing_80_through_50_concurrent_gateway_requests_sends_one_mail_and_one_webhook(
    api: Api,
    database_url: str,
    redis_url: str,
    nats_url: str,
    smtp: tuple[Collect, int],
    receiver: tuple[Receiver, str],
    tmp_path: Path,
) -> None:
    from ias_serve.db.bootstrap import ensure_default_models

    handler, smtp_port = smtp
    rec, url = receiver
    await ensure_default_models(api.sm)
    tenant = await make_tenant(database_url, limit=10**9)
    o = await new_org(api, limit=None, org_id=tenant.org_id)
    created = await put_alerts(api, o, {"thresholds": [80, 100], "webhook_url": url})
    rec.secret = created["webhook_secret"]
    mailer = smtp_mailer(smtp_port, tmp_path)
    registry = CollectorRegistry()
    d1, d2 = (
        dispatcher(api, mailer, httpx.AsyncClient(), registry=registry),
        dispatcher(api, mailer, httpx.AsyncClient()),
    )
    body = {
        "model": "echo-model",
        "messages": [{"role": "user", "content": "one two three four"}],
        "max_tokens": 4,
    }

    with running_gateway(database_url, redis_url, nats_url) as gw:
        async with httpx.AsyncClient(base_url=gw.base_url, timeout=60) as client:
            headers = {"Authorization": f"Bearer {tenant.key}"}
            # what one request costs once settled: the limit is set so that 50 cross 80 %
            r = await client.post("/chat/completions", json=body, headers=headers)
            assert r.status_code == 200, r.text
            per_request = r.json()["usage"]["total_tokens"]
            limit = (51 * per_request * 100) // 85  # 51 requests ≈ 85 % of the limit
            await api.client.put(
                f"/org/{o.id}/budget", json={"monthly_token_limit": limit}, headers=o.root.headers
            )
            assert (await d1.tick()).triggered == 0

            stop = asyncio.Event()

            async def keep_ticking(d: BudgetAlertDispatcher) -> None:  # the race, as in production
                while not stop.is_set():
                    await d.tick()
                    await asyncio.sleep(0.005)

            tickers = [asyncio.create_task(keep_ticking(d)) for d in (d1, d2)]
            answers = await asyncio.gather(
                *(client.post("/chat/completions", json=body, headers=headers) for _ in range(50))
            )
            assert [a.status_code for a in answers] == [200] * 50, [
                a.text for a in answers if a.status_code != 200
            ]
            await asyncio.sleep(0.3)  # settlements run right after the responses
            stop.set()
            await asyncio.gather(*tickers)
    for _ in range(3):
        await asyncio.gather(d1.tick(), d2.tick())

    rows = await alerts(api, o.id)
    assert [(a.threshold, a.email_status, a.webhook_status) for a in rows] == [(80, "delivered", "delivered")]
    assert rows[0].used_tokens * 100 >= 80 * limit
    assert len(await triggered_rows(api, o.id)) == 1
    for admin in o.admins:  # one mail each, over real SMTP
        subjects = handler.subjects_to(admin.email)
        assert len(subjects) == 1 and "80%" in subjects[0], subjects
    assert handler.subjects_to(o.user.email) == []
    assert len(handler.messages) == 1
    # one webhook, signed, with the documented body
    assert len(rec.hits) == 1
    hit = rec.hits[0]
    assert hit["valid"] and hit["fresh"] and hit["content_type"] == "application/json"
    assert hit["body"] == {
        "type": "budget.threshold_crossed",
        "org_id": str(o.id),
        "org_name": hit["body"]["org_name"],
        "period": period_key(datetime.now(UTC)),
        "threshold_percent": 80,
        "used_tokens": rows[0].used_tokens,
        "limit_tokens": limit,
        "alert_id": str(rows[0].id),
        "created_at": rows[0].created_at.astimezone(UTC).isoformat(),
    }
    delivered = {"channel": "webhook", "outcome": "delivered"}
    assert sum(d.metrics.value("budget_alert_deliveries", **delivered) for d in (d1, d2)) == 1
    await d1.http.aclose()
    await d2.http.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_unreachable_webhook_is_retried_with_backoff_then_delivered(
    api: Api, http: httpx.AsyncClient
) -> None:
    rec = Receiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, not listening: every connect is refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    o = await new_org(api, limit=1000)
    rec.secret = (await put_alerts(api, o, {"thresholds": [80], "webhook_url": url}))["webhook_secret"]
    await set_used(api, o.id, 900)
    clock = Clock()
    d = dispatcher(api, api.ctx.mailer, http, clock=clock)

    started = time.monotonic()
    assert (await d.tick()).triggered == 1
    assert time.monotonic() - started < 5  # a refused connect fails fast; it never blocks anything
    gaps = []
    for attempt in range(1, 4):
        (a,) = await alerts(api, o.id)
        assert (a.email_status, a.webhook_status, a.attempts) == ("delivered", "pending", attempt)
        assert a.last_error is not None and a.last_error.startswith("webhook: ConnectError")
        gaps.append((a.next_attempt_at - clock.now).total_seconds())
        assert (await d.tick()).claimed == 0  # not due yet
        clock.now = a.next_attempt_at
        if attempt < 3:
            await d.tick()
    assert 0.5 <= gaps[0] <= 1 and 1 <= gaps[1] <= 2 and 2 <= gaps[2] <= 4, gaps  # growing
    assert d.metrics.value("budget_alert_deliveries", channel="webhook", outcome="retry") == 3
    assert d.metrics.value("budget_alert_deliveries", channel="email", outcome="delivered") == 1
    assert len(read_outbox(api.outbox)) == 1  # the mail went once, retries are the webhook's only

    with listening(rec.app(), sock):
        await d.tick()
    (a,) = await alerts(api, o.id)
    assert (a.webhook_status, a.attempts, a.last_error) == ("delivered", 4, None)
    assert len(rec.hits) == 1 and rec.hits[0]["valid"]
    assert d.metrics.value("budget_alert_deliveries", channel="webhook", outcome="delivered") == 1
    for _ in range(2):
        clock.now += timedelta(minutes=10)
        await d.tick()
    assert len(rec.hits) == 1 and len(read_outbox(api.outbox)) == 1


async def test_failing_receiver_is_retried_then_marked_failed(
    api: Api, http: httpx.AsyncClient, receiver: tuple[Receiver, str], refused_port: int
) -> None:
    rec, url = receiver
    rec.status = 500
    o = await new_org(api, limit=1000)
    rec.secret = (await put_alerts(api, o, {"thresholds": [80], "webhook_url": url}))["webhook_secret"]
    await set_used(api, o.id, 800)
    clock = Clock()

    class DownMailer:
        async def send(self, *, to: str, subject: str, body: str) -> str:
            raise ConnectionRefusedError("smtp down")

    d = dispatcher(api, DownMailer(), http, clock=clock, max_attempts=3)
    for _ in range(3):
        await d.tick()
        (a,) = await alerts(api, o.id)
        clock.now = a.next_attempt_at + timedelta(seconds=1)
    (a,) = await alerts(api, o.id)
    assert (a.email_status, a.webhook_status, a.attempts) == ("failed", "failed", 3)
    assert a.last_error == "email: ConnectionRefusedError: smtp down; webhook: HTTP 500"
    assert len(rec.hits) == 3 and all(h["valid"] for h in rec.hits)
    for channel in ("email", "webhook"):
        assert d.metrics.value("budget_alert_deliveries", channel=channel, outcome="retry") == 2
        assert d.metrics.value("budget_alert_deliveries", channel=channel, outcome="failed") == 1
    clock.now += timedelta(hours=1)
    assert (await d.tick()).claimed == 0 and len(rec.hits) == 3
    # a webhook moved to a dead address meanwhile: still nothing is re-sent
    await put_alerts(api, o, {"thresholds": [80], "webhook_url": f"http://127.0.0.1:{refused_port}/"})
    assert (await d.tick()).claimed == 0


async def test_the_management_app_runs_the_dispatcher(
    api: Api, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The app's lifespan ticks in the background (here every 0.1 s)."""
    settings = management_settings(database_url, redis_url, tmp_path / "app", budget_alert_interval_s=0.1)
    ctx, sessions, close = build_management(settings, registry=CollectorRegistry())
    registry = CollectorRegistry()
    app = closing(create_management_app(management=ctx, sessions=sessions, registry=registry), close)
    o = await new_org(api, limit=100)
    await put_alerts(api, o, {"thresholds": [10]})
    await set_used(api, o.id, 10)
    with serve_in_thread(app, free_port()):
        deadline = time.monotonic() + 20
        while not read_outbox(tmp_path / "app" / "outbox"):
            assert time.monotonic() < deadline, "no alert mail from the app's dispatcher"
            await asyncio.sleep(0.05)
        assert registry.get_sample_value("ias_budget_alerts_triggered_total") == 1
    assert registry.get_sample_value("ias_budget_alerts_triggered_total") is None  # unregistered at shutdown
    (a,) = await alerts(api, o.id)
    assert a.email_status == "delivered"


def closing(app: Any, close: Callable[[], Any]) -> Any:
    """The app, closing the context's connections at lifespan shutdown, in uvicorn's loop."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)

        async def on_receive() -> dict:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await close()
            return dict(message)

        return await app(scope, on_receive, send)

    return wrapped


async def test_deleting_the_org_removes_its_alert_settings_and_alerts(
    api: Api, http: httpx.AsyncClient
) -> None:
    o = await new_org(api, limit=100)
    await put_alerts(api, o, {"thresholds": [50], "webhook_url": "https://hooks.example.com/x"})
    await set_used(api, o.id, 60)
    d = dispatcher(api, api.ctx.mailer, http)
    assert (await d.detect()) == 1
    r = await api.client.patch(f"/org/{o.id}", json={"status": "disabled"}, headers=o.root.headers)
    assert r.status_code == 200, r.text
    r = await api.client.delete(f"/org/{o.id}", headers=o.root.headers)
    assert r.status_code == 200, r.text
    assert await alerts(api, o.id) == []
    async with api.sm() as s:
        assert await s.get(OrgBudgetAlertSettings, o.id) is None
    assert len(await triggered_rows(api, o.id)) == 1  # the audit trail stays
    await d.deliver()  # nothing left of the org to deliver


# --- webhooks reach public addresses only, unless allowed ---------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9467/?query=SELECT%201",  # the stack's own SQL port, say
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.7/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
async def test_a_webhook_to_a_non_public_address_is_refused(
    database_url: str, redis_url: str, tmp_path: Path, url: str
) -> None:
    async with management_api(database_url, redis_url, tmp_path) as strict:
        o = await new_org(strict)
        r = await strict.client.put(
            o.url, json={"thresholds": [80], "webhook_url": url}, headers=o.admins[0].headers
        )
        assert r.status_code == 400 and "webhook_url" in r.json()["error"]["message"], r.text
        got = await strict.client.get(o.url, headers=o.admins[0].headers)
        assert got.json()["webhook_url"] is None  # nothing changed


async def test_a_name_resolving_to_loopback_is_never_called(
    database_url: str, redis_url: str, tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """A host name passes the PUT (it is not an address literal) but resolves to 127.0.0.1:
    the dispatcher refuses to call it, marks the webhook failed and counts it; the e-mail
    still goes out."""
    rec, url = receiver
    name_url = url.replace("127.0.0.1", "localtest.ias.invalid")
    async with management_api(database_url, redis_url, tmp_path) as strict:
        o = await new_org(strict)
        # the PUT cannot resolve names it is given: store the settings as an admin would
        r = await strict.client.put(
            o.url, json={"thresholds": [80], "webhook_url": name_url}, headers=o.admins[0].headers
        )
        assert r.status_code == 200, r.text
        await set_used(strict, o.id, 900_000)
        mailer = OutboxMailer(tmp_path / "outbox-strict")
        registry = CollectorRegistry()
        async with httpx.AsyncClient() as http:
            d = BudgetAlertDispatcher(
                sessionmaker=strict.sm,
                budgets=strict.ctx.budgets,  # type: ignore[arg-type]
                mailer=mailer,
                http=http,
                registry=registry,
                resolve=_dns_pointing_at_loopback,
            )
            await d.tick()
        [alert] = await alerts(strict, o.id)
        assert (alert.email_status, alert.webhook_status) == ("delivered", "failed")
        assert "resolves to non-public 127.0.0.1" in (alert.last_error or "")
        assert rec.hits == []
        assert (
            registry.get_sample_value(
                "ias_budget_alert_deliveries_total", {"channel": "webhook", "outcome": "failed"}
            )
            == 1
        )


async def _dns_pointing_at_loopback(host: str, port: int) -> list[str]:
    """What a DNS server answers for a name an attacker points at 127.0.0.1 (no DNS server
    here to ask)."""
    assert host == "localtest.ias.invalid"
    return ["127.0.0.1"]
