"""Full Regression (marker ``regression``: nightly, and in ``make test``; issue 8, item 3).

Each test makes its own org(s) and members through the Management API (unique names) and the
``tenants`` fixture deletes them again, so the tests run in parallel (``pytest -n``) on one
stack. Inference goes through the official ``openai`` SDK; PostgreSQL and ClickHouse are read
directly.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import openai
import pytest

from tests.e2e.harness.api import PASSWORD, Tenants, chat, refused, sdk
from tests.e2e.harness.stores import ClickHouse, Postgres
from tests.e2e.harness.target import Target
from tests.e2e.harness.trace import Trace

pytestmark = [pytest.mark.e2e, pytest.mark.regression, pytest.mark.timeout(600)]


def _until(check, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Poll ``check()`` until true; the seconds it took. Fails after ``timeout``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - started


def test_invalid_revoked_and_expired_keys_are_401(
    target: Target, trace: Trace, tenants: Tenants, figure
) -> None:
    tenant = tenants.org()
    dev = tenants.member(tenant, "dev")
    key = dev.new_key(tenant.id)
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    short = dev.new_key(tenant.id, expires_at=soon)

    with sdk(target, trace, "ias-" + "x" * 43) as bogus:
        assert refused(bogus, target.fast_model) == 401
    with sdk(target, trace, "not-even-a-key") as malformed:
        assert refused(malformed, target.fast_model) == 401

    with sdk(target, trace, key["key"]) as client, sdk(target, trace, short["key"]) as expiring:
        assert refused(client, target.fast_model) is None  # works, and is now cached everywhere
        assert refused(expiring, target.fast_model) is None
        dev.session.call("DELETE", f"/org/{tenant.id}/key/{key['id']}")
        took = _until(lambda: refused(client, target.fast_model) == 401, 1.0, "revoked key refused")
        figure(f"revoked key refused {took * 1000:.0f} ms after the revoke answered")
        try:
            chat(client, target.fast_model, "ping", max_tokens=1)
        except openai.AuthenticationError as e:
            assert e.body["code"] == "invalid_api_key", e.body  # OpenAI's error shape
        _until(lambda: refused(expiring, target.fast_model) == 401, 10.0, "expired key refused")


def test_budget_exhausted_is_429_and_never_overspent(
    target: Target, trace: Trace, tenants: Tenants, ch: ClickHouse
) -> None:
    tenant = tenants.org()
    admin = tenants.member(tenant, "admin", "org_admin")
    dev = tenants.member(tenant, "dev", "org_user", by=admin.session)
    limit = 400
    budget = admin.session.json("PUT", f"/org/{tenant.id}/budget", json={"monthly_token_limit": limit})
    assert budget["monthly_token_limit"] == limit
    key = dev.new_key(tenant.id)

    def one(i: int) -> int:
        with sdk(target, trace, key["key"]) as client:
            try:
                chat(client, target.fast_model, f"budget probe {i} alpha beta gamma", max_tokens=20)
                return 200
            except openai.APIStatusError as e:
                assert e.status_code != 429 or e.body["code"] == "insufficient_quota", e.body
                return e.status_code

    # 40 concurrent requests, each reserving ~40 tokens against a budget of 400
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(one, range(40)))
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) >= 1 and statuses.count(429) >= 1, statuses
    # keep going until the budget is spent: then every call is 429
    for i in range(40, 200):
        if one(i) == 429 and one(i + 1000) == 429:
            break
    else:
        pytest.fail("the budget never ran out")

    rows, _ = ch.wait_for(
        "SELECT count() AS requests, sum(input_tokens + output_tokens) AS tokens "
        "FROM usage_events FINAL WHERE org_id = {org:UUID} AND status = 'ok'",
        lambda rows: int(rows[0]["requests"]) >= statuses.count(200),
        timeout=10,
        what="the org's recorded usage",
        org=tenant.id,
    )
    assert 0 < int(rows[0]["tokens"]) <= limit, f"overspent: {rows[0]} with a budget of {limit} tokens"


def test_org_user_cannot_see_or_revoke_another_users_key(target: Target, tenants: Tenants) -> None:
    tenant = tenants.org()
    alice, bob = tenants.member(tenant, "alice"), tenants.member(tenant, "bob")
    a_key, b_key = alice.new_key(tenant.id), bob.new_key(tenant.id)

    seen = {k["id"] for k in bob.session.json("GET", f"/org/{tenant.id}/key")["data"]}
    assert seen == {b_key["id"]}, "an Org User sees another user's key"
    bob.session.call("DELETE", f"/org/{tenant.id}/key/{a_key['id']}", expect=404)
    mine = alice.session.json("GET", f"/org/{tenant.id}/key")["data"]
    assert [(k["id"], k["status"]) for k in mine] == [(a_key["id"], "active")]  # untouched
    assert bob.session.json("DELETE", f"/org/{tenant.id}/key/{b_key['id']}")["status"] == "revoked"


def test_org_admin_sees_and_touches_nothing_of_another_org(
    target: Target, trace: Trace, tenants: Tenants
) -> None:
    a, b = tenants.org(), tenants.org()
    admin_a = tenants.member(a, "admin-a", "org_admin")
    dev_b = tenants.member(b, "dev-b")
    b_key = dev_b.new_key(b.id)
    before = admin_a.session  # the attacker

    for method, path, body in (
        ("GET", f"/org/{b.id}", None),
        ("GET", f"/org/{b.id}/user", None),
        ("GET", f"/org/{b.id}/key", None),
        ("GET", f"/org/{b.id}/audit_log", None),
        ("GET", f"/org/{b.id}/budget", None),
        ("PUT", f"/org/{b.id}/budget", {"monthly_token_limit": 1}),
        ("POST", f"/org/{b.id}/user", {"email": "intruder@e2e.example.com"}),
        ("DELETE", f"/org/{b.id}/key/{b_key['id']}", None),
        ("DELETE", f"/org/{b.id}/user/{dev_b.id}", None),
        ("GET", f"/analytics/org/{b.id}", None),
    ):
        r = before.call(method, path, expect=None, json=body)
        assert r.status_code == 404, f"{method} {path}: {r.status_code} (another org must look absent)"
    assert b.id not in {o["id"] for o in before.json("GET", "/org")["data"]}
    with sdk(target, trace, b_key["key"]) as client:  # org B's key still works
        assert refused(client, target.fast_model) is None


def test_audit_log_rows_in_postgres(target: Target, trace: Trace, tenants: Tenants, pg: Postgres) -> None:
    tenant = tenants.org()
    admin = tenants.member(tenant, "admin", "org_admin")
    invitee = f"audit-{uuid.uuid4().hex[:8]}@e2e.example.com"
    invite = admin.session.json(
        "POST", f"/org/{tenant.id}/user", expect=201, json={"email": invitee, "role": "org_user"}
    )
    key = admin.new_key(tenant.id, "audited")
    admin.session.call("DELETE", f"/org/{tenant.id}/key/{key['id']}")
    admin.session.json("PUT", f"/org/{tenant.id}/budget", json={"monthly_token_limit": "2M"})

    rows = pg.rows(
        "SELECT action_type, user_id_performing_action AS actor, payload FROM audit_log "
        "WHERE org_id = %(org)s AND user_id_performing_action = %(actor)s ORDER BY id",
        org=tenant.id,
        actor=admin.id,
    )
    by_action = {r["action_type"]: r["payload"] for r in rows}
    assert ["user_invited", "key_created", "key_revoked", "budget_changed"] == [
        a for a in by_action if a in {"user_invited", "key_created", "key_revoked", "budget_changed"}
    ], by_action
    assert by_action["user_invited"]["email"] == invitee and by_action["user_invited"]["role"] == "org_user"
    assert (
        by_action["key_created"]["prefix"] == key["prefix"] and by_action["key_created"]["name"] == "audited"
    )
    assert by_action["key_revoked"]["key_id"] == key["id"]
    assert (by_action["budget_changed"]["old_limit"], by_action["budget_changed"]["new_limit"]) == (
        None,
        2_000_000,
    )
    text = json.dumps([r["payload"] for r in rows])
    token = invite["link"].rsplit("/", 1)[1] if invite.get("link") else None
    for secret in filter(None, (key["key"], token, PASSWORD, admin.session.token)):
        assert secret not in text, "a secret is in the audit log"


def test_disabled_org_is_refused(target: Target, trace: Trace, tenants: Tenants, root) -> None:  # type: ignore[no-untyped-def]
    tenant = tenants.org()
    dev = tenants.member(tenant, "dev")
    key = dev.new_key(tenant.id)
    with sdk(target, trace, key["key"]) as client:
        assert refused(client, target.fast_model) is None
        root.call("PATCH", f"/org/{tenant.id}", json={"status": "disabled"})
        _until(lambda: refused(client, target.fast_model) == 403, 1.0, "disabled org's key refused")
        r = dev.session.call("POST", f"/org/{tenant.id}/key", expect=409, json={"name": "after"})
        assert r.json()["error"]["code"] == "org_disabled"
        root.call("PATCH", f"/org/{tenant.id}", json={"status": "active"})
        _until(lambda: refused(client, target.fast_model) is None, 5.0, "re-enabled org's key accepted")


def test_unknown_model_is_404(target: Target, trace: Trace, tenants: Tenants) -> None:
    tenant = tenants.org()
    key = tenants.member(tenant, "dev").new_key(tenant.id)
    with sdk(target, trace, key["key"]) as client:
        with pytest.raises(openai.NotFoundError) as err:
            chat(client, f"no-such-model-{uuid.uuid4().hex[:6]}", "hi")
        assert err.value.body["code"] == "model_not_found", err.value.body
        assert target.model in {m.id for m in client.models.list()}


def test_streaming_client_disconnect_is_still_metered(
    target: Target, trace: Trace, tenants: Tenants, ch: ClickHouse
) -> None:
    tenant = tenants.org()
    dev = tenants.member(tenant, "dev")
    key = dev.new_key(tenant.id)
    rid = f"e2e-cut-{uuid.uuid4()}"
    with sdk(target, trace, key["key"]) as client:
        stream = chat(
            client,
            target.model,
            "Write a long story about the sea.",
            rid,
            max_tokens=300,
            stream=True,
        )
        seen = 0
        for chunk in stream:
            seen += bool(chunk.choices and chunk.choices[0].delta.content)
            if seen == 3:
                break
        stream.close()  # the client hangs up mid-answer
    rows, _ = ch.wait_for(
        "SELECT status, input_tokens, output_tokens FROM usage_events FINAL "
        "WHERE client_request_id = {rid:String}",
        lambda rows: len(rows) == 1,
        timeout=15,
        what="the cut request's usage row",
        rid=rid,
    )
    row = rows[0]
    assert row["status"] == "cancelled", row
    assert int(row["input_tokens"]) > 0 and 3 <= int(row["output_tokens"]) < 300, row


def test_the_real_model_answers_through_the_gateway(target: Target, trace: Trace, tenants: Tenants) -> None:
    tenant = tenants.org()
    key = tenants.member(tenant, "dev").new_key(tenant.id)
    with sdk(target, trace, key["key"]) as client:
        answer = chat(client, target.model, "What is the capital of France?", max_tokens=16, temperature=0)
    text = answer.choices[0].message.content or ""
    assert text.strip() and answer.choices[0].finish_reason in ("stop", "length"), answer
    assert answer.usage.completion_tokens <= 16 and answer.model  # the engine's model name
