"""`ias-admin apply -f tenants.yaml`: read the platform, print the plan, carry it out.

The plan itself is computed by :func:`cli.plan.plan` (pure); this module reads the state it
needs through the API and executes the actions in order. A failure stops the run with the API's
error and exit code; running it again continues from where the platform now is.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from rich.text import Text

from cli.client import EXIT_API, EXIT_USAGE, CliError
from cli.common import Env, Group, JsonOpt, all_members, env
from cli.output import console

if TYPE_CHECKING:  # cli.plan (pydantic models) loads only when `apply` runs
    from cli.plan import Action, Plan, Platform, TenantsFile


def load(path: str) -> TenantsFile:
    from cli.plan import PlanError, parse_file

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise CliError("file", f"cannot read {path}: {e.strerror or e}", EXIT_USAGE) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CliError("file", f"{path}: not valid YAML: {e}", EXIT_USAGE) from None
    try:
        return parse_file(data)
    except PlanError as e:
        raise CliError("file", f"{path}: {e}", EXIT_USAGE) from None


def read_platform(e: Env, spec: TenantsFile) -> Platform:
    """What the plan compares with: the orgs (members and invites of those that list people,
    rate limits and budget alerts of those that give them) and, when the file manages models,
    every model mapping."""
    from cli.plan import Invite, Member, ModelState, OrgState, Platform, cf

    ceilings = [o.name for o in spec.orgs if o.rate_limit_ceiling]
    if ceilings and not e.me().get("is_system_admin"):
        raise CliError(
            "forbidden",
            f"the file sets rate_limit_ceiling (org {', '.join(ceilings)}): "
            "that needs a System Admin session",
            EXIT_API,
        )
    platform = Platform()
    for o in e.api.pages("/api/org"):
        platform.orgs[cf(o["name"])] = OrgState(o["id"], o["name"], o["status"], o.get("monthly_token_limit"))
    for o in spec.orgs:
        current = platform.orgs.get(cf(o.name))
        if current is not None and (o.rate_limits or o.rate_limit_ceiling):
            limits = e.api.get(f"/api/org/{current.id}/rate-limits")
            current.rate_limits = dict(limits["limits"])
            current.rate_limit_ceiling = dict(limits["ceiling"])
        if current is not None and o.budget_alerts:
            alerts = e.api.get(f"/api/org/{current.id}/budget/alerts")
            current.budget_alerts = {
                "thresholds": sorted(alerts.get("thresholds") or []),
                "webhook_url": alerts.get("webhook_url"),
            }
        if current is None or o.people is None:
            continue
        current.members = {
            m["email"]: Member(m["id"], m["email"], m["role"]) for m in all_members(e, current.id)
        }
        current.invites = {
            i["email"]: Invite(i["id"], i["email"], i["role"])
            for i in e.api.get(f"/api/org/{current.id}/invite")["data"]
            if i["status"] == "pending"
        }
    if spec.models or any(o.models is not None for o in spec.orgs):
        rows = e.api.get("/api/model")["data"]
        if any("id" not in m for m in rows):
            raise CliError(
                "forbidden", "the file manages models: that needs a System Admin session", EXIT_API
            )
        platform.models = {
            m["name"]: ModelState(
                m["id"],
                m["name"],
                m.get("serve"),
                m.get("remote_url"),
                m["enabled"],
                Decimal(m["price_per_million_input"]),
                Decimal(m["price_per_million_output"]),
                m.get("allowed_org_ids"),
            )
            for m in rows
        }
    return platform


class Executor:
    """Carries out the actions; remembers the ids of what it creates (new orgs)."""

    def __init__(self, e: Env, platform: Platform) -> None:
        from cli.plan import cf

        self.cf = cf
        self.e = e
        self.ids = {name: o.id for name, o in platform.orgs.items()}

    def org(self, name: str) -> str:
        return self.ids[self.cf(name)]

    def allowed(self, access: dict[str, Any]) -> list[str] | None:
        if access.get("all"):
            return None
        return [*access["ids"], *(self.org(n) for n in access["new_orgs"])]

    def run(self, a: Action) -> dict[str, Any]:
        from cli.plan import RATE_LIMIT_FIELDS

        api, p = self.e.api, a.params
        if a.kind == "create_org":
            org = api.post("/api/org", p["body"])
            self.ids[self.cf(org["name"])] = org["id"]
            return {"id": org["id"]}
        if a.kind == "update_org":
            api.patch(f"/api/org/{self.org(p['org'])}", {"status": p["status"]})
            return {}
        if a.kind == "set_budget":
            api.put(
                f"/api/org/{self.org(p['org'])}/budget", {"monthly_token_limit": p["monthly_token_limit"]}
            )
            return {}
        if a.kind in ("set_rate_limits", "set_rate_limit_ceiling"):
            path = f"/api/org/{self.org(p['org'])}/rate-limits"
            section = "limits" if a.kind == "set_rate_limits" else "ceiling"
            now = api.get(path)[section]  # read, merge, PUT: limits the file leaves out keep theirs
            body = {f: p["changes"].get(f, now.get(f)) for f in RATE_LIMIT_FIELDS}
            api.put(path if section == "limits" else f"{path}/ceiling", body)
            return {}
        if a.kind == "set_budget_alerts":
            path = f"/api/org/{self.org(p['org'])}/budget/alerts"
            now = api.get(path)  # read, merge, PUT: a setting the file leaves out keeps its value
            body = {
                "thresholds": p["changes"].get("thresholds", now.get("thresholds") or []),
                "webhook_url": p["changes"].get("webhook_url", now.get("webhook_url")),
            }
            answer = api.put(path, body)
            # a new signing secret (the first webhook URL) is in this answer only: shown once
            return {"webhook_secret": answer["webhook_secret"]} if answer.get("webhook_secret") else {}
        if a.kind == "create_model":
            body = dict(p["body"])
            if not p["access"].get("unchanged"):
                body["allowed_org_ids"] = self.allowed(p["access"])
            return {"id": api.post("/api/model", body)["id"]}
        if a.kind == "update_model":
            api.patch(f"/api/model/{p['model_id']}", p["body"])
            return {}
        if a.kind == "set_model_access":
            api.patch(f"/api/model/{p['model_id']}", {"allowed_org_ids": self.allowed(p)})
            return {}
        if a.kind == "invite":
            sent = api.post(f"/api/org/{self.org(p['org'])}/user", {"email": p["email"], "role": p["role"]})
            return {
                "invite_id": sent["invite"]["id"],
                "email_delivery": sent["email"],
                "link": sent.get("link"),
            }
        if a.kind == "set_role":
            api.patch(f"/api/org/{self.org(p['org'])}/user/{p['user_id']}", {"role": p["role"]})
            return {}
        if a.kind == "remove_member":
            removed = api.delete(f"/api/org/{self.org(p['org'])}/user/{p['user_id']}")
            return {"keys_revoked": removed["keys_revoked"]}
        if a.kind == "revoke_invite":
            api.delete(f"/api/org/{self.org(p['org'])}/invite/{p['invite_id']}")
            return {}
        raise AssertionError(f"unknown action {a.kind}")  # pragma: no cover


def print_plan(source: str, p: Plan) -> None:
    c = console()
    if p.empty:
        c.print(Text(f"No changes: the platform matches {source}.", style="green"))
    else:
        c.print(Text(f"Plan for {source}: {len(p.actions)} change(s)", style="bold"))
        styles = {"+": "green", "~": "yellow", "-": "red"}
        for a in p.actions:
            c.print(Text(f"  {a.describe()}", style=styles[a.symbol]))
    for w in p.warnings:
        console(stderr=True).print(Text(f"warning: {w}", style="yellow"))


def register(app: Group) -> None:
    @app.command("apply")
    def apply(
        file: Annotated[
            str,
            typer.Option(
                "--file", "-f", help="The declarative file (YAML); - reads stdin.", show_default=False
            ),
        ],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Print the plan only; change nothing.")
        ] = False,
        prune: Annotated[
            bool,
            typer.Option("--prune", help="Also remove members and revoke invites the file does not list."),
        ] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Make the platform match a declarative file of orgs, their people, budgets, rate limits,
        budget alerts and models.

        Prints the plan first, then carries it out (--dry-run: the plan only). Running it again
        changes nothing. Members not in the file are kept unless --prune. Invites made without
        SMTP print their accept links; a webhook signing secret generated for budget alerts is
        printed once (with --json: in the action's "result"). See examples/tenants.yaml for the
        format.

        Examples:

            ias-admin apply -f tenants.yaml --dry-run
            ias-admin apply -f tenants.yaml --json | jq '.applied[] | select(.result.link) | .result.link'
        """
        from cli.plan import PlanError, plan

        e = env(json_out)
        spec = load(file)
        platform = read_platform(e, spec)
        try:
            the_plan = plan(spec, platform, prune=prune)
        except PlanError as err:
            raise CliError("plan", str(err), EXIT_API) from None
        source = "stdin" if file == "-" else file
        if not e.json:
            print_plan(source, the_plan)
        applied: list[dict[str, Any]] = []
        if not dry_run and not the_plan.empty:
            ex = Executor(e, platform)
            if not e.json:
                console().print(Text("Applying:", style="bold"))
            for a in the_plan.actions:
                result = ex.run(a)
                applied.append({**a.as_json(), "result": result})
                if not e.json:
                    console().print(Text(f"  done {a.describe()}"))
                    if result.get("link"):
                        console().print(Text(f"       accept link: {result['link']}", style="bold"))
                    if result.get("webhook_secret"):
                        console().print(
                            Text(
                                f"       webhook signing secret: {result['webhook_secret']}"
                                " (store it now, it is not shown again)",
                                style="bold",
                            )
                        )
            if not e.json:
                console().print(Text(f"Applied {len(applied)} change(s).", style="green"))
        elif dry_run and not e.json and not the_plan.empty:
            console().print(Text("Dry run: nothing was changed.", style="dim"))
        e.out.result(
            {
                "file": source,
                "dry_run": dry_run,
                "changes": len(the_plan.actions),
                "plan": [a.as_json() for a in the_plan.actions],
                "warnings": the_plan.warnings,
                "applied": applied,
            }
        )
