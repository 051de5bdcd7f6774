"""ias_serve.domain.rate_limits: capping, the ceiling rule, validation of outside values."""

from __future__ import annotations

import dataclasses

import pytest

from ias_serve.domain.rate_limits import (
    FIELDS,
    MAX_VALUES,
    UNLIMITED,
    EffectiveRateLimits,
    RateLimits,
    check_limit,
    effective_rate_limits,
    parse_rate_limits,
)
from ias_serve.domain.validation import InvalidValue
from ias_serve.errors import ValidationFailed


def test_default_is_unlimited_and_frozen() -> None:
    limits = RateLimits()
    assert limits == UNLIMITED and limits.is_unlimited
    assert limits.as_dict() == dict.fromkeys(FIELDS)
    assert not RateLimits(tokens_per_minute=5).is_unlimited
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.requests_per_minute = 1  # type: ignore[misc]


def test_capped_is_a_per_field_minimum_where_none_bounds_nothing() -> None:
    mine = RateLimits(requests_per_minute=100, tokens_per_minute=None, max_concurrent_requests=4)
    ceiling = RateLimits(requests_per_minute=50, tokens_per_minute=1000, max_concurrent_requests=None)
    assert mine.capped(ceiling) == RateLimits(50, 1000, 4)
    assert mine.capped(UNLIMITED) == mine
    assert UNLIMITED.capped(ceiling) == ceiling  # a ceiling applies where nothing was set
    assert UNLIMITED.capped(UNLIMITED) == UNLIMITED
    assert RateLimits(10, 10, 10).capped(RateLimits(20, 20, 20)) == RateLimits(10, 10, 10)


def test_exceeds_names_the_first_field_above_the_ceiling() -> None:
    ceiling = RateLimits(requests_per_minute=100, tokens_per_minute=1000, max_concurrent_requests=5)
    assert RateLimits(100, 1000, 5).exceeds(ceiling) is None  # equal is fine
    assert RateLimits(101, 2000, 6).exceeds(ceiling) == "requests_per_minute"
    assert RateLimits(1, 1001, 6).exceeds(ceiling) == "tokens_per_minute"
    assert RateLimits(max_concurrent_requests=6).exceeds(ceiling) == "max_concurrent_requests"
    # unset means "up to the ceiling" (capped), never "above" it
    assert UNLIMITED.exceeds(ceiling) is None
    assert RateLimits(10**6, 10**12, 10**5).exceeds(UNLIMITED) is None


def test_effective_limits() -> None:
    assert EffectiveRateLimits().is_unlimited
    assert EffectiveRateLimits() == EffectiveRateLimits(UNLIMITED, UNLIMITED)
    assert not EffectiveRateLimits(key=RateLimits(requests_per_minute=1)).is_unlimited
    assert not EffectiveRateLimits(org=RateLimits(max_concurrent_requests=1)).is_unlimited
    eff = effective_rate_limits(
        RateLimits(requests_per_minute=500), RateLimits(tokens_per_minute=9000), RateLimits(100, 5000, 3)
    )
    assert eff.key == RateLimits(100, 5000, 3) and eff.org == RateLimits(100, 5000, 3)
    assert effective_rate_limits(UNLIMITED, UNLIMITED, UNLIMITED).is_unlimited
    assert hash(eff) == hash(EffectiveRateLimits(RateLimits(100, 5000, 3), RateLimits(100, 5000, 3)))


@pytest.mark.parametrize("name", FIELDS)
def test_check_limit_accepts_null_and_the_whole_range(name: str) -> None:
    assert check_limit(name, None) is None
    assert check_limit(name, 1) == 1
    assert check_limit(name, MAX_VALUES[name]) == MAX_VALUES[name]


def test_bounds() -> None:
    assert MAX_VALUES == {
        "requests_per_minute": 1_000_000,
        "tokens_per_minute": 10**12,
        "max_concurrent_requests": 100_000,
    }


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize(
    ("value", "says"),
    [
        (0, "at least 1"),
        (-5, "at least 1"),
        (True, "not bool"),
        (False, "not bool"),
        (1.5, "not float"),
        (10.0, "not float"),
        ("10", "not str"),
        ([1], "not list"),
        (10**13, "at most"),
    ],
)
def test_check_limit_refuses_naming_the_field(name: str, value: object, says: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        check_limit(name, value)
    assert exc.value.param == name and name in exc.value.message and says in exc.value.message
    assert isinstance(exc.value, ValidationFailed) and isinstance(exc.value, ValueError)


def test_each_bound_is_its_own() -> None:
    with pytest.raises(InvalidValue, match="at most 1000000"):
        check_limit("requests_per_minute", 1_000_001)
    with pytest.raises(InvalidValue, match="at most 100000"):
        check_limit("max_concurrent_requests", 100_001)
    assert check_limit("tokens_per_minute", 1_000_001) == 1_000_001


def test_check_limit_unknown_name() -> None:
    with pytest.raises(InvalidValue) as exc:
        check_limit("requests_per_hour", 5)
    assert exc.value.param == "requests_per_hour" and "unknown rate limit" in exc.value.message


def test_parse_rate_limits() -> None:
    assert parse_rate_limits({}) == UNLIMITED
    assert parse_rate_limits({"requests_per_minute": 60, "max_concurrent_requests": None}) == RateLimits(60)
    full = {"requests_per_minute": 1, "tokens_per_minute": 2, "max_concurrent_requests": 3}
    assert parse_rate_limits(full) == RateLimits(1, 2, 3)
    with pytest.raises(InvalidValue) as exc:
        parse_rate_limits({"requests_per_minute": 1, "burst": 5})
    assert exc.value.param == "burst"
    with pytest.raises(InvalidValue) as exc:
        parse_rate_limits({"tokens_per_minute": "1k"})
    assert exc.value.param == "tokens_per_minute"


def test_as_tuple_follows_fields() -> None:
    assert RateLimits(1, 2, 3).as_tuple() == (1, 2, 3)
    assert tuple(RateLimits(1, 2, 3).as_dict()) == FIELDS


# --- the wire format (protocol) uses the same rules ------------------------------------------


def test_update_body_validates_with_the_domain_rules() -> None:
    from pydantic import ValidationError

    from ias_serve.protocol.management.rate_limits import RateLimitsUpdate, RateLimitValues

    assert RateLimitsUpdate.model_validate({}).to_domain() == UNLIMITED
    body = RateLimitsUpdate.model_validate({"requests_per_minute": 60, "max_concurrent_requests": 2})
    assert body.to_domain() == RateLimits(60, None, 2)
    assert RateLimitValues.of(RateLimits(1, 2, 3)).model_dump() == {
        "requests_per_minute": 1,
        "tokens_per_minute": 2,
        "max_concurrent_requests": 3,
    }
    for bad, name in (
        ({"tokens_per_minute": "10"}, "tokens_per_minute"),
        ({"requests_per_minute": True}, "requests_per_minute"),
        ({"max_concurrent_requests": 0}, "max_concurrent_requests"),
        ({"rpm": 1}, "rpm"),
    ):
        with pytest.raises(ValidationError) as exc:
            RateLimitsUpdate.model_validate(bad)
        assert exc.value.errors()[0]["loc"] == (name,)
    schema = RateLimitsUpdate.model_json_schema()
    assert schema["additionalProperties"] is False
    rpm = schema["properties"]["requests_per_minute"]["anyOf"][0]
    assert (rpm["minimum"], rpm["maximum"]) == (1, 1_000_000)
