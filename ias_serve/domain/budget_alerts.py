"""Budget alerts: thresholds of an org's monthly token budget, and the signed webhook.

* :func:`parse_thresholds` / :func:`check_webhook_url` — validation of values from outside;
  :class:`InvalidValue` names the field (``param``).
* :func:`crossed_thresholds` — which thresholds a month's usage has reached.
* :func:`webhook_body` / :func:`sign` / :func:`verify` — the webhook's JSON body and its
  ``X-IAS-Signature``: ``sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{raw body}")>``.
* :func:`alert_email` — subject and text of the e-mail to the org's admins.

An alert fires once per (org, month, threshold): the first time the month's usage is at or
above ``threshold`` % of the limit. Orgs without a limit (unlimited) or with a limit of 0 (no
inference at all) never alert.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from ias_serve.domain.budget import format_token_amount
from ias_serve.domain.validation import InvalidValue

THRESHOLDS: Final = "thresholds"
WEBHOOK_URL: Final = "webhook_url"
MAX_THRESHOLDS: Final = 10
MIN_PERCENT: Final = 1
MAX_PERCENT: Final = 100
MAX_URL_LENGTH: Final = 2048
SECRET_PREFIX: Final = "whsec_"
EVENT_TYPE: Final = "budget.threshold_crossed"
SIGNATURE_HEADER: Final = "X-IAS-Signature"
TIMESTAMP_HEADER: Final = "X-IAS-Timestamp"
DEFAULT_TOLERANCE_S: Final = 300

# a host name: dot-separated labels of letters, digits and '-' (IDNs in their xn-- form)
_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE: Final = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}\.?$")
_FORBIDDEN_CHARS: Final = re.compile(r"[\x00-\x20\x7f\\]")


class DeliveryStatus(StrEnum):
    """Where one channel (e-mail, webhook) of an alert stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt
    NONE = "none"  # nothing to deliver on this channel (no webhook, no Org Admin)


def parse_thresholds(value: object) -> tuple[int, ...]:
    """Thresholds from outside → sorted tuple; an empty list turns alerts off.

    Each a strict ``int`` (no bool, float or string) in ``[1, 100]`` (percent of the month's
    budget), at most :data:`MAX_THRESHOLDS`, no duplicates."""
    if not isinstance(value, list | tuple):
        raise InvalidValue(
            "thresholds must be a list of whole percentages, e.g. [50, 80, 100]", param=THRESHOLDS
        )
    if len(value) > MAX_THRESHOLDS:
        raise InvalidValue(f"at most {MAX_THRESHOLDS} thresholds", param=THRESHOLDS)
    for i, t in enumerate(value):
        if isinstance(t, bool) or not isinstance(t, int):
            raise InvalidValue(
                f"thresholds[{i}] must be a whole number of percent, not {type(t).__name__}",
                param=THRESHOLDS,
            )
        if not MIN_PERCENT <= t <= MAX_PERCENT:
            raise InvalidValue(
                f"thresholds[{i}] must be between {MIN_PERCENT} and {MAX_PERCENT} (percent), not {t}",
                param=THRESHOLDS,
            )
    if len(set(value)) != len(value):
        raise InvalidValue("thresholds must not repeat a value", param=THRESHOLDS)
    return tuple(sorted(value))


