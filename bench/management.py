"""Management API listing benchmark (issue 6 item 8; a benchmark, not a timed test).

    .venv/bin/python -m bench.management [--keys 10000] [--audit 10000] [--limits 50 500] [--rounds 2]
        [--server-gc shipped|unfrozen|both]

Goal: a listing of 10,000 API keys or audit rows pages in under 100 ms per page.

It starts an embedded PostgreSQL and Valkey in a temp directory (the same code as `ias up`),
migrates the database, and writes (bulk inserts, then ``ANALYZE``) one org with ``--keys`` API
keys of 20 owners (every tenth revoked; created in groups of five with the same timestamp, so
the keyset's tie-break is exercised) and ``--audit`` audit rows, next to a second org's keys
and rows and some global (org-less) audit rows that the org's listings must filter out. Then it
serves the management app with uvicorn, in a process of its own (like a Serve replica; the
client's work and garbage stay out of it) on a free port, mounted at ``/api`` as Serve mounts
it, and pages with httpx through

* ``GET /api/org/{id}/key`` as the org's Org Admin (every key of the org),
* ``GET /api/org/{id}/audit_log`` as the Org Admin,
* ``GET /api/audit_log?org_id={id}`` as a System Admin (the global log filtered to the org),

at each ``--limits`` page size, following ``next_cursor`` to the end, ``--rounds`` times (after
one warm-up request per listing). A page's time is the client's: from sending the request to
the last byte of the answer (parsing the JSON is not counted). Every pass checks that it saw
each row exactly once and that ``count`` is right.

``--server-gc``: ``shipped`` runs the app's own lifespan, which calls ``gc.freeze()`` at start
(``ias_serve/api/apps.py``), so that CPython's full (generation 2) collections no longer walk
the start-up heap (imports, the app, SQLAlchemy's metadata) — those collections are what the
slowest pages waited for; ``unfrozen`` skips that (the app as it was before), for comparison;
``both`` (the default) measures one then the other, each on a fresh server process.

Prints a Markdown table and writes JSON to bench/results/. The servers are stopped at the end,
also on errors (the temp directory is removed unless ``--keep``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import insert, text
from starlette.applications import Starlette
from starlette.routing import Mount

from bench.common import pct, save_results
from ias_serve.api.apps import create_management_app
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.migrate import upgrade_head
from ias_serve.db.models import ApiKey, AuditEntry
from ias_serve.db.repositories import MembershipRepository, OrgRepository, SessionRepository, UserRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.roles import OrgRole
from ias_serve.domain.tokens import TokenKind, hash_token, new_token
from ias_serve.services.management.factory import build_management
from ias_serve.settings import Settings
from ias_serve.stack.embedded import EmbeddedPostgres, EmbeddedValkey, free_port, stop_pid, tail

REPO = Path(__file__).resolve().parents[1]
GOAL_MS = 100.0
GC_FREEZE_ENV = "IAS_BENCH_GC_FREEZE"
OWNERS = 20
CHUNK = 2000


@dataclass
class Run:
    server_gc: str
    listing: str
    limit: int
    round: int
    pages: int
    rows: int
    first_ms: float
    last_ms: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    mean_ms: float
    total_s: float
    exact: bool


@dataclass
class Seeded:
    org_id: uuid.UUID
    admin_token: str  # Org Admin of the org
    sysadmin_token: str


# --- servers ---------------------------------------------------------------------------------


@contextmanager
def stores(base: Path) -> Iterator[tuple[str, str]]:
    """Embedded PostgreSQL and Valkey under ``base``: (database URL, Redis URL); stopped after."""
    started = []
    try:
        pg = EmbeddedPostgres(base / "postgres", free_port(), base / "postgres.log").start()
        started.append((pg, EmbeddedPostgres.stop_signal))
        vk = EmbeddedValkey(base / "valkey", free_port(), base / "valkey.log", persist=False).start()
        started.append((vk, EmbeddedValkey.stop_signal))
        yield pg.url, vk.url
    finally:
        for srv, sig in reversed(started):
            stop_pid(srv.pid, sig=sig)


@contextmanager
def serving(base: Path, port: int, database_url: str, redis_url: str, gc_freeze: bool) -> Iterator[None]:
    """:func:`server_app` under uvicorn in a process of its own on 127.0.0.1:port (log in
    ``base``), until the block ends."""
    env = {
        **os.environ,
        "IAS_DATABASE_URL": database_url,
        "IAS_REDIS_URL": redis_url,
        "IAS_HOME": str(base / "home"),
        GC_FREEZE_ENV: "1" if gc_freeze else "",
    }
    argv = [sys.executable, "-m", "uvicorn", "bench.management:server_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    log = base / f"server-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the management app exited with {proc.returncode}:\n{tail(log)}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the management app did not answer within 60 s:\n{tail(log)}")
            time.sleep(0.2)
        yield
    finally:
        stop_pid(proc.pid)  # SIGTERM: uvicorn runs the lifespan shutdown (closes the pools)


def server_app() -> Starlette:
    """The uvicorn factory of the server process (settings from ``IAS_*``)."""
    return management_root(Settings(), shipped=os.environ.get(GC_FREEZE_ENV) == "1")


def management_root(settings: Settings, *, shipped: bool = True) -> Starlette:
    """The management app mounted at ``/api`` (as Serve mounts it), with its own lifespan
    (``shipped``: Serve runs it) or without; its connections close at shutdown, in uvicorn's
    event loop where they were opened."""
    ctx, sessions, close = build_management(settings, registry=CollectorRegistry())
    app = create_management_app(management=ctx, sessions=sessions, registry=CollectorRegistry())

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            if shipped:  # a Mount does not run the mounted app's lifespan by itself
                async with app.router.lifespan_context(app):
                    yield
            else:
                yield
        finally:
            await close()

    return Starlette(routes=[Mount("/api", app=app)], lifespan=lifespan)


# --- data ------------------------------------------------------------------------------------


def _key_rows(org_id: uuid.UUID, owners: list[uuid.UUID], n: int, t0: datetime, tag: str) -> list[dict]:
    rows = []
    for i in range(n):
        created = t0 - timedelta(seconds=i // 5)  # groups of five share a timestamp
        rows.append(
            {
                "id": uuid.uuid4(),
                "key_hash": hashlib.sha256(f"{tag}-{i}".encode()).hexdigest(),
                "prefix": f"ias-{hashlib.md5(f'{tag}-{i}'.encode()).hexdigest()[:8]}",
                "name": f"{tag}-key-{i}",
                "user_id": owners[i % len(owners)],
                "org_id": org_id,
                "created_at": created,
                "last_used_at": created + timedelta(minutes=5) if i % 3 == 0 else None,
                "revoked_at": created + timedelta(hours=1) if i % 10 == 0 else None,
                "expires_at": created + timedelta(days=90) if i % 4 == 0 else None,
            }
        )
    return rows


def _audit_rows(org_id: uuid.UUID | None, actor: uuid.UUID, n: int, t0: datetime) -> list[dict]:
    actions = list(AuditAction)
    rows = []
    for i in range(n):
        rows.append(
            {
                "ts": t0 - timedelta(seconds=i // 3),  # groups of three share a timestamp
                "org_id": org_id,
                "user_id_performing_action": actor,
                "action_type": actions[i % len(actions)].value,
                "payload": {"key_id": str(uuid.uuid4()), "name": f"row-{i}", "prefix": "ias-AbCdEfGh"},
            }
        )
    return rows


async def seed(database_url: str, n_keys: int, n_audit: int) -> Seeded:
    engine = make_engine(database_url)
    sm = make_sessionmaker(engine)
    expires = datetime.now(UTC) + timedelta(hours=6)
    try:
        async with sm() as s, s.begin():
            org = await OrgRepository(s).create("bench-org")
            other = await OrgRepository(s).create("bench-other-org")
            users = UserRepository(s)
            admin = await users.create("admin@bench.example.com", name="Bench Org Admin")
            sysadmin = await users.create("sys@bench.example.com", name="Bench Sys", is_system_admin=True)
            await MembershipRepository(s).add(admin.id, org.id, OrgRole.ORG_ADMIN)
            owners = [admin.id]
            for i in range(OWNERS - 1):
                u = await users.create(f"owner-{i}@bench.example.com", name=f"Owner {i}")
                await MembershipRepository(s).add(u.id, org.id, OrgRole.ORG_USER)
                owners.append(u.id)
            outsider = await users.create("outsider@bench.example.com", name="Outsider")
            await MembershipRepository(s).add(outsider.id, other.id, OrgRole.ORG_ADMIN)
            tokens = {}
            for who in (admin.id, sysadmin.id):
                tokens[who] = new_token(TokenKind.SESSION)
                await SessionRepository(s).create(
                    user_id=who, token_hash=hash_token(tokens[who]), expires_at=expires
                )
        t0 = datetime.now(UTC) - timedelta(minutes=1)
        batches = [
            (ApiKey, _key_rows(org.id, owners, n_keys, t0, "bench")),
            (ApiKey, _key_rows(other.id, [outsider.id], n_keys // 10, t0, "other")),
            (AuditEntry, _audit_rows(org.id, admin.id, n_audit, t0)),
            (AuditEntry, _audit_rows(other.id, outsider.id, n_audit // 5, t0)),
            (AuditEntry, _audit_rows(None, sysadmin.id, n_audit // 20, t0)),
        ]
        async with sm() as s, s.begin():
            for model, rows in batches:
                for i in range(0, len(rows), CHUNK):
                    await s.execute(insert(model), rows[i : i + CHUNK])
        async with engine.begin() as conn:  # planner statistics, as autovacuum would gather them
            await conn.execute(text("ANALYZE api_keys"))
            await conn.execute(text("ANALYZE audit_log"))
        return Seeded(org.id, tokens[admin.id], tokens[sysadmin.id])
    finally:
        await engine.dispose()


# --- paging ----------------------------------------------------------------------------------


def page_through(
    client: httpx.Client,
    server_gc: str,
    listing: str,
    path: str,
    params: dict,
    token: str,
    limit: int,
    rnd: int,
    want: int,
) -> Run:
    headers = {"Authorization": f"Bearer {token}"}
    times: list[float] = []
    seen: list[Any] = []
    counts: set[int] = set()
    cursor: str | None = None
    started = time.perf_counter()
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        t0 = time.perf_counter()
        r = client.get(path, params=query, headers=headers)  # reads the whole body
        times.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{listing}: page {len(times)} answered {r.status_code}: {r.text[:500]}")
        body = r.json()
        seen.extend(row["id"] for row in body["data"])
        counts.add(body["count"])
        cursor = body["next_cursor"]
        if len(times) % 50 == 0:
            print(f"  [{server_gc}] {listing} limit={limit} round {rnd}: {len(times)} pages")
        if cursor is None:
            break
    total = time.perf_counter() - started
    exact = len(seen) == want and len(set(seen)) == want and counts == {want}
    return Run(
        server_gc=server_gc,
        listing=listing,
        limit=limit,
        round=rnd,
        pages=len(times),
        rows=len(seen),
        first_ms=round(times[0], 2),
        last_ms=round(times[-1], 2),
        p50_ms=round(pct(times, 0.50), 2),
        p95_ms=round(pct(times, 0.95), 2),
        max_ms=round(max(times), 2),
        mean_ms=round(statistics.fmean(times), 2),
        total_s=round(total, 2),
        exact=exact,
    )


def run(args: argparse.Namespace, base: Path) -> list[Run]:
    with stores(base) as (database_url, redis_url):
        print(f"stores up in {base}; migrating ...", flush=True)
        upgrade_head(database_url)
        t0 = time.perf_counter()
        seeded = asyncio.run(seed(database_url, args.keys, args.audit))
        print(
            f"seeded {args.keys:,} keys (+{args.keys // 10:,} in another org) and {args.audit:,} audit rows "
            f"(+{args.audit // 5 + args.audit // 20:,} elsewhere) in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        org = seeded.org_id
        listings = [
            ("org keys", f"/api/org/{org}/key", {}, seeded.admin_token, args.keys),
            ("org audit_log", f"/api/org/{org}/audit_log", {}, seeded.admin_token, args.audit),
            ("audit_log?org_id", "/api/audit_log", {"org_id": str(org)}, seeded.sysadmin_token, args.audit),
        ]
        runs: list[Run] = []
        modes = ["unfrozen", "shipped"] if args.server_gc == "both" else [args.server_gc]
        for mode in modes:
            port = free_port()
            print(f"server process (gc: {mode}) on port {port}", flush=True)
            with (
                serving(base, port, database_url, redis_url, gc_freeze=mode == "shipped"),
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
            ):
                for listing, path, params, token, want in listings:
                    # warm-up: the connections of the pools, the app's first-call costs
                    auth = {"Authorization": f"Bearer {token}"}
                    client.get(path, params={**params, "limit": 50}, headers=auth).raise_for_status()
                    for limit in args.limits:
                        for rnd in range(1, args.rounds + 1):
                            res = page_through(client, mode, listing, path, params, token, limit, rnd, want)
                            print(
                                f"[{mode}] {listing} limit={limit} round {rnd}: {res.pages} pages, "
                                f"p50 {res.p50_ms} ms, p95 {res.p95_ms} ms, max {res.max_ms} ms, "
                                f"first {res.first_ms} ms, last {res.last_ms} ms, exact={res.exact}",
                                flush=True,
                            )
                            runs.append(res)
        return runs


def table(runs: list[Run]) -> str:
    head = ("server gc", "listing", "limit", "round", "pages", "rows", "first ms", "last ms")
    head += ("p50 ms", "p95 ms", "max ms", "mean ms", "total s", "exact", f"< {GOAL_MS:.0f} ms")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        cells = (r.server_gc, r.listing, r.limit, r.round, r.pages, f"{r.rows:,}", r.first_ms, r.last_ms)
        cells += (r.p50_ms, r.p95_ms, r.max_ms, r.mean_ms, r.total_s, r.exact)
        cells += ("yes" if r.max_ms < GOAL_MS else "NO",)
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--audit", type=int, default=10_000)
    ap.add_argument("--limits", type=int, nargs="+", default=[50, 500])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--server-gc", choices=["shipped", "unfrozen", "both"], default="both")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory (data, logs)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress lines as they come, also into a file
    base = Path(tempfile.mkdtemp(prefix="ias-bench-mgmt-"))
    ok = False
    try:
        runs = run(args, base)
        save_results(
            "management",
            runs,
            table(runs),
            keys=args.keys,
            audit_rows=args.audit,
            goal_ms=GOAL_MS,
            python=sys.version.split()[0],
        )
        ok = True
    finally:
        if args.keep or not ok:
            print(f"temp directory kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    if not all(r.exact for r in runs):
        raise SystemExit("FAIL: a listing missed or repeated rows, or miscounted")
    failed = False
    for mode in dict.fromkeys(r.server_gc for r in runs):
        slow = [r for r in runs if r.server_gc == mode and r.max_ms >= GOAL_MS]
        worst = max(r.max_ms for r in runs if r.server_gc == mode)
        verdict = f"{len(slow)} pass(es) had a page of {GOAL_MS:.0f} ms or more" if slow else "all under"
        if mode == "shipped":
            print(f"as shipped: {'FAIL' if slow else 'OK'}: {verdict} (slowest page {worst} ms)")
            failed = failed or bool(slow)
        else:
            print(f"for comparison, without gc.freeze(): {verdict} (slowest page {worst} ms)")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
