"""`ias-admin model add | list | show | update | remove`: model mappings (System Admins)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from cli.client import EXIT_API, CliError
from cli.common import Env, Group, JsonOpt, as_uuid, env, find_org, not_found
from cli.output import console, table, when

app = Group(help="Model mappings: public model name → Serve engine or remote URL (System Admin).")

ModelArg = Annotated[str, typer.Argument(help="Model name or id.", show_default=False)]
ServeOpt = Annotated[str | None, typer.Option("--serve", help="Ray Serve engine deployment name.")]
RemoteOpt = Annotated[
    str | None, typer.Option("--remote-url", help="Base URL of an OpenAI-compatible server.")
]
PriceIn = Annotated[
    str | None, typer.Option("--price-input", help="Price per million input tokens, e.g. 0.15.")
]
PriceOut = Annotated[
    str | None, typer.Option("--price-output", help="Price per million output tokens, e.g. 0.60.")
]


def org_ids(e: Env, refs: list[str]) -> list[str]:
    ids = []
    for ref in refs:
        if (oid := as_uuid(ref)) is not None:
            ids.append(str(oid))
            continue
        org = find_org(e, ref)
        if org is None:
            raise not_found("org", ref)
        ids.append(str(org["id"]))
    return ids


def find_model(e: Env, ref: str) -> dict[str, Any]:
    if (mid := as_uuid(ref)) is not None:
        return e.api.get(f"/api/model/{mid}")
    for m in e.api.get("/api/model")["data"]:
        if m["name"] == ref.strip():
            if "id" not in m:  # members see names only
                raise CliError("forbidden", "only System Admins see model mappings", EXIT_API)
            return m
    raise not_found("model", ref)


def access(m: dict[str, Any]) -> str:
    allowed = m.get("allowed_org_ids")
    return "every org" if allowed is None else f"{len(allowed)} org(s)"


def show_model(m: dict[str, Any]) -> None:
    c = console()
    c.print(
        Text.assemble(Text(m["name"], style="bold"), "  ", Text("enabled" if m["enabled"] else "disabled"))
    )
    target = m.get("serve") if m["backend_kind"] == "serve" else m.get("remote_url")
    c.print(Text(f"backend  {m['backend_kind']}: {target}"))
    allowed = m.get("allowed_org_ids")
    c.print(Text("orgs     " + ("every organisation" if allowed is None else (", ".join(allowed) or "none"))))
    c.print(
        Text(
            f"prices   {m['price_per_million_input']} input / {m['price_per_million_output']} output "
            "per million tokens"
        )
    )
    c.print(Text(f"id {m['id']}; updated {when(m['updated_at'])}", style="dim"))


@app.command("add")
def add(
    name: Annotated[
        str, typer.Argument(help="Public model name clients send as `model`.", show_default=False)
    ],
    serve: ServeOpt = None,
    remote_url: RemoteOpt = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    orgs: Annotated[
        list[str] | None,
        typer.Option("--org", "-o", help="Only this organisation may use it (repeat; default: every org)."),
    ] = None,
    price_input: PriceIn = None,
    price_output: PriceOut = None,
    json_out: JsonOpt = False,
) -> None:
    """Map a public model name to a Serve engine (--serve) or a remote server (--remote-url).

    Examples:

        ias-admin model add llama3 --remote-url http://llama:8000/v1 --price-input 0.15 --price-output 0.60
        ias-admin model add echo-2 --serve echo-model --org acme --org labs
    """
    e = env(json_out)
    if (serve is None) == (remote_url is None):
        raise typer.BadParameter("give exactly one of --serve and --remote-url", param_hint="--serve")
    body: dict[str, Any] = {"name": name, "enabled": not disabled}
    body["serve" if serve is not None else "remote_url"] = serve if serve is not None else remote_url
    if orgs:
        body["allowed_org_ids"] = org_ids(e, orgs)
    if price_input is not None:
        body["price_per_million_input"] = price_input
    if price_output is not None:
        body["price_per_million_output"] = price_output
    model = e.api.post("/api/model", body)
    e.out.result(model, lambda: show_model(model))


@app.command("list")
def list_models(
    org: Annotated[
        str | None, typer.Option("--org", "-o", help="Only the models this organisation may use.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Model mappings in full (System Admin), or the names of the models you may use.

    Example:

        ias-admin model list
    """
    e = env(json_out)
    oid = org_ids(e, [org])[0] if org else None
    page = e.api.get("/api/model", org_id=oid)

    def human() -> None:
        rows = page["data"]
        if rows and "id" not in rows[0]:
            console().print(table(["model"], [(m["name"],) for m in rows]))
            return
        console().print(
            table(
                ["name", "backend", "target", "enabled", "orgs", "in/1M", "out/1M", "id"],
                [
                    (
                        m["name"],
                        m["backend_kind"],
                        m.get("serve") or m.get("remote_url"),
                        m["enabled"],
                        access(m),
                        m["price_per_million_input"],
                        m["price_per_million_output"],
                        m["id"],
                    )
                    for m in rows
                ],
            )
        )

    e.out.result(page, human)


