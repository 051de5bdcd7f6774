"""The web portal served at `/` by the management app, the API at `/api` untouched
(ias_serve/api/portal.py), on a build directory of the test's own, through real HTTP (ASGI)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from ias_serve.api.apps import create_management_app
from ias_serve.api.portal import SECURITY_HEADERS, create_portal_root
from ias_serve.errors import ConfigurationError
from ias_serve.stack.portal import build as build_portal
from ias_serve.stack.portal import needs_build

INDEX = "<!doctype html><title>IAS</title><div id=root></div><script src=/assets/app-3f2a.js></script>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "app-3f2a.js").write_text("console.log('ias')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    return tmp_path


def _client(dist: Path) -> httpx.AsyncClient:
    api = create_management_app(registry=CollectorRegistry())
    app = create_portal_root(api, dist)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ias")


async def test_files_fallback_and_cache_policy(dist: Path) -> None:
    async with _client(dist) as c:
        root = await c.get("/")
        assert root.status_code == 200 and root.text == INDEX and root.headers["cache-control"] == "no-cache"
        for k, v in SECURITY_HEADERS.items():
            assert root.headers[k] == v
        asset = await c.get("/assets/app-3f2a.js")
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
        assert (await c.get("/favicon.svg")).headers["cache-control"] == "no-cache"
        # client routes of the SPA get index.html (deep links, the invite link of an e-mail)
        for route in ("/keys", "/org/6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b/usage", "/invite/iasi_abc"):
            r = await c.get(route)
            assert r.status_code == 200 and r.text == INDEX, route
        # a missing file is a 404, not the app (a broken asset must not become HTML)
        assert (await c.get("/assets/gone-1234.js")).status_code == 404
        assert (await c.get("/robots.txt")).status_code == 404
        assert (await c.post("/keys")).status_code in (404, 405)


async def test_the_api_is_untouched_under_it(dist: Path) -> None:
    async with _client(dist) as c:
        health = await c.get("/api/health")
        assert health.status_code == 200 and health.json()["app"] == "management"
        assert "content-security-policy" not in health.headers  # API responses: JSON, no CSP
        # the lifespan of the API app ran (its startup hooks): its OpenAPI answers under /api
        assert (await c.get("/api/openapi.json")).json()["info"]["title"] == "IAS management API"
        # an unknown API path is the API's own JSON 404, never the SPA
        r = await c.get("/api/no-such-thing")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_without_a_build_it_says_how_to_build(tmp_path: Path) -> None:
    async with _client(tmp_path / "missing") as c:
        r = await c.get("/keys")
        assert r.status_code == 503 and "make portal" in r.text
        assert (await c.get("/api/health")).status_code == 200


def _package(portal: Path, build: str) -> None:
    portal.mkdir(parents=True, exist_ok=True)
    (portal / "package.json").write_text(
        json.dumps({"name": "p", "private": True, "scripts": {"build": build}})
    )
    (portal / "node_modules").mkdir(exist_ok=True)  # nothing to install
    (portal / "src").mkdir(exist_ok=True)
    (portal / "src" / "main.tsx").write_text("export {}")


WRITE_DIST = (
    "node -e \"const f=require('fs');f.mkdirSync('dist',{recursive:true});"
    "f.writeFileSync('dist/index.html','ok')\""
)


def test_ias_up_builds_the_portal_only_when_needed(tmp_path: Path) -> None:
    portal = tmp_path / "portal"
    assert build_portal(portal, print) == "no portal sources here"
    _package(portal, WRITE_DIST)
    assert needs_build(portal)
    said: list[str] = []
    assert build_portal(portal, said.append) == "built" and said == ["portal: npm run build"]
    assert (portal / "dist" / "index.html").read_text() == "ok" and not needs_build(portal)
    assert build_portal(portal, said.append) == "up to date"
    later = (portal / "dist" / "index.html").stat().st_mtime + 5
    os.utime(portal / "src" / "main.tsx", (later, later))  # a source edited after the build
    assert needs_build(portal)


def test_a_failing_portal_build_says_what_npm_said(tmp_path: Path) -> None:
    _package(tmp_path, "node -e \"console.error('type error in Keys.tsx'); process.exit(2)\"")
    with pytest.raises(ConfigurationError, match=r"type error in Keys\.tsx"):
        build_portal(tmp_path, print)
