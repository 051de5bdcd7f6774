"""Budget alerts' pure rules: thresholds, webhook URLs, crossing, the signature, the mail."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from ias_serve.domain.budget_alerts import (
    EVENT_TYPE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    alert_email,
    check_webhook_url,
    crossed_thresholds,
    new_webhook_secret,
    parse_thresholds,
    sign,
    verify,
    webhook_body,
)
from ias_serve.domain.validation import InvalidValue

# --- thresholds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ([], ()),
        ([80], (80,)),
        ([100, 50, 80], (50, 80, 100)),
        ((1, 100), (1, 100)),
        (list(range(1, 11)), tuple(range(1, 11))),
    ],
)
def test_thresholds_accepted_and_sorted(given: list[int], stored: tuple[int, ...]) -> None:
    assert parse_thresholds(given) == stored


@pytest.mark.parametrize(
    ("given", "why"),
    [
        (None, "list"),
        (80, "list"),
        ("50,80", "list"),
        ({"a": 1}, "list"),
        ([0], "between 1 and 100"),
        ([101], "between 1 and 100"),
        ([-1], "between 1 and 100"),
        ([80.0], "not float"),
        (["80"], "not str"),
        ([True], "not bool"),
        ([None], "not NoneType"),
        ([50, 50], "repeat"),
        (list(range(1, 12)), "at most 10"),
    ],
)
def test_bad_thresholds_name_the_field(given: object, why: str) -> None:
    with pytest.raises(InvalidValue) as err:
        parse_thresholds(given)
    assert err.value.param == "thresholds" and why in str(err.value)


# --- webhook URL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        None,
        "http://127.0.0.1:8080/hook",
        "https://hooks.example.com/services/T0/B0/xyz?token=1",
        "HTTPS://Hooks.Example.COM",
        "http://[::1]:9000/h",
        "https://xn--bcher-kva.example/",
        "http://localhost",
        "https://example.com.:443/",
    ],
)
def test_webhook_urls_accepted(url: str | None) -> None:
    assert check_webhook_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (42, "URL or null"),
        ("", "http:// or https://"),
        ("ftp://example.com/", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("//example.com/x", "http:// or https://"),
        ("example.com/x", "http:// or https://"),
        ("http://", "valid host"),
        ("http:///x", "valid host"),
        ("http:x", "valid host"),
        ("http://ex_ample.com/", "valid host"),
        ("http://-bad.com/", "valid host"),
        ("http://" + "a" * 254 + "/", "valid host"),
        ("http://[zz]/", "not a valid URL"),
        ("http://x:99999/", "not a valid URL"),
        ("http://x:abc/", "not a valid URL"),
        ("http://x:0/", "port 0"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("https://example.com/#top", "fragment"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com/\r\nX-Evil: 1", "control characters"),
        ("https://example.com\\@evil.com/", "backslashes"),
        ("https://exämple.com/", "ASCII"),
        ("https://example.com/" + "a" * 2048, "longer than 2048"),
    ],
)
def test_bad_webhook_urls_name_the_field(url: object, why: str) -> None:
    with pytest.raises(InvalidValue) as err:
        check_webhook_url(url)
    assert err.value.param == "webhook_url" and why in str(err.value)


# --- crossing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("used", "limit", "crossed"),
    [
        (0, 1000, []),
        (499, 1000, []),
        (500, 1000, [50]),
        (799, 1000, [50]),
        (800, 1000, [50, 80]),
        (1000, 1000, [50, 80, 100]),
        (5000, 1000, [50, 80, 100]),
        (1, 3, []),  # 33.3 %
        (2, 3, [50]),  # 66.7 %: integer arithmetic, no rounding up
        (10**18, 2**63 - 1, []),
        (2**63 - 1, 2**63 - 1, [50, 80, 100]),
        (10, None, []),  # unlimited
        (10, 0, []),  # a zero budget: nothing to alert about
    ],
)
def test_crossed_thresholds(used: int, limit: int | None, crossed: list[int]) -> None:
    assert crossed_thresholds([100, 50, 80], used, limit) == crossed


# --- signature -------------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_dot_body_and_verifies() -> None:
    secret, body, ts = new_webhook_secret(), b'{"a":1}', 1_760_000_000
    assert secret.startswith("whsec_") and len(secret) >= 6 + 43 and secret != new_webhook_secret()
    expected = hmac.new(secret.encode(), b"1760000000." + body, hashlib.sha256).hexdigest()
    assert sign(secret, ts, body) == f"sha256={expected}"
    headers = {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(secret, ts, body)}
    assert verify(secret, headers, body, now=ts + 10)
    assert verify(secret, {k.lower(): v for k, v in headers.items()}, body, now=ts)  # any header case
    assert not verify(secret, headers, body + b" ", now=ts)  # body changed
    assert not verify("whsec_other", headers, body, now=ts)  # wrong secret
    assert not verify(secret, headers, body, now=ts + 301)  # too old: a replay
    assert not verify(secret, headers | {TIMESTAMP_HEADER: str(ts + 1)}, body, now=ts)  # timestamp changed
    assert not verify(secret, headers | {TIMESTAMP_HEADER: "soon"}, body, now=ts)
    assert not verify(secret, {}, body, now=ts)


def test_webhook_body_is_the_documented_json() -> None:
    alert, org = uuid.uuid4(), uuid.uuid4()
    raw = webhook_body(
        alert_id=alert,
        org_id=org,
        org_name="Zürich AG",
        period="2026-12",
        threshold=80,
        used=800,
        limit=1000,
        created_at="2026-12-04T10:00:00+00:00",
    )
    assert b" " not in raw.replace(b"Z\xc3\xbcrich AG", b"")  # compact: what is signed is what is sent
    assert json.loads(raw) == {
        "type": EVENT_TYPE,
        "org_id": str(org),
        "org_name": "Zürich AG",
        "period": "2026-12",
        "threshold_percent": 80,
        "used_tokens": 800,
        "limit_tokens": 1000,
        "alert_id": str(alert),
        "created_at": "2026-12-04T10:00:00+00:00",
    }


def test_alert_email() -> None:
    subject, body = alert_email(
        org_name="acme",
        period="2026-12",
        threshold=80,
        used=850_000,
        limit=1_000_000,
        portal_url="https://p/",
    )
    assert subject == "[IAS] acme: 80% of the monthly token budget used (2026-12)"
    assert "850,000 tokens" in body and "1,000,000 (1M)" in body and ": 85%" in body
    assert "https://p/" in body and "https://p//" not in body


def test_the_webhook_secret_never_reaches_the_audit_log() -> None:
    from ias_serve.domain.audit import REDACTED, is_secret_key, redact

    assert is_secret_key("webhook_secret")
    assert redact({"new": {"webhook_secret": "whsec_x", "webhook_url": "https://h/"}}) == {
        "new": {"webhook_secret": REDACTED, "webhook_url": "https://h/"}
    }


@pytest.mark.parametrize(
    ("url", "private"),
    [
        ("http://127.0.0.1:9467/", True),
        ("http://localhost/x", True),
        ("http://api.localhost/x", True),
        ("http://169.254.169.254/", True),
        ("http://10.1.2.3/", True),
        ("http://192.168.0.1/", True),
        ("http://[::1]/", True),
        ("http://[::ffff:10.0.0.1]/", True),
        ("http://0.0.0.0/", True),
        ("https://8.8.8.8/hook", False),
        ("https://hooks.example.com/ias", False),  # a name: judged when resolved
    ],
)
def test_private_webhook_hosts(url: str, private: bool) -> None:
    from ias_serve.domain.budget_alerts import private_webhook_host

    assert private_webhook_host(url) is private
