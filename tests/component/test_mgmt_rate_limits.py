"""Rate limits through the management API: `/api/org/{id}/rate-limits` (+ `/ceiling`) and
`/api/org/{id}/key/{key_id}/rate-limits` on real PostgreSQL and Valkey: every route, every role,
the ceiling rule, bad input, the audit row, and the gateway's key cache (a KeyAuthenticator of
its own, as in another process) carrying the new effective limits at once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ias_serve.cache.key_store import entry_key
from ias_serve.cache.keys import KeyAuthenticator
from ias_serve.db.models import OrgRateLimits
from ias_serve.domain.keys import hash_api_key
from ias_serve.domain.principal import ApiKeyPrincipal
from ias_serve.domain.rate_limits import EffectiveRateLimits, RateLimits
from tests.component.mgmt_harness import Api, User
from tests.component.mgmt_resources_support import Team, error_code, last_audit_id, one_new_row, state, team

UNLIMITED = {"requests_per_minute": None, "tokens_per_minute": None, "max_concurrent_requests": None}


def limits(rpm: int | None = None, tpm: int | None = None, conc: int | None = None) -> dict[str, Any]:
    return {"requests_per_minute": rpm, "tokens_per_minute": tpm, "max_concurrent_requests": conc}


async def new_key(api: Api, org: uuid.UUID, who: User) -> dict[str, Any]:
    r = await api.client.post(
        f"/org/{org}/key", json={"name": f"k-{uuid.uuid4().hex[:6]}"}, headers=who.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


def org_url(t: Team | uuid.UUID, suffix: str = "") -> str:
    org = t.org if isinstance(t, Team) else t
    return f"/org/{org}/rate-limits{suffix}"


def key_url(org: uuid.UUID, key_id: object) -> str:
    return f"/org/{org}/key/{key_id}/rate-limits"


@pytest.fixture
async def t(api: Api) -> Team:
    return await team(api)


@pytest.fixture
async def gateway_auth(redis: Redis, api: Api) -> AsyncIterator[KeyAuthenticator]:
    """The gateway's key authenticator (its own instance, as in another process; a long local
    TTL so that only an invalidation can refresh it)."""
    async with KeyAuthenticator(
        redis, api.sm, cache_ttl_s=60, last_used_flush_s=3600, registry=CollectorRegistry()
    ) as auth:
        yield auth


# --- org limits --------------------------------------------------------------------------------


async def test_default_is_unlimited_and_members_may_read_it(api: Api, t: Team) -> None:
    for who in (t.root, t.admin, t.user):
        r = await api.client.get(org_url(t), headers=who.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "org_id": str(t.org),
            "limits": UNLIMITED,
            "ceiling": UNLIMITED,
            "effective": UNLIMITED,
            "updated_at": None,
            "updated_by": None,
        }
    r = await api.client.get(org_url(t), headers=t.outsider.headers)
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert (await api.client.get(org_url(uuid.uuid4()), headers=t.root.headers)).status_code == 404
    assert (await api.client.get(org_url(t))).status_code == 401


async def test_org_admin_sets_limits_audited_with_old_and_new(api: Api, t: Team) -> None:
    mark = await last_audit_id(api)
    body = limits(600, 200_000, 8)
    r = await api.client.put(org_url(t), json=body, headers=t.admin.headers)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["limits"] == body and got["effective"] == body and got["ceiling"] == UNLIMITED
    assert got["updated_by"] == str(t.admin.id) and got["updated_at"] is not None
    row = await one_new_row(api, mark)
    assert (row.action_type, row.org_id, row.user_id_performing_action) == (
        "rate_limits_changed",
        t.org,
        t.admin.id,
    )
    assert row.payload == {"scope": "org", "old": UNLIMITED, "new": body}
    assert (await api.client.get(org_url(t), headers=t.user.headers)).json() == got

    # a field left out is null (unlimited); a System Admin may set them too
    mark = await last_audit_id(api)
    r = await api.client.put(org_url(t), json={"requests_per_minute": 60}, headers=t.root.headers)
    assert r.status_code == 200, r.text
    assert r.json()["limits"] == limits(60) and r.json()["updated_by"] == str(t.root.id)
    row = await one_new_row(api, mark)
    assert row.user_id_performing_action == t.root.id
    assert row.payload == {"scope": "org", "old": body, "new": limits(60)}

    r = await api.client.put(org_url(t), json={}, headers=t.admin.headers)
    assert r.status_code == 200 and r.json()["limits"] == UNLIMITED


async def test_ceiling_caps_and_bounds_what_org_admins_set(api: Api, t: Team) -> None:
    await api.client.put(org_url(t), json=limits(500, None, 10), headers=t.admin.headers)
    mark = await last_audit_id(api)
    ceiling = limits(100, 50_000, None)
    r = await api.client.put(org_url(t, "/ceiling"), json=ceiling, headers=t.root.headers)
    assert r.status_code == 200, r.text
    got = r.json()
    # lowering a ceiling below existing limits is allowed: they stay, the effective ones are capped
    # (and a ceiling applies where the admin set nothing: tokens_per_minute)
    assert got["limits"] == limits(500, None, 10) and got["ceiling"] == ceiling
    assert got["effective"] == limits(100, 50_000, 10)
    row = await one_new_row(api, mark)
    assert (row.action_type, row.org_id, row.user_id_performing_action) == (
        "rate_limits_changed",
        t.org,
        t.root.id,
    )
    assert row.payload == {"scope": "ceiling", "old": UNLIMITED, "new": ceiling}

    # above the ceiling: 400 above_ceiling naming the field, nothing changed
    before = await state(api)
    for body, field in (
        (limits(101), "requests_per_minute"),
        (limits(100, 50_001), "tokens_per_minute"),
        (limits(None, 10**12, 5), "tokens_per_minute"),
    ):
        r = await api.client.put(org_url(t), json=body, headers=t.admin.headers)
        assert r.status_code == 400, r.text
        assert error_code(r) == "above_ceiling" and field in r.json()["error"]["message"]
        assert r.json()["error"]["details"][0]["loc"] == ["body", field]
    assert await state(api) == before

    # at the ceiling, or unset (meaning: up to the ceiling), is fine
    r = await api.client.put(org_url(t), json=limits(100, 50_000, 99_999), headers=t.admin.headers)
    assert r.status_code == 200 and r.json()["effective"] == limits(100, 50_000, 99_999)
    r = await api.client.put(org_url(t), json={"max_concurrent_requests": 3}, headers=t.admin.headers)
    assert r.status_code == 200 and r.json()["effective"] == limits(100, 50_000, 3)

    # removing the ceiling: the limits apply as set
    r = await api.client.put(org_url(t, "/ceiling"), json={}, headers=t.root.headers)
    assert r.status_code == 200 and r.json()["effective"] == limits(None, None, 3)
    assert r.json()["ceiling"] == UNLIMITED


async def test_who_may_set_org_limits_and_the_ceiling(api: Api, t: Team) -> None:
    before = await state(api)
    body = limits(10)
    cases = [
        (org_url(t), t.user, 403),
        (org_url(t), t.outsider, 404),
        (org_url(uuid.uuid4()), t.root, 404),
        (org_url(t, "/ceiling"), t.admin, 403),
        (org_url(t, "/ceiling"), t.user, 403),
        (org_url(t, "/ceiling"), t.outsider, 403),  # refused before the org is looked at
        (org_url(uuid.uuid4(), "/ceiling"), t.root, 404),
    ]
    for url, who, status in cases:
        r = await api.client.put(url, json=body, headers=who.headers)
        assert r.status_code == status, (url, r.text)
        error_code(r)
    for url in (org_url(t), org_url(t, "/ceiling")):
        assert (await api.client.put(url, json=body)).status_code == 401
    assert await state(api) == before
    # an Org Admin of the other org manages only their own
    r = await api.client.put(org_url(t.other_org), json=body, headers=t.outsider.headers)
    assert r.status_code == 200 and r.json()["org_id"] == str(t.other_org)


# --- key limits --------------------------------------------------------------------------------


async def test_key_limits_who_may_read(api: Api, t: Team) -> None:
    key = await new_key(api, t.org, t.user)
    for who in (t.user, t.admin, t.root):
        r = await api.client.get(key_url(t.org, key["id"]), headers=who.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "key_id": key["id"],
            "org_id": str(t.org),
            "limits": UNLIMITED,
            "effective": UNLIMITED,
        }
    for who in (t.user2, t.outsider):  # another Org User's key, another org's key: as if absent
        r = await api.client.get(key_url(t.org, key["id"]), headers=who.headers)
        assert r.status_code == 404 and error_code(r) == "not_found"
    for url in (
        key_url(t.other_org, key["id"]),
        key_url(t.org, uuid.uuid4()),
        key_url(uuid.uuid4(), key["id"]),
    ):
        assert (await api.client.get(url, headers=t.root.headers)).status_code == 404
    assert (await api.client.get(key_url(t.org, key["id"]))).status_code == 401


async def test_org_admin_sets_key_limits_within_the_ceiling_audited(api: Api, t: Team) -> None:
    key = await new_key(api, t.org, t.user)
    mark = await last_audit_id(api)
    body = limits(120, None, 2)
    r = await api.client.put(key_url(t.org, key["id"]), json=body, headers=t.admin.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"key_id": key["id"], "org_id": str(t.org), "limits": body, "effective": body}
    row = await one_new_row(api, mark)
    assert (row.action_type, row.org_id, row.user_id_performing_action) == (
        "rate_limits_changed",
        t.org,
        t.admin.id,
    )
    assert row.payload == {"scope": "key", "key_id": key["id"], "old": UNLIMITED, "new": body}
    assert key["key"] not in str(row.payload)
    # the owner sees them
    r = await api.client.get(key_url(t.org, key["id"]), headers=t.user.headers)
    assert r.json()["limits"] == body

    # the org's ceiling caps the key's effective limits and bounds new ones
    r = await api.client.put(org_url(t, "/ceiling"), json=limits(100, 1000), headers=t.root.headers)
    assert r.status_code == 200
    r = await api.client.get(key_url(t.org, key["id"]), headers=t.admin.headers)
    assert r.json()["limits"] == body and r.json()["effective"] == limits(100, 1000, 2)
    before = await state(api)
    r = await api.client.put(key_url(t.org, key["id"]), json=limits(101), headers=t.admin.headers)
    assert r.status_code == 400 and error_code(r) == "above_ceiling"
    assert "requests_per_minute" in r.json()["error"]["message"]
    assert await state(api) == before

    mark = await last_audit_id(api)
    r = await api.client.put(key_url(t.org, key["id"]), json=limits(100, 1000, 1), headers=t.root.headers)
    assert r.status_code == 200 and r.json()["effective"] == limits(100, 1000, 1)
    row = await one_new_row(api, mark)
    assert row.user_id_performing_action == t.root.id and row.payload["old"] == body


async def test_who_may_set_key_limits(api: Api, t: Team) -> None:
    own = await new_key(api, t.org, t.user)
    other = await new_key(api, t.org, t.user2)
    before = await state(api)
    body = limits(5)
    cases = [
        (key_url(t.org, own["id"]), t.user, 403),  # an Org User, even on their own key
        (key_url(t.org, other["id"]), t.user, 403),
        (key_url(t.org, own["id"]), t.outsider, 404),
        (key_url(t.other_org, own["id"]), t.root, 404),  # the key is not in that org
        (key_url(t.org, uuid.uuid4()), t.root, 404),
        (key_url(uuid.uuid4(), own["id"]), t.root, 404),
        (key_url(t.org, uuid.uuid4()), t.admin, 404),
    ]
    for url, who, status in cases:
        r = await api.client.put(url, json=body, headers=who.headers)
        assert r.status_code == status, (url, r.text)
        error_code(r)
    assert (await api.client.put(key_url(t.org, own["id"]), json=body)).status_code == 401
    assert await state(api) == before


async def test_revoked_key_is_409(api: Api, t: Team) -> None:
    key = await new_key(api, t.org, t.user)
    r = await api.client.delete(f"/org/{t.org}/key/{key['id']}", headers=t.admin.headers)
    assert r.status_code == 200
    before = await state(api)
    r = await api.client.put(key_url(t.org, key["id"]), json=limits(5), headers=t.admin.headers)
    assert r.status_code == 409 and error_code(r) == "key_revoked"
    assert await state(api) == before
    assert (await api.client.get(key_url(t.org, key["id"]), headers=t.admin.headers)).status_code == 200


# --- bad input -----------------------------------------------------------------------------------


BAD = [
    ({"requests_per_minute": -1}, "requests_per_minute"),
    ({"requests_per_minute": 0}, "requests_per_minute"),
    ({"tokens_per_minute": 1.5}, "tokens_per_minute"),
    ({"tokens_per_minute": 10.0}, "tokens_per_minute"),
    ({"max_concurrent_requests": "10"}, "max_concurrent_requests"),
    ({"max_concurrent_requests": True}, "max_concurrent_requests"),
    ({"tokens_per_minute": 10**13}, "tokens_per_minute"),
    ({"requests_per_minute": 1_000_001}, "requests_per_minute"),
    ({"max_concurrent_requests": 100_001}, "max_concurrent_requests"),
    ({"requests_per_minute": 10**40}, "requests_per_minute"),
    ({"requests_per_minute": [1]}, "requests_per_minute"),
    ({"requests_per_minute": 5, "requests_per_hour": 5}, "requests_per_hour"),
]


@pytest.mark.parametrize("route", ["org", "ceiling", "key"])
@pytest.mark.parametrize(("body", "field"), BAD, ids=[f"{f}={list(b.values())[-1]!r}"[:40] for b, f in BAD])
async def test_bad_input_is_400_naming_the_field_and_changes_nothing(
    api: Api, t: Team, route: str, body: dict, field: str
) -> None:
    key = await new_key(api, t.org, t.user)
    url = {"org": org_url(t), "ceiling": org_url(t, "/ceiling"), "key": key_url(t.org, key["id"])}[route]
    who = t.root if route == "ceiling" else t.admin
    before = await state(api)
    r = await api.client.put(url, json=body, headers=who.headers)
    assert r.status_code == 400, r.text
    assert error_code(r) == "invalid_request"
    assert field in r.json()["error"]["message"]
    assert await state(api) == before


@pytest.mark.parametrize("content", [b"", b"[]", b"null", b"{", b'{"requests_per_minute": 1e3}'])
async def test_malformed_bodies_are_400(api: Api, t: Team, content: bytes) -> None:
    before = await state(api)
    r = await api.client.put(
        org_url(t), content=content, headers=t.admin.headers | {"Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    error_code(r)
    assert await state(api) == before


# --- the gateway picks the change up at once -------------------------------------------------------


async def _effective_within(
    auth: KeyAuthenticator, header: str, want: EffectiveRateLimits, limit_s: float = 1.0
) -> ApiKeyPrincipal:
    """The principal once it carries ``want`` (fails after ``limit_s``: the revocation bound,
    far below the cache TTLs of 60 s locally and 300 s in Redis)."""
    start = time.monotonic()
    while True:
        p = await auth.authenticate(header)
        if p.rate_limits == want:
            return p
        assert time.monotonic() - start < limit_s, f"still {p.rate_limits}, wanted {want}"
        await asyncio.sleep(0.01)


async def test_gateway_principal_carries_new_limits_at_once(
    api: Api, t: Team, gateway_auth: KeyAuthenticator, redis: Redis
) -> None:
    key = await new_key(api, t.org, t.user)
    header = f"Bearer {key['key']}"
    first = await gateway_auth.authenticate(header)  # cached locally and in Redis, unlimited
    assert first.rate_limits == EffectiveRateLimits() and first.rate_limits.is_unlimited
    assert await redis.get(entry_key(hash_api_key(key["key"]))) is not None

    async def changed(r: httpx.Response, want: EffectiveRateLimits) -> None:
        assert r.status_code == 200, r.text
        # a replica that has never seen the key reads it fresh right after the answer
        async with KeyAuthenticator(redis, api.sm, registry=CollectorRegistry()) as fresh:
            assert (await fresh.authenticate(header)).rate_limits == want
        await _effective_within(gateway_auth, header, want)  # the warm replica: evicted

    await changed(
        await api.client.put(key_url(t.org, key["id"]), json=limits(60, 5000, 2), headers=t.admin.headers),
        EffectiveRateLimits(key=RateLimits(60, 5000, 2)),
    )
    await changed(
        await api.client.put(org_url(t), json=limits(None, 100_000, 16), headers=t.admin.headers),
        EffectiveRateLimits(key=RateLimits(60, 5000, 2), org=RateLimits(None, 100_000, 16)),
    )
    # the ceiling caps both, also where nothing was set
    await changed(
        await api.client.put(org_url(t, "/ceiling"), json=limits(30, None, 4), headers=t.root.headers),
        EffectiveRateLimits(key=RateLimits(30, 5000, 2), org=RateLimits(30, 100_000, 4)),
    )
    await changed(
        await api.client.put(key_url(t.org, key["id"]), json={}, headers=t.root.headers),
        EffectiveRateLimits(key=RateLimits(30, None, 4), org=RateLimits(30, 100_000, 4)),
    )


async def test_org_deletion_removes_its_rate_limits(api: Api, t: Team) -> None:
    await api.client.put(org_url(t), json=limits(5), headers=t.admin.headers)
    await api.client.put(org_url(t, "/ceiling"), json=limits(50), headers=t.root.headers)
    r = await api.client.patch(f"/org/{t.org}", json={"status": "disabled"}, headers=t.root.headers)
    assert r.status_code == 200, r.text
    r = await api.client.delete(f"/org/{t.org}", headers=t.root.headers)
    assert r.status_code == 200, r.text
    async with api.sm() as s:
        assert await s.get(OrgRateLimits, t.org) is None
