"""`ias-admin apply`'s plan: the file's validation and the actions that make a platform match it
(pure: a :class:`Platform` in, a :class:`Plan` out). Applying a plan's effect to the platform and
planning again must give nothing — the property that makes a second run change nothing."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from cli.plan import (
    Invite,
    Member,
    ModelState,
    OrgState,
    Plan,
    PlanError,
    Platform,
    cf,
    parse_file,
    plan,
)

ROOT = Path(__file__).resolve().parents[2]
ECHO = ModelState("m-echo", "echo-model", "echo-model", None, True, Decimal(0), Decimal(0), None)


def platform(**orgs: OrgState) -> Platform:
    p = Platform(orgs={cf(o.name): o for o in orgs.values()}, models={"echo-model": copy.deepcopy(ECHO)})
    return p


def kinds(p: Plan) -> list[tuple[str, str]]:
    return [(a.kind, a.target) for a in p.actions]


def simulate(p: Plan, world: Platform) -> Platform:
    """The platform after the plan, as the API would leave it (ids for new things: their names)."""
    w = copy.deepcopy(world)
    for a in p.actions:
        q = a.params
        if a.kind == "create_org":
            w.orgs[cf(q["org"])] = OrgState(
                f"id-{q['org']}", q["org"], "active", q["body"].get("monthly_token_limit"), {}, {}
            )
            continue
        if a.kind == "create_model":
            body = q["body"]
            access = q["access"]
            allowed = None
            if not access.get("unchanged") and not access.get("all"):
                allowed = [*access["ids"], *(f"id-{n}" for n in access["new_orgs"])]
            w.models[body["name"]] = ModelState(  # type: ignore[index]
                f"id-{body['name']}",
                body["name"],
                body.get("serve"),
                body.get("remote_url"),
                body.get("enabled", True),
                Decimal(body.get("price_per_million_input", 0)),
                Decimal(body.get("price_per_million_output", 0)),
                allowed,
            )
            continue
        if a.kind in ("update_model", "set_model_access"):
            m = w.models[q["model"]]  # type: ignore[index]
            if a.kind == "set_model_access":
                m.allowed = None if q.get("all") else [*q["ids"], *(f"id-{n}" for n in q["new_orgs"])]
            else:
                for k, v in q["body"].items():
                    setattr(
                        m,
                        {"price_per_million_input": "price_in", "price_per_million_output": "price_out"}.get(
                            k, k
                        ),
                        Decimal(v) if k.startswith("price") else v,
                    )
            continue
        org = w.orgs[cf(q["org"])]
        if a.kind == "update_org":
            org.status = q["status"]
        elif a.kind == "set_budget":
            org.limit = q["monthly_token_limit"]
        elif a.kind == "invite":
            org.invites = {
                **(org.invites or {}),
                q["email"]: Invite(f"inv-{q['email']}", q["email"], q["role"]),
            }
        elif a.kind == "set_role":
            (org.members or {})[q["email"]].role = q["role"]
        elif a.kind == "remove_member":
            del (org.members or {})[q["email"]]
        elif a.kind == "revoke_invite":
            del (org.invites or {})[q["email"]]
    return w


def converges(spec_data: dict, world: Platform, *, prune: bool = False) -> Plan:
    spec = parse_file(spec_data)
    first = plan(spec, world, prune=prune)
    second = plan(spec, simulate(first, world), prune=prune)
    assert second.actions == [], [a.describe() for a in second.actions]
    return first


# --- the file ----------------------------------------------------------------------------------------


def test_the_example_file_is_valid() -> None:
    spec = parse_file(yaml.safe_load((ROOT / "examples" / "tenants.yaml").read_text()))
    assert spec.orgs and all(o.name for o in spec.orgs)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"orgs": [{"name": "a", "budjet": "5M"}]}, "orgs.0.budjet"),
        ({"orgs": [{"name": "a", "budget": "5.5"}]}, "not a whole number"),
        ({"orgs": [{"name": "a", "budget": "lots"}]}, "not a token amount"),
        ({"orgs": [{"name": "a", "status": "paused"}]}, "orgs.0.status"),
        ({"orgs": [{"name": "a", "admins": ["x@y.io"], "users": ["X@y.io"]}]}, "admin and as user"),
        ({"orgs": [{"name": "a", "users": ["not-an-email"]}]}, "not an e-mail"),
        ({"orgs": [{"name": "a"}, {"name": "A"}]}, "org listed twice"),
        ({"models": [{"name": "m", "serve": "s", "remote_url": "http://x"}]}, "not both"),
        ({"models": [{"name": "m", "access": "some"}]}, "models.0.access"),
        ({"version": 2}, "version"),
        ([1, 2], "mapping"),
    ],
)
def test_invalid_files_are_refused_with_the_place(data: object, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        parse_file(data)


def test_an_empty_file_plans_nothing() -> None:
    assert plan(parse_file(None), platform()).actions == []


# --- orgs, budgets, people ----------------------------------------------------------------------------


def test_a_new_org_is_created_with_its_budget_and_people_invited() -> None:
    p = converges(
        {"orgs": [{"name": "acme", "budget": "500M", "admins": ["ada@acme.io"], "users": ["Grace@Acme.io"]}]},
        platform(),
    )
    assert kinds(p) == [
        ("create_org", "org acme"),
        ("invite", "member grace@acme.io of acme"),
        ("invite", "member ada@acme.io of acme"),
    ]
    assert p.actions[0].params["body"] == {"name": "acme", "monthly_token_limit": 500_000_000}
    assert p.actions[0].describe() == "+ org acme: create (budget 500M)"
    assert p.actions[2].params == {"org": "acme", "email": "ada@acme.io", "role": "org_admin"}


def test_a_disabled_new_org_is_created_then_disabled_and_unlimited_is_not_sent() -> None:
    p = converges({"orgs": [{"name": "x", "status": "disabled", "budget": "unlimited"}]}, platform())
    assert kinds(p) == [("create_org", "org x"), ("update_org", "org x")]
    assert p.actions[0].params["body"] == {"name": "x"}


def test_existing_org_status_and_budget_change_only_when_different() -> None:
    world = platform(a=OrgState("id-a", "Acme", "active", 1_000_000))
    assert (
        plan(parse_file({"orgs": [{"name": "acme", "budget": "1M", "status": "active"}]}), world).actions
        == []
    )
    assert plan(parse_file({"orgs": [{"name": "ACME"}]}), world).actions == []  # budget omitted: left alone
    p = converges({"orgs": [{"name": "acme", "budget": None, "status": "disabled"}]}, world)
    assert [a.describe() for a in p.actions] == [
        "~ org Acme: status active → disabled",
        "~ org Acme: budget 1M → unlimited",
    ]


def test_members_get_roles_invites_are_kept_and_replaced() -> None:
    world = platform(
        a=OrgState(
            "id-a",
            "acme",
            "active",
            None,
            members={
                "ada@x.io": Member("u-ada", "ada@x.io", "org_user"),
                "bob@x.io": Member("u-bob", "bob@x.io", "org_user"),
            },
            invites={
                "cy@x.io": Invite("i-cy", "cy@x.io", "org_user"),
                "di@x.io": Invite("i-di", "di@x.io", "org_user"),
            },
        )
    )
    spec = {
        "orgs": [
            {"name": "acme", "admins": ["ada@x.io", "di@x.io"], "users": ["bob@x.io", "cy@x.io", "ed@x.io"]}
        ]
    }
    p = converges(spec, world)
    assert [a.describe() for a in p.actions] == [
        "+ member ed@x.io of acme: invite as org_user",
        "~ member ada@x.io of acme: role org_user → org_admin",
        "+ member di@x.io of acme: invite as org_admin (replaces the pending invite as org_user)",
    ]
    assert p.warnings == []


def test_unlisted_people_are_kept_with_a_warning_or_removed_with_prune() -> None:
    world = platform(
        a=OrgState(
            "id-a",
            "acme",
            "active",
            None,
            members={
                "ada@x.io": Member("u-ada", "ada@x.io", "org_admin"),
                "old@x.io": Member("u-old", "old@x.io", "org_user"),
            },
            invites={"gone@x.io": Invite("i-gone", "gone@x.io", "org_user")},
        )
    )
    spec = {"orgs": [{"name": "acme", "admins": ["ada@x.io"]}]}
    kept = converges(spec, world)
    assert kept.actions == [] and kept.warnings == [
        "acme: not in the file, kept (--prune removes them): gone@x.io (invited), old@x.io"
    ]
    pruned = converges(spec, world, prune=True)
    assert [(a.kind, a.params.get("user_id") or a.params.get("invite_id")) for a in pruned.actions] == [
        ("remove_member", "u-old"),
        ("revoke_invite", "i-gone"),
    ]
    # an org listing nobody: its members are not touched, even with --prune
    assert plan(parse_file({"orgs": [{"name": "acme"}]}), world, prune=True).actions == []


# --- models -------------------------------------------------------------------------------------------------


def test_org_models_add_and_remove_the_org_from_listed_models() -> None:
    world = platform(a=OrgState("id-a", "acme", "active", None), b=OrgState("id-b", "beta", "active", None))
    world.models["llama3"] = ModelState(
        "m-l", "llama3", None, "http://l/v1", True, Decimal("0.1"), Decimal("0.2"), ["id-b", "id-other"]
    )  # type: ignore[index]
    world.models["old"] = ModelState("m-o", "old", "old", None, True, Decimal(0), Decimal(0), ["id-a"])  # type: ignore[index]
    p = converges(
        {"orgs": [{"name": "acme", "models": ["llama3", "echo-model"]}, {"name": "beta", "models": []}]},
        world,
    )
    assert [a.describe() for a in p.actions] == [
        "~ model llama3: allow acme; deny beta",
        "~ model old: deny acme",
    ]
    assert p.actions[0].params["ids"] == ["id-other", "id-a"]  # orgs outside the file keep their access
    assert p.warnings == [
        "model echo-model is open to every organisation, so beta can use it although its `models` "
        "does not list it (give the model `access: listed` to restrict it)"
    ]


def test_access_listed_restricts_an_open_model_and_all_opens_it() -> None:
    world = platform(a=OrgState("id-a", "acme", "active", None))
    p = converges(
        {
            "models": [{"name": "echo-model", "access": "listed"}],
            "orgs": [{"name": "acme", "models": ["echo-model"]}, {"name": "new", "models": []}],
        },
        world,
    )
    assert [a.describe() for a in p.actions] == [
        "+ org new: create",
        "~ model echo-model: only acme (was: every organisation)",
    ]
    assert p.warnings == []
    world.models["echo-model"].allowed = ["id-a"]  # type: ignore[index]
    p = converges({"models": [{"name": "echo-model", "access": "all"}]}, world)
    assert [a.describe() for a in p.actions] == ["~ model echo-model: open to every organisation"]


def test_models_are_created_and_their_given_fields_updated() -> None:
    world = platform()
    world.models["llama3"] = ModelState(
        "m-l", "llama3", None, "http://l:8000/v1", True, Decimal("0.15"), Decimal("0.6"), None
    )  # type: ignore[index]
    spec = {
        "models": [
            {
                "name": "llama3",
                "remote_url": "http://l:8000/v1/",
                "price_per_million_input": 0.15,
                "price_per_million_output": "0.60",
            },
            {
                "name": "mini",
                "serve": "mini-engine",
                "enabled": False,
                "price_per_million_output": 0.5,
                "access": "listed",
            },
        ],
        "orgs": [{"name": "acme", "models": ["mini"]}],
    }
    p = converges(spec, world)
    assert kinds(p) == [("create_org", "org acme"), ("create_model", "model mini")]  # llama3 is as described
    create = p.actions[1].params
    assert create["body"] == {
        "name": "mini",
        "serve": "mini-engine",
        "enabled": False,
        "price_per_million_output": "0.5",
    }
    assert create["access"] == {"ids": [], "new_orgs": ["acme"]}
    spec["models"][0]["enabled"] = False
    spec["models"][0]["price_per_million_output"] = "0.7"
    p = converges(spec, simulate(p, world))
    assert [a.describe() for a in p.actions] == [
        "~ model llama3: enabled → False, price_per_million_output → 0.7"
    ]


def test_unknown_models_and_backendless_new_models_are_plan_errors() -> None:
    with pytest.raises(PlanError, match="no model named nope"):
        plan(parse_file({"orgs": [{"name": "a", "models": ["nope"]}]}), platform())
    with pytest.raises(PlanError, match="needs serve or remote_url"):
        plan(parse_file({"models": [{"name": "fresh"}]}), platform())
    world = platform()
    world.models = None  # not a System Admin: the models could not be read
    with pytest.raises(PlanError, match="System Admin"):
        plan(parse_file({"orgs": [{"name": "a", "models": []}]}), world)
    assert plan(parse_file({"orgs": [{"name": "a"}]}), world).actions  # no models: fine


def test_actions_serialise_for_json() -> None:
    p = plan(parse_file({"orgs": [{"name": "a", "budget": 1000}]}), platform())
    assert p.actions[0].as_json() == {
        "action": "create_org",
        "target": "org a",
        "change": "create (budget 1k)",
        "params": {"org": "a", "body": {"name": "a", "monthly_token_limit": 1000}},
    }
