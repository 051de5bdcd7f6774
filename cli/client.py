"""The HTTP client of `ias-admin`: one base URL, a Bearer session, the API's errors as exceptions.

Every refusal of the APIs has the body ``{"error": {"code", "message", "details"?}}``; it
becomes an :class:`ApiError` carrying the exit code of the CLI:

====================================  =====
what happened                         exit
====================================  =====
401 (no, wrong, expired, revoked      3
session; a failed login too)
any other 4xx                         1
5xx, connection refused, timeout      4
====================================  =====
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_UNAVAILABLE = 4

USER_AGENT = "ias-admin/0.1"


class CliError(Exception):
    """Something the CLI reports as ``error: <code>: <message>`` and exits with ``exit_code``."""

    def __init__(self, code: str, message: str, exit_code: int, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.exit_code = exit_code
        self.details = details


class ApiError(CliError):
    """An HTTP error answer of the API."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(code, message, exit_code_for(status), details)
        self.status = status


class NotLoggedIn(CliError):
    def __init__(self, message: str) -> None:
        super().__init__("not_logged_in", message, EXIT_AUTH)


class Unreachable(CliError):
    def __init__(self, url: str, exc: Exception) -> None:
        reason = str(exc) or type(exc).__name__
        super().__init__("unreachable", f"cannot reach {url}: {reason}", EXIT_UNAVAILABLE)


def exit_code_for(status: int) -> int:
    if status == 401:
        return EXIT_AUTH
    if 400 <= status < 500:
        return EXIT_API
    return EXIT_UNAVAILABLE


def error_from(response: httpx.Response) -> ApiError:
    """The API error of a refused request (a body without the error shape keeps the status)."""
    code, message, details = f"http_{response.status_code}", response.reason_phrase or "error", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or code)
        message = str(err.get("message") or message)
        details = err.get("details")
    elif isinstance(body, dict) and "detail" in body:
        message = str(body["detail"])
    elif response.text and len(response.text) < 300:
        message = response.text.strip()
    return ApiError(response.status_code, code, message, details)


class Client:
    """Synchronous JSON client of ``{base_url}/api`` and ``{base_url}/analytics``."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        auth: bool = True,
    ) -> Any:
        """The decoded JSON answer (None for an empty one); raises :class:`CliError`."""
        headers = {}
        if auth:
            if not self.token:
                raise NotLoggedIn(f"no session for {self.base_url}: run `ias-admin login` or set IAS_TOKEN")
            headers["Authorization"] = f"Bearer {self.token}"
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, params=clean, json=json, headers=headers)
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, exc) from None
        if response.status_code >= 400:
            raise error_from(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliError(
                "bad_response",
                f"{method} {path}: the server answered {response.status_code} without JSON "
                f"(is {self.base_url} an IAS server?)",
                EXIT_UNAVAILABLE,
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, *, auth: bool = True) -> Any:
        return self.request("POST", path, json=body if body is not None else {}, auth=auth)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def pages(self, path: str, *, limit: int = 500, **params: Any) -> Iterator[dict[str, Any]]:
        """Every row of a cursor-paged listing (``{data, count, next_cursor}``)."""
        cursor = None
        while True:
            page = self.get(path, limit=limit, cursor=cursor, **params)
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, (int, float, str)) else value
