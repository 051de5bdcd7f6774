"""Per-request context for ASGI apps: the request id, in logs and in the response.

:class:`RequestContextMiddleware` is a pure ASGI middleware (no ``BaseHTTPMiddleware``: it
neither buffers nor breaks streaming responses, and the context it sets is visible to the
endpoint, its background streaming iterator and everything they log):

* takes ``X-Request-ID`` from the request when it is 1-128 characters of
  ``[A-Za-z0-9._-]``, otherwise generates one (``uuid4().hex``);
* sets :data:`~ias_serve.observability.logging.request_id_var` (and clears
  :data:`~ias_serve.observability.logging.org_id_var`) for the request, and stores the id in
  ``request.state.request_id``;
* sends it back in the ``X-Request-ID`` response header;
* restores both context variables when the request ends.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ias_serve.observability.logging import org_id_var, request_id_var

REQUEST_ID_HEADER: Final = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def valid_request_id(value: str | None) -> bool:
    return value is not None and _VALID_REQUEST_ID.fullmatch(value) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def _incoming_request_id(scope: Scope) -> str | None:
    wanted = REQUEST_ID_HEADER.lower().encode("latin-1")
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


class RequestContextMiddleware:
    """Pure ASGI middleware; add with ``app.add_middleware(RequestContextMiddleware)``."""

    def __init__(self, app: ASGIApp, *, echo_header: bool = True) -> None:
        # echo_header=False behind Ray Serve: its own RequestIdMiddleware already adds the
        # header to every response (and puts a generated id in the request when missing).
        self.app = app
        self.echo_header = echo_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = _incoming_request_id(scope)
        request_id = incoming if incoming is not None and valid_request_id(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        rid_token = request_id_var.set(request_id)
        org_token = org_id_var.set(None)
        try:
            # behind Serve the header is Ray's to add: pass `send` through untouched (no extra
            # wrapper call for every streamed chunk)
            await self.app(scope, receive, send_with_header if self.echo_header else send)
        finally:
            org_id_var.reset(org_token)
            request_id_var.reset(rid_token)
