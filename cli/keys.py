"""`ias-admin key create | list | revoke`: API keys for the inference API."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from cli.client import EXIT_USAGE, ApiError, CliError
from cli.common import Env, Group, JsonOpt, OrgOpt, as_uuid, env, not_found, org_id
from cli.orgs import AllOpt, CursorOpt, LimitOpt
from cli.output import console, table, when

app = Group(help="API keys: create (the key is shown once), list, revoke.")


def key_table(rows: list[dict[str, Any]]) -> Any:
    return table(
        ["name", "prefix", "owner", "status", "created", "last used", "expires", "id"],
        [
            (
                k["name"],
                k["prefix"],
                k["owner"]["email"],
                k["status"],
                when(k["created_at"]),
                when(k.get("last_used_at")),
                when(k.get("expires_at")),
                k["id"],
            )
            for k in rows
        ],
    )


def my_active_keys_named(e: Env, oid: str, name: str) -> list[dict[str, Any]]:
    want = name.strip().casefold()
    return [
        k
        for k in e.api.pages(f"/api/org/{oid}/key", owner="me", status="active")
        if k["name"].casefold() == want
    ]


@app.command("create")
def create(
    name: Annotated[
        str, typer.Option("--name", "-n", help="Name of the key, unique among your active keys in the org.")
    ],
    org: OrgOpt = None,
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", min=1, help="Expire this many days from now.")
    ] = None,
    expires_at: Annotated[
        str | None,
        typer.Option("--expires-at", help="Expire at this instant (ISO 8601, e.g. 2026-12-31T00:00:00Z)."),
    ] = None,
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate", help="If an active key of yours has this name: revoke it and create a new one."
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create an API key for yourself (Org Admins and Org Users; System Admins hold no keys).

    The full key is printed once: alone on stdout (notes go to stderr), or with --json only in
    the JSON ("key"). A name already used by an active key of yours is refused (exit 1) unless
    --rotate, which revokes that key first.

    Examples:

        ias-admin key create --name notebook --org acme
        OPENAI_API_KEY=$(ias-admin key create --name ci --rotate --expires-in-days 30)
        ias-admin key create --name ci --rotate --json | jq -r .key
    """
    e = env(json_out)
    if expires_in_days is not None and expires_at is not None:
        raise typer.BadParameter(
            "give --expires-in-days or --expires-at, not both", param_hint="--expires-at"
        )
    oid = org_id(e, org)
    body: dict[str, Any] = {"name": name}
    if expires_in_days is not None:
        body["expires_in_days"] = expires_in_days
    if expires_at is not None:
        body["expires_at"] = expires_at
    rotated: list[str] = []
    try:
        key = e.api.post(f"/api/org/{oid}/key", body)
    except ApiError as err:
        if err.code != "key_name_taken":
            raise
        if not rotate:
            err.message += " (add --rotate to revoke it and create a new one)"
            raise
        for old in my_active_keys_named(e, oid, name):
            e.api.delete(f"/api/org/{oid}/key/{old['id']}")
            rotated.append(old["id"])
        key = e.api.post(f"/api/org/{oid}/key", body)
    result = {**key, "rotated": rotated}
    if e.json:
        e.out.result(result)
        return
    notes = console(stderr=True)
    if rotated:
        notes.print(Text(f"Revoked the previous key '{name}' ({', '.join(rotated)}).", style="yellow"))
    notes.print(
        Text(
            f"Created key '{key['name']}' ({key['prefix']}…, id {key['id']})"
            + (f", expires {when(key['expires_at'])}" if key.get("expires_at") else "")
            + ". Store it now: it is not shown again.",
            style="dim",
        )
    )
    sys.stdout.write(key["key"] + "\n")
    sys.stdout.flush()


@app.command("list")
def list_keys(
    org: OrgOpt = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only your own keys.")] = False,
    status: Annotated[str | None, typer.Option("--status", help="active, revoked or expired.")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    all_pages: AllOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """API keys of an organisation, newest first (Org Users: only their own). Never the key.

    Examples:

        ias-admin key list --org acme --status active
        ias-admin key list --mine --all --json
    """
    e = env(json_out)
    if status is not None and status not in ("active", "revoked", "expired"):
        raise typer.BadParameter("active, revoked or expired", param_hint="--status")
    oid = org_id(e, org)
    params = {"owner": "me" if mine else None, "status": status}
    if all_pages:
        rows = list(e.api.pages(f"/api/org/{oid}/key", **params))
        page = {"data": rows, "count": len(rows), "next_cursor": None}
    else:
        page = e.api.get(f"/api/org/{oid}/key", limit=limit, cursor=cursor, **params)

    def human() -> None:
        console().print(key_table(page["data"]))
        e.out.page_note(page)

    e.out.result(page, human)


def find_key(e: Env, oid: str, ref: str) -> str:
    """A key id from an id, a name or a prefix (among the active keys the caller sees)."""
    if (kid := as_uuid(ref)) is not None:
        return str(kid)
    want = ref.strip().casefold()
    matches = [
        k
        for k in e.api.pages(f"/api/org/{oid}/key", status="active")
        if k["name"].casefold() == want or k["prefix"].casefold() == want
    ]
    if not matches:
        raise not_found("key", ref)
    if len(matches) > 1:
        owners = ", ".join(f"{k['id']} ({k['owner']['email']})" for k in matches)
        raise CliError(
            "ambiguous", f"{len(matches)} active keys match {ref!r}: give the id: {owners}", EXIT_USAGE
        )
    return str(matches[0]["id"])


@app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="Key id, name or prefix (ias-…).", show_default=False)],
    org: OrgOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Revoke an API key: refused by the gateway within a second. Your own keys; Org Admins
    and System Admins any key of the organisation.

    Example:

        ias-admin key revoke ci --org acme
    """
    e = env(json_out)
    oid = org_id(e, org)
    revoked = e.api.delete(f"/api/org/{oid}/key/{find_key(e, oid, key)}")
    e.out.result(
        revoked,
        lambda: console().print(
            Text(f"Revoked key '{revoked['name']}' ({revoked['prefix']}…, {revoked['id']}).")
        ),
    )