def check_webhook_url(value: object) -> str | None:
    """``None`` (no webhook) or an absolute ``http://`` / ``https://`` URL with a host, without
    user info (credentials), fragment, spaces or control characters, at most
    :data:`MAX_URL_LENGTH` characters. Anything else raises :class:`InvalidValue`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValue(
            f"webhook_url must be a URL or null, not {type(value).__name__}", param=WEBHOOK_URL
        )
    if len(value) > MAX_URL_LENGTH:
        raise InvalidValue(f"webhook_url longer than {MAX_URL_LENGTH} characters", param=WEBHOOK_URL)
    if _FORBIDDEN_CHARS.search(value):
        raise InvalidValue(
            "webhook_url must not contain spaces, backslashes or control characters", param=WEBHOOK_URL
        )
    if not value.isascii():
        raise InvalidValue(
            "webhook_url must be ASCII (percent-encode it; hosts in xn-- form)", param=WEBHOOK_URL
        )
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port that is not a number in range
    except ValueError as exc:
        raise InvalidValue(f"webhook_url is not a valid URL: {exc}", param=WEBHOOK_URL) from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise InvalidValue("webhook_url must start with http:// or https://", param=WEBHOOK_URL)
    if "@" in parts.netloc:
        raise InvalidValue("webhook_url must not carry a user name or password", param=WEBHOOK_URL)
    if not _valid_host(parts.hostname):
        raise InvalidValue("webhook_url needs a valid host", param=WEBHOOK_URL)
    if port == 0:
        raise InvalidValue("webhook_url has port 0", param=WEBHOOK_URL)
    if "#" in value:
        raise InvalidValue("webhook_url must not have a fragment (#...)", param=WEBHOOK_URL)
    return value


_LOCAL_NAMES: Final = ("localhost", "localhost.localdomain")


def non_public_address(address: str) -> bool:
    """An IP address a webhook must not reach unless allowed: loopback, private, link-local
    (cloud metadata at 169.254.169.254), multicast, reserved, unspecified — anything not
    globally routable. IPv4-mapped IPv6 addresses are judged as the IPv4 they carry."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global


def private_webhook_host(url: str) -> bool:
    """The URL names a non-public host literally (an IP literal that is not global, or a
    localhost name). Names that only *resolve* to such addresses are caught at delivery."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return non_public_address(host)
    except ValueError:
        return False  # a name, not an address literal


def crossed_thresholds(thresholds: Iterable[int], used: int, limit: int | None) -> list[int]:
    """The thresholds (percent) that ``used`` tokens have reached of ``limit``, ascending:
    ``used >= threshold% × limit``, in integers. None for an unlimited or zero limit."""
    if limit is None or limit <= 0:
        return []
    return sorted(t for t in set(thresholds) if used * 100 >= t * limit)


def new_webhook_secret() -> str:
    """``whsec_`` + 256 random bits (URL-safe base64)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def webhook_body(
    *,
    alert_id: object,
    org_id: object,
    org_name: str,
    period: str,
    threshold: int,
    used: int,
    limit: int,
    created_at: str,
) -> bytes:
    """The webhook's raw JSON body (compact, UTF-8): what is signed and sent."""
    body = {
        "type": EVENT_TYPE,
        "org_id": str(org_id),
        "org_name": org_name,
        "period": period,
        "threshold_percent": threshold,
        "used_tokens": used,
        "limit_tokens": limit,
        "alert_id": str(alert_id),
        "created_at": created_at,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 keyed with ``secret`` over ``f"{timestamp}.{body}"``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """What a receiver checks: the signature matches (constant-time) and the timestamp is
    within ``tolerance_s`` of ``now`` (replays of old deliveries are refused)."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    signature = lower.get(SIGNATURE_HEADER.lower(), "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def alert_email(
    *, org_name: str, period: str, threshold: int, used: int, limit: int, portal_url: str
) -> tuple[str, str]:
    """Subject and plain-text body of the alert mail to the org's admins."""
    percent = used * 100 // limit if limit > 0 else 0
    subject = f"[IAS] {org_name}: {threshold}% of the monthly token budget used ({period})"
    body = (
        f"The organisation {org_name!r} has used {used:,} tokens of its monthly budget of "
        f"{limit:,} ({format_token_amount(limit)}) in {period} (UTC): {percent}%, at or above "
        f"the alert threshold of {threshold}%.\n\n"
        "Over the limit, inference requests are refused (HTTP 429 insufficient_quota) until the "
        "budget renews on the 1st (UTC) or an Org Admin raises it.\n\n"
        f"Budget and alerts: {portal_url.rstrip('/')}/\n\n"
        "You receive this because you are an Org Admin of the organisation. Each threshold "
        "alerts once per month.\n"
    )
    return subject, body


def _valid_host(hostname: str | None) -> bool:
    if not hostname or len(hostname) > 253:
        return False
    if ":" in hostname:  # an IPv6 literal ([...] in the URL)
        try:
            ipaddress.IPv6Address(hostname)
        except ValueError:
            return False
        return True
    return _HOST_RE.fullmatch(hostname) is not None
