"""The web portal's static files, served at ``/`` next to the management API at ``/api``.

The portal (``portal/``, a React SPA) is built to ``portal/dist`` (``npm ci && npm run build``;
``ias up`` does it when needed). :func:`create_portal_root` puts the management app under
``/api`` and the SPA under ``/``:

* a file of the build is served as is; hashed assets (``/assets/…``) are cached for a year,
  ``index.html`` never (a new deploy is picked up at the next navigation);
* any other ``GET`` of a path without a file extension (a client route: ``/keys``,
  ``/invite/iasi_…``) answers ``index.html``: the SPA routes it (SPA fallback);
* every response carries the security headers below (CSP: scripts, styles and fetches from
  this origin only; no framing);
* without a build, ``/`` answers 503 with how to build it (the API keeps working).

The Serve route prefixes of the other apps (``/v1``, ``/analytics``) are longer, so Serve sends
those to their own apps; this one only sees what is left.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REPO_PORTAL_DIST: Final = Path(__file__).resolve().parents[2] / "portal" / "dist"

SECURITY_HEADERS: Final = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
_IMMUTABLE: Final = "public, max-age=31536000, immutable"


class SpaFiles(StaticFiles):
    """Static files with the SPA fallback and the cache policy above."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as e:
            if e.status_code != 404 or not _client_route(path, scope):
                raise
            response = await super().get_response("index.html", scope)
        if response.status_code == 200 or response.status_code == 304:
            cached = path.startswith("assets/") and response.status_code == 200
            response.headers["cache-control"] = _IMMUTABLE if cached else "no-cache"
        return response


def _client_route(path: str, scope: Scope) -> bool:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return scope["method"] in ("GET", "HEAD") and "." not in last and not path.startswith("assets/")


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every portal response (not to the API's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def _not_built(dist: Path) -> ASGIApp:
    async def page(_: object) -> PlainTextResponse:
        return PlainTextResponse(
            f"The web portal is not built ({dist} is missing).\n"
            "Build it with `make portal` (npm ci && npm run build in portal/); the APIs work meanwhile:\n"
            "  /api (management), /analytics, /v1 (OpenAI-compatible inference)\n",
            status_code=503,
        )

    return Starlette(routes=[Route("/{path:path}", page)])


def create_portal_root(api: Starlette, dist: Path | None = None) -> Starlette:
    """``/api`` → ``api`` (the management app, whose lifespan this app runs), ``/`` → the SPA."""
    dist = dist or REPO_PORTAL_DIST
    spa: ASGIApp = (
        SpaFiles(directory=dist, html=True) if (dist / "index.html").is_file() else _not_built(dist)
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with api.router.lifespan_context(api):
            yield

    return Starlette(routes=[Mount("/api", app=api), Mount("/", app=SecurityHeaders(spa))], lifespan=lifespan)
