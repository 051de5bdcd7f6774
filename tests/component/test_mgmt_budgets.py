"""`/api/org/{id}/budget`: read and set the monthly token limit; the gateway's own BudgetStore on
the same Valkey applies a new limit to the very next reservation."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ias_serve.cache.budget import BudgetStore, PostgresLimitSource
from ias_serve.db.repositories import BudgetRepository
from ias_serve.errors import BudgetExceeded
from tests.component.mgmt_harness import Api
from tests.component.mgmt_resources_support import error_code, last_audit_id, one_new_row, state, team


@pytest.fixture
def gateway_budgets(redis: Redis, api: Api) -> BudgetStore:
    """The gateway's budget store (its own instance, as in another process)."""
    return BudgetStore(redis, PostgresLimitSource(api.sm), registry=CollectorRegistry())


async def test_default_is_unlimited_and_members_may_read_it(api: Api) -> None:
    t = await team(api)
    for who in (t.root, t.admin, t.user):
        r = await api.client.get(f"/org/{t.org}/budget", headers=who.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["org_id"] == str(t.org) and body["monthly_token_limit"] is None
        assert body["monthly_token_limit_display"] == "unlimited" and body["updated_at"] is None
        assert body["used_this_month"] == 0 and body["remaining_this_month"] is None
        assert len(body["period"]) == 7
    r = await api.client.get(f"/org/{t.org}/budget", headers=t.outsider.headers)
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert (await api.client.get(f"/org/{uuid.uuid4()}/budget", headers=t.root.headers)).status_code == 404


async def test_org_admin_sets_a_human_amount_audited_with_old_and_new(api: Api, redis: Redis) -> None:
    t = await team(api)
    mark = await last_audit_id(api)
    r = await api.client.put(
        f"/org/{t.org}/budget", json={"monthly_token_limit": "500M"}, headers=t.admin.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["monthly_token_limit"] == 500_000_000 and body["monthly_token_limit_display"] == "500M"
    assert body["updated_by"] == str(t.admin.id) and body["updated_at"] is not None
    row = await one_new_row(api, mark)
    assert (row.action_type, row.org_id, row.user_id_performing_action) == (
        "budget_changed",
        t.org,
        t.admin.id,
    )
    assert row.payload == {"monthly_token_limit": "500M", "old_limit": None, "new_limit": 500_000_000}

    mark = await last_audit_id(api)
    r = await api.client.put(
        f"/org/{t.org}/budget", json={"monthly_token_limit": None}, headers=t.root.headers
    )
    assert r.status_code == 200 and r.json()["monthly_token_limit"] is None
    row = await one_new_row(api, mark)
    assert row.user_id_performing_action == t.root.id
    assert (row.payload["old_limit"], row.payload["new_limit"]) == (500_000_000, None)
    async with api.sm() as s:
        assert await BudgetRepository(s).get_limit(t.org) is None


async def test_new_limit_applies_to_the_next_reservation_at_once(
    api: Api, gateway_budgets: BudgetStore
) -> None:
    t = await team(api)
    # the gateway has the org's limit cached (unlimited) for budget_limit_ttl_s (60 s)
    first = await gateway_budgets.reserve(t.org, 700)
    await gateway_budgets.settle(first, 700)

    r = await api.client.put(
        f"/org/{t.org}/budget", json={"monthly_token_limit": 1000}, headers=t.admin.headers
    )
    assert r.status_code == 200
    assert r.json()["used_this_month"] == 700 and r.json()["remaining_this_month"] == 300

    with pytest.raises(BudgetExceeded) as exc:
        await gateway_budgets.reserve(t.org, 301)
    assert exc.value.status == 429 and exc.value.code == "insufficient_quota"
    await gateway_budgets.reserve(t.org, 300)
    body = (await api.client.get(f"/org/{t.org}/budget", headers=t.user.headers)).json()
    assert (body["used_this_month"], body["remaining_this_month"]) == (1000, 0)

    r = await api.client.put(
        f"/org/{t.org}/budget", json={"monthly_token_limit": "2B"}, headers=t.admin.headers
    )
    assert r.status_code == 200
    await gateway_budgets.reserve(t.org, 1_000_000)  # raised at once too


async def test_who_may_set(api: Api) -> None:
    t = await team(api)
    before = await state(api)
    for who, status in ((t.user, 403), (t.outsider, 404)):
        r = await api.client.put(f"/org/{t.org}/budget", json={"monthly_token_limit": 5}, headers=who.headers)
        assert r.status_code == status, r.text
        error_code(r)
    r = await api.client.put(
        f"/org/{uuid.uuid4()}/budget", json={"monthly_token_limit": 5}, headers=t.root.headers
    )
    assert r.status_code == 404
    assert (await api.client.put(f"/org/{t.org}/budget", json={"monthly_token_limit": 5})).status_code == 401
    assert await state(api) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"monthly_token_limit": -1}, 400),
        ({"monthly_token_limit": 1.5}, 400),
        ({"monthly_token_limit": True}, 400),
        ({"monthly_token_limit": 2**63}, 400),
        ({"monthly_token_limit": "lots"}, 422),
        ({"monthly_token_limit": "99999999999T"}, 422),
        ({"monthly_token_limit": 5, "currency": "EUR"}, 400),
    ],
)
async def test_bad_input_changes_nothing(api: Api, body: dict, status: int) -> None:
    t = await team(api)
    before = await state(api)
    r = await api.client.put(f"/org/{t.org}/budget", json=body, headers=t.admin.headers)
    assert r.status_code == status, r.text
    error_code(r)
    assert await state(api) == before
