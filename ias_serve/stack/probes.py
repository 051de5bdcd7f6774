"""Health probes of the stores and the Serve apps, for URLs `ias up` started or was given."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from ias_serve.stack.embedded import tcp_probe

HTTP_APPS = {"gateway": "/v1", "management": "/api", "analytics": "/analytics"}
ALL_APPS = (*HTTP_APPS, "usage")


@dataclass
class Health:
    name: str
    ok: bool
    detail: str


def probe_postgres(url: str) -> Health:
    import psycopg

    from ias_serve.db.engine import libpq_dsn

    try:
        with psycopg.connect(libpq_dsn(url), connect_timeout=3) as c:
            version = c.execute("SHOW server_version").fetchone()[0]
        return Health("postgres", True, f"PostgreSQL {version}")
    except Exception as e:
        return Health("postgres", False, _short(e))


def probe_redis(url: str) -> Health:
    import redis

    try:
        r = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        info = r.info("server")
        r.close()
        name = "Valkey" if "valkey_version" in info else "Redis"
        return Health("valkey", True, f"{name} {info.get('valkey_version') or info.get('redis_version')}")
    except Exception as e:
        return Health("valkey", False, _short(e))


def probe_nats(url: str) -> Health:
    u = urlparse(url)
    if u.scheme not in ("nats", "tls") or not u.hostname:
        return Health("nats", False, f"not a nats:// URL: {url}")
    ok = tcp_probe(u.hostname, u.port or 4222, None, b"INFO", timeout=3)
    return Health("nats", ok, "answers" if ok else f"no NATS server at {u.hostname}:{u.port or 4222}")


def probe_clickhouse(dsn: str) -> Health:
    if dsn.startswith("chdb://"):
        path = Path(dsn.removeprefix("chdb://"))
        ok = path.is_dir()
        return Health("clickhouse", ok, f"chDB directory {path}" if ok else f"missing directory {path}")
    try:
        u = urlparse(dsn)
        r = httpx.get(f"{u.scheme}://{u.hostname}:{u.port or 8123}/ping", timeout=3)
        return Health("clickhouse", r.status_code == 200, f"HTTP {r.status_code}")
    except httpx.HTTPError as e:
        return Health("clickhouse", False, _short(e))


def probe_serve(status_file: Path, base_url: str, *, max_age_s: float = 10.0) -> list[Health]:
    """Every app RUNNING in the launcher's status file, and every HTTP app's /health is 200."""
    try:
        st = json.loads(status_file.read_text())
    except (OSError, ValueError):
        return [Health(f"app:{a}", False, "no status from the Serve launcher") for a in ALL_APPS]
    stale = time.time() - float(st.get("ts", 0)) > max_age_s
    apps = st.get("apps", {})
    out = []
    for name in ALL_APPS:
        app = apps.get(name)
        if stale:
            out.append(Health(f"app:{name}", False, "launcher status is stale (launcher hung?)"))
            continue
        if not app or app.get("status") != "RUNNING":
            out.append(Health(f"app:{name}", False, _app_detail(app)))
            continue
        if name in HTTP_APPS:
            url = f"{base_url}{HTTP_APPS[name]}/health"
            try:
                r = httpx.get(url, timeout=3)
                out.append(Health(f"app:{name}", r.status_code == 200, f"{url} -> {r.status_code}"))
            except httpx.HTTPError as e:
                out.append(Health(f"app:{name}", False, f"{url}: {_short(e)}"))
        else:
            out.append(Health(f"app:{name}", True, "RUNNING"))
    return out


def _app_detail(app: dict | None) -> str:
    """`DEPLOYING (waiting for LLMServer:x: UPDATING)`, or the app's status and message."""
    if not app:
        return "NOT DEPLOYED"
    status = app.get("status", "?")
    pending = {d: s for d, s in (app.get("deployments") or {}).items() if s != "HEALTHY"}
    if status == "DEPLOYING" and pending:
        return f"{status} (waiting for {', '.join(f'{d}: {s}' for d, s in sorted(pending.items()))})"
    message = " ".join(str(app.get("message") or "").split())
    return f"{status} {message[:300]}".strip()


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    u = urlparse(url)
    if not u.password:
        return url
    netloc = u.netloc.replace(f":{u.password}@", ":***@", 1)
    return u._replace(netloc=netloc).geturl()


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:200]
