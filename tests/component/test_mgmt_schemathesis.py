"""Schemathesis against the management API's own OpenAPI document (issue 6 item 6).

Every operation of ``/api/openapi.json`` is called with generated requests (schema examples,
the coverage phase's boundary and invalid values, then random inputs) as each kind of caller —
a System Admin, an Org Admin and an Org User, each with a Bearer session — and every answer
must pass: no 5xx, a documented status code, a documented content type, a body that matches
the documented schema.

The app is the real one (``build_management`` on a migrated database of this module's own and
the session's Valkey, in a database index of its own so the login counters of this module's
fuzzing never reach the other modules), served by uvicorn on a free port: its engine lives in
uvicorn's event loop, schemathesis calls it over HTTP. In-process the app serves its paths
without the ``/api`` prefix (Ray Serve adds it), so the base URL is the server's root.

Bounded for CI: a fixed seed (the same requests on every run), ``MAX_EXAMPLES`` random cases
per operation and role on top of the deterministic phases, no example database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import schemathesis
from prometheus_client import CollectorRegistry
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from ias_serve.api.apps import create_management_app
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.migrate import upgrade_head
from ias_serve.db.repositories import MembershipRepository, OrgRepository, UserRepository
from ias_serve.domain.passwords import hash_password
from ias_serve.domain.roles import OrgRole
from ias_serve.services.management.factory import build_management
from ias_serve.settings import Settings
from ias_serve.stack.embedded import free_port
from tests.component.gateway_harness import new_session, serve_in_thread

SEED = 20261128
MAX_EXAMPLES = 20
VALKEY_DB = 11  # this module's own database index on the session's Valkey
PASSWORD = "correct horse battery staple"

SYSTEM_ADMIN, ORG_ADMIN, ORG_USER = "system_admin", "org_admin", "org_user"

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@dataclass
class Caller:
    user_id: uuid.UUID
    token: str
    org_id: uuid.UUID  # the org its generated `org_id`s are aimed at
    spare: list[str] = field(default_factory=list)  # tokens for `POST /auth/logout`


@dataclass
class Fuzz:
    base_url: str
    database_url: str
    callers: dict[str, Caller]
    http: requests.Session


async def _tokens(database_url: str, user_id: uuid.UUID, n: int) -> list[str]:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            return [await new_session(s, user_id) for _ in range(n)]
    finally:
        await engine.dispose()


async def _seed(database_url: str) -> dict[str, Caller]:
    """Two orgs, the three callers, a session each: with an engine of its own (disposed here),
    before the app starts."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            orgs, users = OrgRepository(s), UserRepository(s)
            # the System Admin's generated org ids hit an org nobody else uses: fuzzing may
            # rename or disable it
            sys_org = (await orgs.create("fuzz-sysadmin-playground")).id
            acme = (await orgs.create("fuzz-acme")).id
            callers = {}
            for role, org in ((SYSTEM_ADMIN, sys_org), (ORG_ADMIN, acme), (ORG_USER, acme)):
                u = await users.create(
                    f"{role.replace('_', '-')}@fuzz.example.com",
                    name=f"Fuzz {role}",
                    password_hash=hash_password(PASSWORD),
                    is_system_admin=role == SYSTEM_ADMIN,
                )
                if role != SYSTEM_ADMIN:
                    await MembershipRepository(s).add(u.id, acme, OrgRole(role))
                callers[role] = Caller(u.id, await new_session(s, u.id), org)
        return callers
    finally:
        await engine.dispose()


def _own_valkey_db(redis_url: str) -> str:
    parts = urlsplit(redis_url)
    return urlunsplit(parts._replace(path=f"/{VALKEY_DB}"))


def _closing(app: Any, close: Callable[[], Awaitable[None]]) -> Any:
    """The ASGI app, closing the management context's connections at lifespan shutdown — in
    uvicorn's loop, where they were opened."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)

        async def on_receive() -> dict:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await close()
            return message

        return await app(scope, on_receive, send)

    return wrapped


@pytest.fixture(scope="module")
def fuzz(fresh_database, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    url = fresh_database("fuzz")
    upgrade_head(url)
    callers = asyncio.run(_seed(url))
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    settings = Settings(database_url=url, redis_url=_own_valkey_db(redis_url), home=home)
    ctx, sessions, close = build_management(settings, registry=CollectorRegistry())
    app = create_management_app(management=ctx, sessions=sessions, registry=CollectorRegistry())
    port = free_port()
    with serve_in_thread(_closing(app, close), port), requests.Session() as http:
        yield Fuzz(f"http://127.0.0.1:{port}", url, callers, http)


@pytest.fixture(scope="module")
def management_schema(fuzz: Fuzz) -> Any:
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        }
    )
    schema = schemathesis.openapi.from_url(f"{fuzz.base_url}/openapi.json", config=config)
    paths = schema.raw_schema["paths"]
    # in-process the app serves what Serve mounts at /api from its root
    assert "/org/{org_id}/key" in paths and "/auth/login" in paths, sorted(paths)
    return schema


schema = schemathesis.pytest.from_fixture("management_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 reads and rewrites ``node._nodeid`` to label each operation's subtest;
    pytest 9.2 keeps the id elsewhere (``_id``), so give it the attribute it expects (only
    labels depend on it)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def _aim(case: Case, org_id: uuid.UUID) -> None:
    """Point most generated (well-formed) org ids at the caller's org, so the calls get past
    the 404 of an unknown org; malformed ones (negative cases) and every fourth random UUID
    stay as generated."""
    for params in (case.path_parameters, case.query):
        value = params.get("org_id") if params else None
        if not isinstance(value, str):
            continue
        try:
            generated = uuid.UUID(value)
        except ValueError:
            continue
        if generated.int % 4:
            params["org_id"] = str(org_id)


def _token_for(fuzz: Fuzz, role: str, case: Case) -> str:
    """The caller's session; a spare one of the same user for a logout (which ends it)."""
    caller = fuzz.callers[role]
    if case.operation.method.upper() == "POST" and case.operation.path == "/auth/logout":
        if not caller.spare:
            caller.spare = asyncio.run(_tokens(fuzz.database_url, caller.user_id, 25))
        return caller.spare.pop()
    return caller.token


def _call(fuzz: Fuzz, role: str, case: Case) -> None:
    _aim(case, fuzz.callers[role].org_id)
    headers = {"Authorization": f"Bearer {_token_for(fuzz, role, case)}"}
    case.call_and_validate(
        base_url=fuzz.base_url, session=fuzz.http, headers=headers, checks=CHECKS, timeout=30
    )


@schema.parametrize()
def test_as_system_admin(case: Case, fuzz: Fuzz) -> None:
    _call(fuzz, SYSTEM_ADMIN, case)


@schema.parametrize()
def test_as_org_admin(case: Case, fuzz: Fuzz) -> None:
    _call(fuzz, ORG_ADMIN, case)


@schema.parametrize()
def test_as_org_user(case: Case, fuzz: Fuzz) -> None:
    _call(fuzz, ORG_USER, case)
