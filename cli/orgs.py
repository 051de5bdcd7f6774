"""`ias-admin org create | list | show | update | disable | enable | delete` (System Admins; members may
list and show their own organisations)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from cli.client import ApiError
from cli.common import Env, Group, JsonOpt, env, find_org, not_found, org_id, usage_error
from cli.output import console, table, tokens, when
from cli.tokens import parse_amount

app = Group(help="Organisations: create, list, show, rename, disable, enable, delete.")

OrgArg = Annotated[str, typer.Argument(help="Organisation id or name.", show_default=False)]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=500, help="Rows per page.")]
CursorOpt = Annotated[
    str | None, typer.Option("--cursor", help="next_cursor of the previous page.", show_default=False)
]
AllOpt = Annotated[bool, typer.Option("--all", "-a", help="Every page, not only the first.")]


def org_table(rows: list[dict[str, Any]]) -> Any:
    return table(
        ["name", "id", "status", "budget", "created"],
        [
            (o["name"], o["id"], o["status"], tokens(o.get("monthly_token_limit")), when(o["created_at"]))
            for o in rows
        ],
    )


def show_org(org: dict[str, Any]) -> None:
    c = console()
    status = Text(org["status"], style="green" if org["status"] == "active" else "red")
    c.print(Text.assemble(Text(org["name"], style="bold"), "  ", status))
    c.print(Text(f"id       {org['id']}"))
    c.print(Text(f"budget   {tokens(org.get('monthly_token_limit'))} tokens / month"))
    c.print(Text(f"created  {when(org['created_at'])}   updated {when(org['updated_at'])}", style="dim"))


def set_status(e: Env, ref: str, status: str) -> dict[str, Any]:
    """The org with ``status``; no write (and no audit row) when it has it already."""
    org = find_org(e, ref)
    if org is None:
        raise not_found("org", ref)
    if org["status"] == status:
        if not e.json:
            e.out.info(f"unchanged: {org['name']} is {status} already")
        return {**org, "changed": False}
    return {**e.api.patch(f"/api/org/{org['id']}", {"status": status}), "changed": True}


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Name of the organisation (unique, case-insensitively).")],
    budget: Annotated[
        str | None,
        typer.Option("--budget", "-b", help="Monthly token limit: 500M, 2B, 1.5k, 1000000 or unlimited."),
    ] = None,
    if_not_exists: Annotated[
        bool,
        typer.Option(
            "--if-not-exists", help="An organisation of this name existing already is success (it is shown)."
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create an organisation (System Admin).

    With --if-not-exists an existing organisation of that name is not an error: it is shown
    unchanged ("created": false in the JSON), so scripts can run this again and again.

    Examples:

        ias-admin org create acme --budget 500M
        ias-admin org create acme --if-not-exists --json | jq -r .id
    """
    e = env(json_out)
    body: dict[str, Any] = {"name": name}
    if budget is not None:
        body["monthly_token_limit"] = parse_amount(budget, "--budget")
    try:
        org, created = e.api.post("/api/org", body), True
    except ApiError as err:
        if not (if_not_exists and err.status == 409):
            raise
        existing = find_org(e, name)
        if existing is None:
            raise
        org, created = existing, False
    e.out.result({**org, "created": created}, lambda: _created(org, created))


def _created(org: dict[str, Any], created: bool) -> None:
    console().print(
        Text("Created:" if created else "Exists already (unchanged):", style="green" if created else "yellow")
    )
    show_org(org)


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option("--status", help="active or disabled.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Part of the name (case-insensitive).")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    all_pages: AllOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Organisations by name: every one for a System Admin, else your own.

    Examples:

        ias-admin org list --status disabled
        ias-admin org list --all --json | jq -r '.data[].name'
    """
    e = env(json_out)
    if status is not None and status not in ("active", "disabled"):
        raise typer.BadParameter("active or disabled", param_hint="--status")
    if all_pages:
        rows = list(e.api.pages("/api/org", status=status, name=name))
        page = {"data": rows, "count": len(rows), "next_cursor": None}
    else:
        page = e.api.get("/api/org", status=status, name=name, limit=limit, cursor=cursor)

    def human() -> None:
        console().print(org_table(page["data"]))
        e.out.page_note(page)

    e.out.result(page, human)


@app.command("show")
def show(org: OrgArg, json_out: JsonOpt = False) -> None:
    """One organisation.

    Example:

        ias-admin org show acme
    """
    e = env(json_out)
    found = find_org(e, org)
    if found is None:
        raise not_found("org", org)
    e.out.result(found, lambda: show_org(found))


@app.command("update")
def update(
    org: OrgArg,
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Rename an organisation (System Admin). Budgets: `ias-admin budget set`.

    Example:

        ias-admin org update acme --name acme-research
    """
    e = env(json_out)
    if name is None:
        raise typer.BadParameter("nothing to change: give --name", param_hint="--name")
    oid = org_id(e, org)
    updated = e.api.patch(f"/api/org/{oid}", {"name": name})
    e.out.result(updated, lambda: show_org(updated))


@app.command("disable")
def disable(org: OrgArg, json_out: JsonOpt = False) -> None:
    """Disable an organisation (System Admin): its API keys are refused at once. Idempotent.

    Example:

        ias-admin org disable acme
    """
    e = env(json_out)
    updated = set_status(e, org, "disabled")
    e.out.result(updated, lambda: show_org(updated))


@app.command("enable")
def enable(org: OrgArg, json_out: JsonOpt = False) -> None:
    """Enable a disabled organisation (System Admin): its keys work again. Idempotent.

    Example:

        ias-admin org enable acme
    """
    e = env(json_out)
    updated = set_status(e, org, "active")
    e.out.result(updated, lambda: show_org(updated))


@app.command("delete")
def delete(
    org: OrgArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for the name to confirm.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete a disabled organisation (System Admin): its members (who belong nowhere else),
    keys, invites and budget go; its audit trail and recorded usage stay. Disable it first.

    Example:

        ias-admin org disable acme && ias-admin org delete acme --yes
    """
    e = env(json_out)
    found = find_org(e, org)
    if found is None:
        raise not_found("org", org)
    if not yes:
        if e.json or not sys.stdin.isatty():
            raise usage_error("deleting an organisation needs --yes when not asked interactively")
        typed = typer.prompt(f"Type the organisation's name ({found['name']}) to delete it", err=True)
        if typed != found["name"]:
            raise usage_error("the name did not match: nothing deleted")
    gone = e.api.delete(f"/api/org/{found['id']}")
    e.out.result(
        gone,
        lambda: e.out.print(
            f"deleted {gone['name']}: {gone['members_removed']} memberships, {gone['users_deleted']} users, "
            f"{gone['keys_deleted']} keys, {gone['invites_deleted']} invites (audit trail kept)"
        ),
    )
