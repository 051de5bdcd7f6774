"""What a test did, kept for its failure report: HTTP exchanges (keys masked) and the rows it
looked for in PostgreSQL and ClickHouse.

A broken deploy must be diagnosable from the CI log alone (issue 8, item 5): on failure the
E2E conftest appends :meth:`Trace.render` to the test's report.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

# API keys (ias-…), session (iass_…) and invite (iasi_…) tokens: keep the part a person
# recognises (what the portal and the CLI show), hide the rest
_SECRET: Final = re.compile(
    r"\b(ias-[A-Za-z0-9_-]{8}|iass_[A-Za-z0-9_-]{4}|iasi_[A-Za-z0-9_-]{4})[A-Za-z0-9_-]{6,}"
)
_SECRET_FIELDS: Final = frozenset({"password", "new_password", "current_password", "admin_password"})
_MAX_BODY: Final = 3000
_MAX_ROWS: Final = 20


def mask(text: str) -> str:
    """``text`` with every IAS key and token cut to its prefix (``ias-AbCdEfGh…``)."""
    return _SECRET.sub(r"\1…", text)


def _mask_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if k in _SECRET_FIELDS else _mask_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    if isinstance(value, str):
        return mask(value)
    return value


def masked_body(raw: bytes | str | None) -> str:
    if not raw:
        return ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        shown = json.dumps(_mask_json(json.loads(text)), ensure_ascii=False)
    except ValueError:
        shown = mask(text)
    return shown if len(shown) <= _MAX_BODY else shown[:_MAX_BODY] + f"… ({len(shown)} characters)"


def _headers(headers: httpx.Headers, names: tuple[str, ...]) -> str:
    return ", ".join(f"{n}: {mask(headers[n])}" for n in names if n in headers)


@dataclass
class Trace:
    """The exchanges and lookups of one test, in order."""

    entries: list[str] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    def __repr__(self) -> str:
        return f"Trace({len(self.entries)} entries, printed below on failure)"

    def _add(self, text: str) -> None:
        self.entries.append(f"[{time.monotonic() - self.t0:7.3f}s] {text}")

    # --- HTTP -------------------------------------------------------------------------------
    def on_response(self, response: httpx.Response) -> None:
        """httpx response hook: records the request and the answer (a stream: status only)."""
        req = response.request
        streamed = response.headers.get("content-type", "").startswith("text/event-stream")
        if not streamed:
            response.read()
        text = (
            f"{req.method} {req.url} [{_headers(req.headers, ('authorization', 'x-request-id'))}]\n"
            f"    request:  {masked_body(req.content) or '-'}\n"
            f"    response: {response.status_code} "
            f"[{_headers(response.headers, ('content-type', 'x-request-id'))}] "
            + ("(event stream)" if streamed else masked_body(response.content) or "-")
        )
        self._add(text)

    def hooks(self) -> dict[str, list[Any]]:
        return {"response": [self.on_response]}

    def note(self, text: str) -> None:
        self._add(mask(text))

    # --- stores -----------------------------------------------------------------------------
    def lookup(self, store: str, sql: str, params: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        shown = [json.dumps(_mask_json(r), default=str, ensure_ascii=False) for r in rows[:_MAX_ROWS]]
        more = f"\n      … and {len(rows) - _MAX_ROWS} more" if len(rows) > _MAX_ROWS else ""
        self._add(
            f"{store}: {' '.join(sql.split())}\n    params: {json.dumps(params, default=str)}\n"
            f"    rows ({len(rows)}):" + "".join(f"\n      {s}" for s in shown) + more
        )

    def render(self) -> str:
        return "\n".join(self.entries) if self.entries else "(no exchanges recorded)"
