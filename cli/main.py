"""`ias-admin`: an HTTP client of the public APIs; never touches a database.

Only `ias-admin health` exists until the CLI issue lands (login, orgs, users, keys, …).
"""

from __future__ import annotations

import json

import httpx
import typer

app = typer.Typer(
    help="Administer IAS through its public REST API.", no_args_is_help=True, add_completion=False
)

APPS = {"gateway": "/v1/health", "management": "/api/health", "analytics": "/analytics/health"}


@app.callback()
def main() -> None:
    """Administer IAS through its public REST API (`IAS_URL` selects the server)."""


@app.command()
def health(
    url: str = typer.Option("http://127.0.0.1:8000", envvar="IAS_URL", help="Base URL of IAS."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output only."),
) -> None:
    """Health of the gateway, management and analytics apps.

    Exit codes: 0 all healthy, 4 server unreachable or unhealthy.

    Example: IAS_URL=http://127.0.0.1:8000 ias-admin health --json
    """
    results: dict[str, str] = {}
    with httpx.Client(base_url=url.rstrip("/"), timeout=5) as client:
        for name, path in APPS.items():
            try:
                r = client.get(path)
                results[name] = "ok" if r.status_code == 200 else f"HTTP {r.status_code}"
            except httpx.HTTPError as e:
                results[name] = f"unreachable: {type(e).__name__}"
    if json_out:
        typer.echo(json.dumps(results))
    else:
        for name, res in results.items():
            typer.echo(f"{name:<11} {res}")
    raise typer.Exit(0 if all(v == "ok" for v in results.values()) else 4)
