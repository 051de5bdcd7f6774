"""`ias-admin`: the command-line client of the IAS Management (`/api`) and Analytics
(`/analytics`) APIs. HTTP only: no database, no server internals.

Exit codes: 0 ok; 1 the API refused (4xx); 2 bad usage (options, arguments, input file);
3 authentication required, failed or expired (any 401, a wrong password at login included);
4 server unreachable or failing (connection errors, 5xx).
"""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from cli import apply as apply_cmd
from cli import audit, auth, budget_alerts, budgets, keys, limits, models, orgs, usage, users
from cli.common import Env, Group, JsonOpt, env, start
from cli.config import ConfigError, check_profile_name
from cli.output import console

app = Group(
    help="Administer IAS (Inference-as-a-Service) through its REST APIs.\n\n"
    "Log in once (ias-admin login --url URL --email E), then manage organisations, members, "
    "API keys, budgets, budget alerts, rate limits, models, usage and the audit log. IAS_URL and "
    "IAS_TOKEN override the stored profile (CI); --json on any command prints JSON only.\n\n"
    "Exit codes: 0 ok, 1 API error (4xx), 2 usage error, 3 authentication required/failed/expired, "
    "4 server unreachable or 5xx.\n\n"
    "Examples:\n\n"
    "    ias-admin login --url http://127.0.0.1:8000 --email admin@ias.local\n"
    "    ias-admin org create acme --budget 500M --if-not-exists\n"
    "    ias-admin user invite ada@acme.example --org acme --role org_admin\n"
    "    ias-admin apply -f tenants.yaml --dry-run",
)

APPS = {"gateway": "/v1/health", "management": "/api/health", "analytics": "/analytics/health"}


@app.callback()
def main(
    profile: Annotated[
        str,
        typer.Option("--profile", "-p", envvar="IAS_PROFILE", help="Profile of the credentials file to use."),
    ] = "default",
    json_out: JsonOpt = False,
) -> None:
    """Administer IAS through its REST APIs."""
    try:
        start(Env(check_profile_name(profile), json=json_out))
    except ConfigError as e:
        raise typer.BadParameter(str(e), param_hint="--profile") from None


@app.command()
def health(
    url: Annotated[
        str | None, typer.Option("--url", help="Base URL of IAS (default: IAS_URL, then the profile's).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Health of the gateway, management and analytics apps (no login needed).

    Exit codes: 0 all healthy, 4 server unreachable or unhealthy.

    Example:

        IAS_URL=http://127.0.0.1:8000 ias-admin health --json
    """
    e = env(json_out)
    base = (url or e.target.url).rstrip("/")
    results: dict[str, str] = {}
    with httpx.Client(base_url=base, timeout=5) as client:
        for name, path in APPS.items():
            try:
                r = client.get(path)
                results[name] = "ok" if r.status_code == 200 else f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                results[name] = f"unreachable: {type(exc).__name__}"
    e.out.result(results, lambda: [console().print(f"{n:<11} {r}") for n, r in results.items()])
    raise typer.Exit(0 if all(v == "ok" for v in results.values()) else 4)


auth.register(app)
app.add_typer(orgs.app, name="org")
app.add_typer(users.user_app, name="user")
app.add_typer(users.invite_app, name="invite")
app.add_typer(keys.app, name="key")
app.add_typer(budgets.app, name="budget")
budgets.app.add_typer(budget_alerts.app, name="alerts")
app.add_typer(limits.app, name="limits")
app.add_typer(models.app, name="model")
app.add_typer(usage.app, name="usage")
app.add_typer(audit.app, name="audit")
apply_cmd.register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
