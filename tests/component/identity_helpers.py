"""Helpers of the identity component tests (login, invites, members) on top of mgmt_harness.

The management routers are relative to the Serve route prefix `/api` (like `/v1` and
`/analytics`); these clients send the public paths (`/api/auth/login`, ...) with the ASGI
``root_path`` set to `/api`, exactly as Ray Serve's proxy does. Each client sends its own
client address in ``X-Test-Client`` (the apps are built with
``client_address_header="X-Test-Client"``), so the per-address login limit of one test does
not leak into another sharing the session's Valkey.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from ias_serve.api.apps import create_management_app
from ias_serve.db.models import AuditEntry
from ias_serve.services.sessions import SessionAuthenticator
from tests.component.mgmt_harness import Api, management_api
from tests.component.mgmt_resources_support import audit_rows, last_audit_id

ADDRESS_HEADER = "X-Test-Client"


class Identity:
    """The harness's :class:`Api` plus clients routed like Serve and audit-log helpers."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.app = create_management_app(
            management=api.ctx, sessions=SessionAuthenticator(api.sm), registry=CollectorRegistry()
        )
        self._clients: list[httpx.AsyncClient] = []
        self.client = self.new_client()

    def new_client(self, address: str | None = None) -> httpx.AsyncClient:
        """A client with its own cookie jar and (default: random) client address."""
        transport = httpx.ASGITransport(app=self.app, root_path="/api")
        client = httpx.AsyncClient(
            transport=transport,
            base_url="http://ias.test",
            headers={
                ADDRESS_HEADER: address or f"198.51.100.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"
            },
        )
        self._clients.append(client)
        return client

    async def aclose(self) -> None:
        for c in self._clients:
            await c.aclose()

    async def last_audit_id(self) -> int:
        return await last_audit_id(self.api)

    async def audit_since(self, after_id: int) -> list[AuditEntry]:
        return await audit_rows(self.api, after_id=after_id)

    async def one_audit(self, after_id: int, action: str) -> AuditEntry:
        """Exactly one row was written since ``after_id``, of ``action``."""
        rows = await self.audit_since(after_id)
        assert [r.action_type for r in rows] == [action], [(r.action_type, r.payload) for r in rows]
        return rows[0]

    async def no_audit(self, after_id: int) -> None:
        rows = await self.audit_since(after_id)
        assert rows == [], [(r.action_type, r.payload) for r in rows]


def assert_no_secrets(payload: Any, *secrets: str) -> None:
    text = json.dumps(payload)
    for s in secrets:
        assert s not in text, f"secret leaked into the audit payload: {text}"


def error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()["error"]
    assert set(body) <= {"code", "message", "details"} and body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


@asynccontextmanager
async def identity_api(
    database_url: str, redis_url: str, home: Path, **overrides: Any
) -> AsyncIterator[Identity]:
    overrides.setdefault("client_address_header", ADDRESS_HEADER)
    async with management_api(database_url, redis_url, home, **overrides) as api:
        ident = Identity(api)
        try:
            yield ident
        finally:
            await ident.aclose()
