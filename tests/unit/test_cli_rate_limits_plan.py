"""`ias-admin apply`'s plan for ``rate_limits`` / ``rate_limit_ceiling`` (pure), and the option
parsing of `ias-admin limits` (refused before any request)."""

from __future__ import annotations

import pytest
import typer

from cli.limits import merged, parse_limit
from cli.plan import OrgState, PlanError, Platform, cf, parse_file, plan

NONE = {"requests_per_minute": None, "tokens_per_minute": None, "max_concurrent_requests": None}


def world(limits: dict | None = None, ceiling: dict | None = None) -> Platform:
    acme = OrgState("o1", "acme", "active", None, rate_limits=limits, rate_limit_ceiling=ceiling)
    return Platform(orgs={cf("acme"): acme})


def test_values_are_parsed_like_budgets_and_omitted_limits_are_not_managed() -> None:
    spec = parse_file(
        {
            "orgs": [
                {
                    "name": "acme",
                    "rate_limits": {"requests_per_minute": 600, "tokens_per_minute": "100k"},
                    "rate_limit_ceiling": {"max_concurrent_requests": "unlimited", "tokens_per_minute": None},
                }
            ]
        }
    )
    o = spec.orgs[0]
    assert o.rate_limits == {"requests_per_minute": 600, "tokens_per_minute": 100_000}
    assert o.rate_limit_ceiling == {"max_concurrent_requests": None, "tokens_per_minute": None}


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"requests_per_minute": 0}, "org acme: rate_limits.requests_per_minute: must be at least 1"),
        ({"tokens_per_minute": -5}, "org acme: rate_limits.tokens_per_minute"),
        ({"max_concurrent_requests": 1.5}, "org acme: rate_limits.max_concurrent_requests: must be a whole"),
        ({"max_concurrent_requests": True}, "org acme: rate_limits.max_concurrent_requests"),
        ({"tokens_per_minute": "lots"}, "org acme: rate_limits.tokens_per_minute: not a token amount"),
        ({"rpm": 5}, "org acme: rate_limits: unknown rpm"),
        ([600], "org acme: rate_limits: must be a mapping"),
    ],
)
def test_bad_values_name_the_org_and_the_field(limits: object, message: str) -> None:
    with pytest.raises(PlanError, match=r"orgs\.0\.rate_limits") as err:
        parse_file({"orgs": [{"name": "acme", "rate_limits": limits}]})
    assert message in str(err.value)
    with pytest.raises(PlanError, match="org acme: rate_limit_ceiling"):
        parse_file({"orgs": [{"name": "acme", "rate_limit_ceiling": limits}]})


def test_only_differing_limits_are_planned_and_a_second_run_plans_nothing() -> None:
    spec = parse_file(
        {"orgs": [{"name": "acme", "rate_limits": {"requests_per_minute": 600, "tokens_per_minute": "100k"}}]}
    )
    current = {**NONE, "tokens_per_minute": 100_000, "max_concurrent_requests": 4}
    p = plan(spec, world(current, NONE))
    assert [(a.kind, a.change) for a in p.actions] == [
        ("set_rate_limits", "rate limits: requests_per_minute unlimited → 600")
    ]
    assert p.actions[0].params == {"org": "acme", "changes": {"requests_per_minute": 600}}
    after = {**current, **p.actions[0].params["changes"]}
    assert plan(spec, world(after, NONE)).actions == []


def test_a_new_org_gets_every_given_limit_after_its_creation() -> None:
    spec = parse_file(
        {
            "orgs": [
                {
                    "name": "new",
                    "rate_limits": {"tokens_per_minute": "2M"},
                    "rate_limit_ceiling": {"tokens_per_minute": "5M"},
                }
            ]
        }
    )
    p = plan(spec, Platform())
    assert [a.kind for a in p.actions] == ["create_org", "set_rate_limit_ceiling", "set_rate_limits"]
    assert p.actions[2].describe() == "~ org new: rate limits: tokens_per_minute 2M"


def test_the_ceiling_goes_first_when_raising_and_last_when_lowering() -> None:
    ceiling = {**NONE, "requests_per_minute": 100}
    raise_both = parse_file(
        {
            "orgs": [
                {
                    "name": "acme",
                    "rate_limits": {"requests_per_minute": 500},
                    "rate_limit_ceiling": {"requests_per_minute": 1000},
                }
            ]
        }
    )
    p = plan(raise_both, world({**NONE, "requests_per_minute": 100}, ceiling))
    assert [a.kind for a in p.actions] == ["set_rate_limit_ceiling", "set_rate_limits"]
    lower_both = parse_file(
        {
            "orgs": [
                {
                    "name": "acme",
                    "rate_limits": {"requests_per_minute": 10},
                    "rate_limit_ceiling": {"requests_per_minute": 50},
                }
            ]
        }
    )
    p = plan(lower_both, world({**NONE, "requests_per_minute": 100}, ceiling))
    assert [a.kind for a in p.actions] == ["set_rate_limits", "set_rate_limit_ceiling"]
    assert p.actions[1].change == "rate limit ceiling: requests_per_minute 100 → 50"


def test_limits_options_parse_like_budgets_and_merge_with_the_current_values() -> None:
    assert parse_limit("100k", "--tpm") == 100_000
    assert parse_limit("2M", "--tpm") == 2_000_000
    assert parse_limit("unlimited", "--rpm") is None
    for bad in ("0", "-1", "1.5", "x"):
        with pytest.raises(typer.BadParameter):
            parse_limit(bad, "--rpm")
    current = {"requests_per_minute": 60, "tokens_per_minute": None, "max_concurrent_requests": 4}
    assert merged(current, {"tokens_per_minute": 1000, "max_concurrent_requests": None}) == {
        "requests_per_minute": 60,
        "tokens_per_minute": 1000,
        "max_concurrent_requests": None,
    }
