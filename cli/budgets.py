"""`ias-admin budget show | set`: an organisation's monthly token limit (`budget alerts`:
:mod:`cli.budget_alerts`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from cli.common import Group, JsonOpt, OrgOpt, env, org_id
from cli.output import console, count, tokens, when
from cli.tokens import parse_amount

app = Group(help="Monthly token budgets: show, set (500M, 2B, unlimited); alerts (e-mail, webhook).")


def show_budget(b: dict[str, Any]) -> None:
    c = console()
    limit = b.get("monthly_token_limit")
    c.print(Text(f"monthly limit  {tokens(limit)}" + ("" if limit is None else f" ({count(limit)} tokens)")))
    used = b.get("used_this_month")
    c.print(
        Text(
            f"used {b['period']}   "
            + ("unknown right now" if used is None else f"{tokens(used)} ({count(used)})")
            + ("" if b.get("remaining_this_month") is None else f", {tokens(b['remaining_this_month'])} left")
        )
    )
    if b.get("updated_at"):
        c.print(Text(f"set {when(b['updated_at'])}", style="dim"))


@app.command("show")
def show(org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """An organisation's monthly token limit and this month's usage (members, System Admins).

    Example:

        ias-admin budget show --org acme
    """
    e = env(json_out)
    oid = org_id(e, org)
    budget = e.api.get(f"/api/org/{oid}/budget")
    e.out.result(budget, lambda: show_budget(budget))


@app.command("set")
def set_(
    amount: Annotated[
        str,
        typer.Argument(help="Tokens per month: 500M, 2B, 1.5k, 1000000, or unlimited.", show_default=False),
    ],
    org: OrgOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Set an organisation's monthly token limit (Org Admin, System Admin); the gateway applies
    it to the next request. Setting the value it has already changes nothing (no write, no
    audit row; "changed": false in the JSON).

    Examples:

        ias-admin budget set 500M --org acme
        ias-admin budget set unlimited --org acme
    """
    e = env(json_out)
    limit = parse_amount(amount)
    oid = org_id(e, org)
    budget = e.api.get(f"/api/org/{oid}/budget")
    changed = budget.get("monthly_token_limit") != limit
    if changed:
        budget = e.api.put(f"/api/org/{oid}/budget", {"monthly_token_limit": limit})
    elif not e.json:
        e.out.info("unchanged: the limit is set to this value already")
    e.out.result({**budget, "changed": changed}, lambda: show_budget(budget))
