"""The E2E harness's failure report never shows a secret: API keys, session and invite tokens
are cut to the prefix people recognise, passwords hidden (tests/e2e/harness/trace.py)."""

from __future__ import annotations

import httpx

from tests.e2e.harness.trace import Trace, mask, masked_body

KEY = "ias-AbCdEfGh" + "x" * 35
SESSION = "iass_QrStUvWx" + "y" * 30
INVITE = "iasi_ZN2El1CQI1pefAmOUHU9Gg0tYWIUCIcIHwsaUxU2KZc"


def test_mask_keeps_only_the_prefixes() -> None:
    text = f"key {KEY}, Bearer {SESSION}, link http://x/invite/{INVITE}."
    masked = mask(text)
    assert "ias-AbCdEfGh…" in masked and "iass_QrSt…" in masked and "iasi_ZN2E…" in masked
    for secret in (KEY, SESSION, INVITE):
        assert secret not in masked
    assert mask("ias-short and prose about ias- keys") == "ias-short and prose about ias- keys"


def test_json_bodies_hide_passwords_and_tokens() -> None:
    shown = masked_body(
        b'{"email": "a@b.c", "password": "hunter2 hunter2", "token": "%s"}' % SESSION.encode()
    )
    assert "hunter2" not in shown and SESSION not in shown and '"email": "a@b.c"' in shown
    assert masked_body(b"not json " + KEY.encode()) == "not json ias-AbCdEfGh…"
    assert masked_body(None) == "" and masked_body(b"") == ""
    long = masked_body(b'"' + b"z" * 5000 + b'"')
    assert long.endswith("(5002 characters)") and len(long) < 3100


def test_exchanges_are_recorded_masked() -> None:
    trace = Trace()
    request = httpx.Request(
        "POST",
        "http://ias/v1/chat/completions",
        headers={"Authorization": f"Bearer {KEY}", "X-Request-ID": "rid-1"},
        json={"model": "m", "messages": []},
    )
    trace.on_response(httpx.Response(401, json={"error": {"code": "invalid_api_key"}}, request=request))
    stream = httpx.Response(200, headers={"content-type": "text/event-stream"}, request=request)
    trace.on_response(stream)
    report = trace.render()
    assert KEY not in report and "authorization: Bearer ias-AbCdEfGh…" in report
    assert "x-request-id: rid-1" in report and "401" in report and "invalid_api_key" in report
    assert "(event stream)" in report  # a stream is not read (the SDK consumes it)
    assert "2 entries" in repr(trace)
    trace.lookup(
        "PostgreSQL", "SELECT  1\n FROM t", {"org": "o"}, [{"password": "p", "n": i} for i in range(25)]
    )
    assert "SELECT 1 FROM t" in trace.render() and "… and 5 more" in trace.render()
    assert '"password": "***"' in trace.render()
