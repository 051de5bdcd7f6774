"""`ias-admin usage org | me | system`: the analytics dashboards as tables and a daily bar chart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.text import Text

from cli.common import Group, JsonOpt, OrgOpt, env, org_id
from cli.output import bar_chart, console, count, money, table, tokens

app = Group(help="Usage dashboards: an organisation, yourself, the whole system.")

DaysOpt = Annotated[
    int | None,
    typer.Option("--days", "-d", min=1, max=366, help="The last N days, today included (default 30)."),
]
FromOpt = Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD), instead of --days.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, included (default: today).")]
ChartOpt = Annotated[bool, typer.Option("--chart/--no-chart", help="Show the daily bar chart.")]

FIGURES = ["requests", "input", "output", "total", "cost"]


def window(days: int | None, start: str | None, end: str | None) -> dict[str, Any]:
    if days is not None and (start or end):
        raise typer.BadParameter("give --days or --from/--to, not both", param_hint="--days")
    if end and not start:
        raise typer.BadParameter("--to needs --from", param_hint="--to")
    return {"days": days, "from": start, "to": end}


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        count(row["requests"]),
        count(row["input_tokens"]),
        count(row["output_tokens"]),
        count(row["total_tokens"]),
        money(row["cost"]),
    )


def header(title: str, data: dict[str, Any]) -> None:
    p = data["period"]
    console().print(
        Text.assemble(
            Text(title, style="bold"), Text(f"  {p['from']} … {p['to']} ({p['days']} days)", style="dim")
        )
    )


def breakdown(title: str, label: list[str], rows: list[dict[str, Any]], keys: list[Any]) -> None:
    if not rows:
        return
    console().print(
        table(
            [*label, *FIGURES],
            [(*(k(r) if callable(k) else r.get(k) for k in keys), *figures(r)) for r in rows],
            title=title,
        )
    )


def chart(data: dict[str, Any]) -> None:
    days = [(d["day"][5:], d["total_tokens"]) for d in data["daily"]]
    if not days:
        return
    console().print(Text("Daily tokens", style="bold"))
    for line in bar_chart(days):
        console().print(line)


def totals(data: dict[str, Any], extra: Sequence[tuple[str, dict[str, Any]]] = ()) -> None:
    rows = [("total", *figures(data["totals"])), *((name, *figures(f)) for name, f in extra)]
    console().print(table(["", *FIGURES], rows))


@app.command("org")
def org_usage(
    org: OrgOpt = None,
    days: DaysOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    show_chart: ChartOpt = True,
    json_out: JsonOpt = False,
) -> None:
    """An organisation's usage: totals, your share, by model, by user, daily, budget this month.

    Examples:

        ias-admin usage org --org acme --days 7
        ias-admin usage org --from 2026-03-01 --to 2026-03-31 --json
    """
    e = env(json_out)
    params = window(days, from_, to)
    oid = org_id(e, org)
    data = e.api.get(f"/analytics/org/{oid}", **params)

    def human() -> None:
        header(f"Usage of {data['name']}", data)
        totals(data, [("yours", data["mine"])])
        breakdown("By model", ["model"], data["by_model"], ["model"])
        breakdown("By user", ["user"], data["by_user"], [lambda r: r.get("email") or r["user_id"]])
        b = data["budget"]
        console().print(
            Text(
                f"Budget {b['period']}: {tokens(b['used'])} used of {tokens(b['limit'])}"
                + (f" ({b['percent']}%), {tokens(b['remaining'])} left" if b["limit"] is not None else "")
            )
        )
        if show_chart:
            chart(data)

    e.out.result(data, human)


@app.command("me")
def my_usage(
    days: DaysOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    show_chart: ChartOpt = True,
    json_out: JsonOpt = False,
) -> None:
    """Your own usage in all your organisations: totals, by model, by key, by org, daily.

    Example:

        ias-admin usage me --days 7
    """
    e = env(json_out)
    data = e.api.get("/analytics/me", **window(days, from_, to))

    def human() -> None:
        header(f"Usage of {data['email']}", data)
        totals(data)
        breakdown("By model", ["model"], data["by_model"], ["model"])
        breakdown("By key", ["key", "prefix"], data["by_key"], ["name", "prefix"])
        breakdown("By organisation", ["org"], data["by_org"], [lambda r: r.get("name") or r["org_id"]])
        if show_chart:
            chart(data)

    e.out.result(data, human)


@app.command("system")
def system_usage(
    days: DaysOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    show_chart: ChartOpt = True,
    json_out: JsonOpt = False,
) -> None:
    """Usage across every organisation (System Admin).

    Example:

        ias-admin usage system --days 30 --no-chart
    """
    e = env(json_out)
    data = e.api.get("/analytics/system", **window(days, from_, to))

    def human() -> None:
        header("Usage of all organisations", data)
        totals(data)
        breakdown("By organisation", ["org"], data["by_org"], [lambda r: r.get("name") or r["org_id"]])
        breakdown("By model", ["model"], data["by_model"], ["model"])
        if show_chart:
            chart(data)

    e.out.result(data, human)