@app.command("show")
def show(model: ModelArg, json_out: JsonOpt = False) -> None:
    """One model mapping (System Admin).

    Example:

        ias-admin model show llama3 --json
    """
    e = env(json_out)
    m = find_model(e, model)
    e.out.result(m, lambda: show_model(m))


@app.command("update")
def update(
    model: ModelArg,
    name: Annotated[str | None, typer.Option("--name", help="New public name.")] = None,
    serve: ServeOpt = None,
    remote_url: RemoteOpt = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Enable or disable it.", show_default=False)
    ] = None,
    allow: Annotated[
        list[str] | None, typer.Option("--allow-org", help="Let this organisation use it (repeat).")
    ] = None,
    deny: Annotated[
        list[str] | None, typer.Option("--deny-org", help="Stop this organisation using it (repeat).")
    ] = None,
    all_orgs: Annotated[bool, typer.Option("--all-orgs", help="Open it to every organisation.")] = False,
    price_input: PriceIn = None,
    price_output: PriceOut = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a model mapping (System Admin): only what is given changes. Applies within seconds.

    --deny-org on a model open to every organisation restricts it to the others.

    Examples:

        ias-admin model update llama3 --disable
        ias-admin model update llama3 --allow-org acme --price-output 0.5
    """
    e = env(json_out)
    if serve is not None and remote_url is not None:
        raise typer.BadParameter("give --serve or --remote-url, not both", param_hint="--serve")
    if all_orgs and (allow or deny):
        raise typer.BadParameter("--all-orgs with --allow-org/--deny-org", param_hint="--all-orgs")
    current = find_model(e, model)
    body: dict[str, Any] = {}
    for key, value in (
        ("name", name),
        ("serve", serve),
        ("remote_url", remote_url),
        ("enabled", enabled),
        ("price_per_million_input", price_input),
        ("price_per_million_output", price_output),
    ):
        if value is not None:
            body[key] = value
    if all_orgs:
        body["allowed_org_ids"] = None
    elif allow or deny:
        allowed = current.get("allowed_org_ids")
        deny_ids = set(org_ids(e, deny or []))
        allow_ids = org_ids(e, allow or [])
        if allowed is None and deny_ids:  # open to every org: restrict it to the others
            allowed = [str(o["id"]) for o in e.api.pages("/api/org")]
        if allowed is not None:
            new = [o for o in allowed if o not in deny_ids]
            new += [o for o in allow_ids if o not in new and o not in deny_ids]
            body["allowed_org_ids"] = new
    if not body:
        raise typer.BadParameter("nothing to change", param_hint="options")
    updated = e.api.patch(f"/api/model/{current['id']}", body)
    e.out.result(updated, lambda: show_model(updated))


@app.command("remove")
def remove(model: ModelArg, json_out: JsonOpt = False) -> None:
    """Remove a model mapping (System Admin): calls naming it get 404 model_not_found.

    Example:

        ias-admin model remove llama3
    """
    e = env(json_out)
    m = find_model(e, model)
    e.api.delete(f"/api/model/{m['id']}")
    e.out.result(
        {"id": m["id"], "name": m["name"], "removed": True},
        lambda: console().print(Text(f"Removed model {m['name']}.")),
    )
