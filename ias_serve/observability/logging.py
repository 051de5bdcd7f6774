"""JSON logs: one object per line on stdout, with the request and trace of the moment.

Every record becomes ``{"ts", "level", "logger", "msg", "request_id", "trace_id"}`` plus
``org_id`` when known, any ``extra=`` fields, and ``exc_info``/``stack_info`` as strings.

* ``request_id`` comes from :data:`request_id_var` (set per request by
  :class:`ias_serve.observability.middleware.RequestContextMiddleware`);
* ``org_id`` from :data:`org_id_var` (set by whoever authenticated the request);
* ``trace_id`` from the current OpenTelemetry span, when there is a valid one.

An ``extra=`` field may fill one of these keys while it is unset (a background worker
logging the ``request_id`` of the event it handles) but never overrides a value from context.

Never log API keys, passwords, session/invite tokens or prompts. As a safety net, ``extra``
fields whose name designates a secret or a prompt (see :func:`is_sensitive_key`) are written
as ``"[REDACTED]"``, in nested dicts too; the message text itself is not inspected.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Final

from opentelemetry import trace

request_id_var: ContextVar[str | None] = ContextVar("ias_request_id", default=None)
org_id_var: ContextVar[str | None] = ContextVar("ias_org_id", default=None)

REDACTED: Final = "[REDACTED]"
_SENSITIVE_KEYS: Final = frozenset(
    {
        "password",
        "passwd",
        "token",
        "key",
        "api_key",
        "apikey",
        "authorization",
        "cookie",
        "set_cookie",
        "secret",
        "prompt",
        "messages",
    }
)
_SENSITIVE_SUFFIXES: Final = ("_password", "_token", "_secret", "_api_key", "_key_plaintext")

# Attributes every LogRecord has: everything else on a record came from ``extra=``.
_RECORD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def is_sensitive_key(key: str) -> bool:
    """True for field names that hold secrets or prompts (``input_tokens`` is not one)."""
    k = key.lower().replace("-", "_")
    return k in _SENSITIVE_KEYS or k.endswith(_SENSITIVE_SUFFIXES)


def redact(value: Any) -> Any:
    """``value`` with the values of sensitive keys replaced, recursively through dicts/lists."""
    if isinstance(value, Mapping):
        return {str(k): REDACTED if is_sensitive_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def current_trace_id() -> str | None:
    """The 32-hex trace id of the current span, or None outside a valid span."""
    ctx = trace.get_current_span().get_span_context()
    return trace.format_trace_id(ctx.trace_id) if ctx.is_valid else None


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module docstring for the keys)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
            "trace_id": current_trace_id(),
        }
        if (org_id := org_id_var.get()) is not None:
            out["org_id"] = org_id
        for key, value in record.__dict__.items():
            # an extra may fill a context key that is unset (a worker logging an event's
            # request_id), never override one that is set
            if key not in _RECORD_ATTRS and not key.startswith("_") and out.get(key) is None:
                out[key] = REDACTED if is_sensitive_key(key) else redact(value)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc_info"] = record.exc_text
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class _IasJsonHandler(logging.StreamHandler[IO[str]]):
    """Marker type: the one handler :func:`configure_logging` owns on the root logger."""


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Install the JSON handler on the root logger (idempotent); return it.

    ``stream`` defaults to the ``sys.stdout`` of the moment of the call.
    Calling it again updates the level and stream of the same handler instead of adding a
    second one. Handlers installed by others are left alone.
    """
    stream = sys.stdout if stream is None else stream
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = next((h for h in root.handlers if isinstance(h, _IasJsonHandler)), None)
    if handler is None:
        handler = _IasJsonHandler(stream)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    elif handler.stream is not stream:
        handler.setStream(stream)
    return handler
