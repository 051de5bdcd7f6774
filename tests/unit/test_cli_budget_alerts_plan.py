"""`ias-admin apply`'s plan for ``budget_alerts`` (pure), and the option parsing of
`ias-admin budget alerts set` (refused before any request)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml

from cli.budget_alerts import check_webhook_url, current_settings, merged, parse_thresholds, show_alerts
from cli.plan import OrgState, PlanError, Platform, cf, parse_file, plan

HOOK = "https://hooks.acme.example/ias"


def world(alerts: dict | None = None) -> Platform:
    acme = OrgState("o1", "acme", "active", None, budget_alerts=alerts)
    return Platform(orgs={cf("acme"): acme})


def test_the_file_is_parsed_and_omitted_settings_are_not_managed() -> None:
    spec = parse_file(
        {
            "orgs": [
                {"name": "acme", "budget_alerts": {"thresholds": [100, 50, 80], "webhook_url": f" {HOOK} "}},
                {"name": "labs", "budget_alerts": {"thresholds": [90]}},
                {"name": "lone", "budget_alerts": {"webhook_url": None}},
                {"name": "none", "budget_alerts": {"thresholds": []}},
                {"name": "plain"},
            ]
        }
    )
    acme, labs, lone, none, plain = spec.orgs
    assert acme.budget_alerts == {"thresholds": [50, 80, 100], "webhook_url": HOOK}  # sorted, stripped
    assert labs.budget_alerts == {"thresholds": [90]}
    assert lone.budget_alerts == {"webhook_url": None}
    assert none.budget_alerts == {"thresholds": []}
    assert plain.budget_alerts is None


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ({"thresholds": [0]}, "org acme: budget_alerts.thresholds: 0 is not between 1 and 100"),
        ({"thresholds": [101]}, "org acme: budget_alerts.thresholds: 101 is not between 1 and 100"),
        ({"thresholds": [50, 50]}, "org acme: budget_alerts.thresholds: 50 is listed twice"),
        ({"thresholds": [50.5]}, "org acme: budget_alerts.thresholds: 50.5 is not a whole number"),
        ({"thresholds": ["50"]}, "org acme: budget_alerts.thresholds: '50' is not a whole number"),
        ({"thresholds": [True]}, "org acme: budget_alerts.thresholds: True is not a whole number"),
        ({"thresholds": list(range(1, 12))}, "org acme: budget_alerts.thresholds: at most 10"),
        ({"thresholds": "50,80"}, "org acme: budget_alerts.thresholds: must be a list"),
        ({"webhook_url": "ftp://x.example/h"}, "org acme: budget_alerts.webhook_url: must be an http(s) URL"),
        ({"webhook_url": "hooks.example"}, "org acme: budget_alerts.webhook_url: must be an http(s) URL"),
        ({"webhook_url": 5}, "org acme: budget_alerts.webhook_url: must be an http(s) URL"),
        ({"webhook": HOOK}, "org acme: budget_alerts: unknown webhook"),
        ([50, 80], "org acme: budget_alerts: must be a mapping"),
    ],
)
def test_bad_values_name_the_org_and_the_field(alerts: object, message: str) -> None:
    with pytest.raises(PlanError, match=r"orgs\.0\.budget_alerts") as err:
        parse_file({"orgs": [{"name": "acme", "budget_alerts": alerts}]})
    assert message in str(err.value)


def test_only_differing_settings_are_planned_and_a_second_run_plans_nothing() -> None:
    spec = parse_file(
        {"orgs": [{"name": "acme", "budget_alerts": {"thresholds": [80, 50], "webhook_url": HOOK}}]}
    )
    current = {"thresholds": [50, 80], "webhook_url": None}
    p = plan(spec, world(current))
    assert [(a.kind, a.change) for a in p.actions] == [
        ("set_budget_alerts", f"budget alerts: webhook_url none → {HOOK}")
    ]
    assert p.actions[0].params == {"org": "acme", "changes": {"webhook_url": HOOK}}
    after = {**current, **p.actions[0].params["changes"]}
    assert plan(spec, world(after)).actions == []

    fewer = parse_file({"orgs": [{"name": "acme", "budget_alerts": {"thresholds": [], "webhook_url": None}}]})
    p = plan(fewer, world(after))
    assert (
        p.actions[0].describe()
        == f"~ org acme: budget alerts: thresholds 50%, 80% → none; webhook_url {HOOK} → none"
    )
    assert p.actions[0].params["changes"] == {"thresholds": [], "webhook_url": None}


def test_a_new_org_gets_its_alerts_after_its_creation() -> None:
    spec = parse_file({"orgs": [{"name": "new", "budget": "1M", "budget_alerts": {"thresholds": [50, 100]}}]})
    p = plan(spec, Platform())
    assert [a.kind for a in p.actions] == ["create_org", "set_budget_alerts"]
    assert p.actions[1].describe() == "~ org new: budget alerts: thresholds 50%, 100%"
    assert p.actions[1].params == {"org": "new", "changes": {"thresholds": [50, 100]}}
    # what a new org has already (no thresholds, no webhook) is not written
    nothing = parse_file(
        {"orgs": [{"name": "new", "budget_alerts": {"thresholds": [], "webhook_url": None}}]}
    )
    assert [a.kind for a in plan(nothing, Platform()).actions] == ["create_org"]


def test_thresholds_option_parsing() -> None:
    assert parse_thresholds("50,80,100") == [50, 80, 100]
    assert parse_thresholds(" 100, 50 ,80% ") == [50, 80, 100]
    assert parse_thresholds("none") == parse_thresholds("NONE") == parse_thresholds("") == []
    assert parse_thresholds("1,2,3,4,5,6,7,8,9,10") == list(range(1, 11))
    for bad, why in (
        ("0", "between 1 and 100"),
        ("101", "between 1 and 100"),
        ("50,50", "listed twice"),
        ("50.5", "not a whole number"),
        ("x", "not a whole number"),
        ("-5", "not a whole number"),
        ("50,,80", "not a whole number"),
        ("1,2,3,4,5,6,7,8,9,10,11", "at most 10"),
        ("٥٠", "not a whole number"),  # Arabic-Indic digits: not what the API takes
    ):
        with pytest.raises(typer.BadParameter, match=why):
            parse_thresholds(bad)


def test_webhook_option_and_merge() -> None:
    assert check_webhook_url(f" {HOOK} ") == HOOK
    assert check_webhook_url("http://10.0.0.1:8080/hook?x=1") == "http://10.0.0.1:8080/hook?x=1"
    for bad in ("ftp://x.example", "hooks.example/x", "https://", "https:// x"):
        with pytest.raises(typer.BadParameter):
            check_webhook_url(bad)
    current = current_settings({"thresholds": [80, 50], "webhook_url": HOOK, "alerts": []})
    assert current == {"thresholds": [50, 80], "webhook_url": HOOK}
    assert merged(current, {"thresholds": [90]}) == {"thresholds": [90], "webhook_url": HOOK}
    assert merged(current, {"webhook_url": None}) == {"thresholds": [50, 80], "webhook_url": None}
    assert merged(current, {}) == current


def test_show_prints_the_settings_and_this_months_alerts(capsys: pytest.CaptureFixture[str]) -> None:
    data = {
        "org_id": "o1",
        "thresholds": [50, 80, 100],
        "webhook_url": HOOK,
        "webhook_secret_set": True,
        "alerts": [
            {
                "id": "a2",
                "period": "2026-12",
                "threshold": 80,
                "used_tokens": 820_000,
                "limit_tokens": 1_000_000,
                "created_at": "2026-12-03T10:00:00Z",
                "email_status": "delivered",
                "webhook_status": "failed",
                "attempts": 3,
                "last_error": "HTTP 502",
            },
            {
                "id": "a1",
                "period": "2026-12",
                "threshold": 50,
                "used_tokens": 500_100,
                "limit_tokens": 1_000_000,
                "created_at": "2026-12-02T09:00:00Z",
                "email_status": "delivered",
                "webhook_status": "delivered",
                "attempts": 1,
                "last_error": None,
            },
        ],
        "updated_at": "2026-12-01T08:00:00Z",
        "updated_by": "u1",
    }
    show_alerts(data)
    out = capsys.readouterr().out
    for text in (
        "Budget alerts of org o1",
        "50%, 80%, 100%",
        HOOK,
        "signing secret set",
        "This month's alerts",
    ):
        assert text in out, out
    lines = out.splitlines()
    row = next(line for line in lines if " a2" in line)
    for text in ("2026-12-03 10:00:00Z", "80%", "820k", "1M", "delivered", "failed", "3", "HTTP 502"):
        assert text in row, row
    assert out.index(" a2") < out.index(" a1")  # newest first, as the API gives them

    show_alerts({**data, "thresholds": [], "webhook_url": None, "webhook_secret_set": False, "alerts": []})
    out = capsys.readouterr().out
    assert (
        "thresholds  none (no alerts)" in out and "webhook     none" in out and "No alerts this month." in out
    )


def test_the_example_file_carries_budget_alerts() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "tenants.yaml"
    acme = next(o for o in parse_file(yaml.safe_load(path.read_text())).orgs if o.name == "acme")
    assert acme.budget_alerts == {"thresholds": [50, 80, 100]}
    assert acme.rate_limits == {
        "requests_per_minute": 600,
        "tokens_per_minute": 100_000,
        "max_concurrent_requests": 8,
    }
