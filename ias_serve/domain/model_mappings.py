"""Model mappings: a public model name → a backend (a Serve deployment or a remote URL).

Per-organisation allow-list semantics (column ``model_mappings.allowed_org_ids``, ``uuid[]``):

* ``None`` (SQL NULL) — every organisation may use the model;
* a list of org ids — only those organisations; an **empty list means no organisation**
  (closed), so removing the last org from a list never silently opens the model to everyone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from urllib.parse import urlsplit

from ias_serve.domain.validation import InvalidValue

MAX_MODEL_NAME_LENGTH = 128
MAX_TARGET_LENGTH = 2048
MAX_PRICE = Decimal("1000000")  # per million tokens
PRICE_QUANTUM = Decimal("0.000001")  # the column is NUMERIC(18, 6)
_MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
_SERVE_TARGET_RE = re.compile(r"^[^\s\x00-\x1f\x7f]+$")


class BackendKind(StrEnum):
    """DB enum ``backend_kind``."""

    SERVE = "serve"  # a Ray Serve deployment in this cluster (target = deployment name)
    REMOTE_URL = "remote_url"  # an OpenAI-compatible server (target = base URL)


def validate_model_name(name: str) -> str:
    """The public name clients send as ``model`` (``llama3``, ``meta-llama/Llama-3-8B``)."""
    n = name.strip()
    if not n:
        raise InvalidValue("model name is empty", param="name")
    if len(n) > MAX_MODEL_NAME_LENGTH:
        raise InvalidValue(f"model name longer than {MAX_MODEL_NAME_LENGTH} characters", param="name")
    if not _MODEL_NAME_RE.fullmatch(n):
        raise InvalidValue(
            f"invalid model name {name!r}: letters, digits and . _ : / @ + - only, "
            "starting with a letter or digit",
            param="name",
        )
    return n


def validate_target(kind: BackendKind | str, target: str) -> str:
    """Deployment name (``serve``) or ``http(s)://host[:port][/path]`` base URL (``remote_url``).

    URLs are returned without a trailing slash.
    """
    k = BackendKind(kind)
    t = target.strip()
    if not t:
        raise InvalidValue("target is empty", param="target")
    if len(t) > MAX_TARGET_LENGTH:
        raise InvalidValue(f"target longer than {MAX_TARGET_LENGTH} characters", param="target")
    if k is BackendKind.SERVE:
        if not _SERVE_TARGET_RE.fullmatch(t):
            raise InvalidValue(f"invalid deployment name {target!r}", param="target")
        return t
    try:
        parts = urlsplit(t)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise InvalidValue(f"invalid URL {target!r}", param="target") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidValue(f"target must be an http(s) URL with a host, got {target!r}", param="target")
    if parts.query or parts.fragment:
        raise InvalidValue("target URL must not carry a query or fragment", param="target")
    if parts.username or parts.password:
        raise InvalidValue("target URL must not carry credentials", param="target")
    return t.rstrip("/")


def validate_price(value: Decimal | int | float | str, *, param: str = "price") -> Decimal:
    """Non-negative price per million tokens, at most 6 decimals."""
    try:
        d = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise InvalidValue(f"not a number: {value!r}", param=param) from None
    if not d.is_finite() or d < 0:
        raise InvalidValue(f"price must be a non-negative number, got {value!r}", param=param)
    if d > MAX_PRICE:
        raise InvalidValue(f"price must be at most {MAX_PRICE}", param=param)
    if d != d.quantize(PRICE_QUANTUM):
        raise InvalidValue("price has more than 6 decimals", param=param)
    return d.quantize(PRICE_QUANTUM)


def normalize_allow_list(org_ids: Iterable[uuid.UUID | str] | None) -> list[uuid.UUID] | None:
    """``None`` stays ``None`` (all orgs); otherwise unique UUIDs in a stable (sorted) order."""
    if org_ids is None:
        return None
    out: set[uuid.UUID] = set()
    for v in org_ids:
        try:
            out.add(v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)))
        except ValueError:
            raise InvalidValue(f"not an organisation id: {v!r}", param="allowed_org_ids") from None
    return sorted(out)


def is_model_allowed(allowed_org_ids: Iterable[uuid.UUID] | None, org_id: uuid.UUID) -> bool:
    """``None`` → every org; a list → members only (empty: nobody)."""
    return allowed_org_ids is None or org_id in set(allowed_org_ids)


def cost(prompt_tokens: int, completion_tokens: int, price_in: Decimal, price_out: Decimal) -> Decimal:
    """Cost of one request from per-million-token prices (exact decimal arithmetic)."""
    million = Decimal(1_000_000)
    return (Decimal(prompt_tokens) * price_in + Decimal(completion_tokens) * price_out) / million
