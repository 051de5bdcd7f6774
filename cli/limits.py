"""`ias-admin limits show | set | ceiling`: rate limits of an organisation or of one API key.

Three limits, each a whole number or unlimited (``null`` in the API): requests per minute
(``--rpm``), tokens per minute (``--tpm``, human amounts as for budgets: ``100k``, ``2M``) and
concurrent requests (``--concurrency``). An org's limits stay within its ceiling (set by System
Admins); a key's limits apply on top of its org's. ``effective`` is what the gateway enforces.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from cli.common import Env, Group, JsonOpt, env, org_id, usage_error
from cli.keys import find_key
from cli.output import console, table, tokens, when
from cli.tokens import parse_amount

app = Group(
    help="Rate limits of an organisation or API key: requests/tokens per minute, concurrent requests."
)

# (API field, option, label for people)
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("requests_per_minute", "--rpm", "requests / minute"),
    ("tokens_per_minute", "--tpm", "tokens / minute"),
    ("max_concurrent_requests", "--concurrency", "concurrent requests"),
)

OrgArg = Annotated[str, typer.Argument(help="Organisation id or name.", show_default=False)]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        "-k",
        help="An API key of the org (id, name or prefix) instead of the org.",
        show_default=False,
    ),
]
RpmOpt = Annotated[
    str | None,
    typer.Option("--rpm", help="Requests per minute: a whole number, or unlimited.", show_default=False),
]
TpmOpt = Annotated[
    str | None,
    typer.Option("--tpm", help="Tokens per minute: 100000, 100k, 2M, or unlimited.", show_default=False),
]
ConcurrencyOpt = Annotated[
    str | None,
    typer.Option(
        "--concurrency", help="Requests running at once: a whole number, or unlimited.", show_default=False
    ),
]


def parse_limit(value: str, option: str) -> int | None:
    """An option's value: a positive whole number (token amounts like ``100k`` accepted, the
    budget's parser), ``None`` for unlimited; a usage error (exit 2) otherwise, before any request."""
    amount = parse_amount(value, option)
    if amount is not None and amount < 1:
        raise typer.BadParameter("must be at least 1 (or unlimited)", param_hint=option)
    return amount


def given(rpm: str | None, tpm: str | None, concurrency: str | None) -> dict[str, int | None]:
    """The options given, by API field (parsed); a usage error when none is."""
    out: dict[str, int | None] = {}
    for (f, opt, _), v in zip(FIELDS, (rpm, tpm, concurrency), strict=True):
        if v is not None:
            out[f] = parse_limit(v, opt)
    if not out:
        raise usage_error("give at least one of --rpm, --tpm, --concurrency")
    return out


def value(field: str, v: int | None) -> str:
    if v is None:
        return "unlimited"
    return tokens(v) if field == "tokens_per_minute" and v >= 100_000 else f"{v:,}"


def show_limits(data: dict[str, Any]) -> None:
    c = console()
    columns = ["ceiling"] if "ceiling" in data else []
    title = (
        f"Rate limits of key {data['key_id']}" if "key_id" in data else f"Rate limits of org {data['org_id']}"
    )
    rows = [
        [label, value(f, data["limits"].get(f))]
        + [value(f, data["ceiling"].get(f)) for _ in columns]
        + [value(f, data["effective"].get(f))]
        for f, _, label in FIELDS
    ]
    c.print(Text(title, style="bold"))
    t = table(["", "limit", *columns, "effective"], rows)
    for col in t.columns[1:]:
        col.justify = "right"
    c.print(t)
    if data.get("updated_at"):
        c.print(Text(f"set {when(data['updated_at'])}", style="dim"))


def path_of(e: Env, org: str, key: str | None) -> str:
    oid = org_id(e, org)
    if key is None:
        return f"/api/org/{oid}/rate-limits"
    return f"/api/org/{oid}/key/{find_key(e, oid, key)}/rate-limits"


def merged(current: dict[str, Any], changes: dict[str, int | None]) -> dict[str, int | None]:
    """The full PUT body: the current values with the given ones replaced."""
    return {f: changes[f] if f in changes else current.get(f) for f, _, _ in FIELDS}


def put_merged(e: Env, path: str, section: str, changes: dict[str, int | None]) -> None:
    """Read, merge, PUT (only when something differs); print the answer."""
    data = e.api.get(path.removesuffix("/ceiling"))
    current = {f: data[section].get(f) for f, _, _ in FIELDS}
    body = merged(current, changes)
    changed = body != current
    if changed:
        data = e.api.put(path, body)
    elif not e.json:
        e.out.info(
            f"unchanged: the {'ceiling' if section == 'ceiling' else 'limits'} have these values already"
        )
    e.out.result({**data, "changed": changed}, lambda: show_limits(data))


@app.command("show")
def show(org: OrgArg, key: KeyOpt = None, json_out: JsonOpt = False) -> None:
    """The rate limits of an organisation (its limits, the ceiling System Admins set, and what
    is enforced) or of one of its API keys (members, System Admins).

    Examples:

        ias-admin limits show acme
        ias-admin limits show acme --key ci --json
    """
    e = env(json_out)
    data = e.api.get(path_of(e, org, key))
    e.out.result(data, lambda: show_limits(data))


@app.command("set")
def set_(
    org: OrgArg,
    key: KeyOpt = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    concurrency: ConcurrencyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Set the rate limits of an organisation (within its ceiling) or of one of its API keys
    (Org Admin, System Admin). Limits not given keep their value; setting the values they have
    changes nothing ("changed": false in the JSON). Above the ceiling: refused (exit 1).

    Examples:

        ias-admin limits set acme --rpm 600 --tpm 100k
        ias-admin limits set acme --key ci --concurrency 4
        ias-admin limits set acme --tpm unlimited
    """
    e = env(json_out)
    changes = given(rpm, tpm, concurrency)
    put_merged(e, path_of(e, org, key), "limits", changes)


@app.command("ceiling")
def ceiling(
    org: OrgArg,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    concurrency: ConcurrencyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Set the ceiling of an organisation's rate limits: the most its Org Admins may set
    (System Admin). Values not given keep theirs.

    Example:

        ias-admin limits ceiling acme --rpm 6000 --tpm 2M --concurrency 64
    """
    e = env(json_out)
    changes = given(rpm, tpm, concurrency)
    put_merged(e, path_of(e, org, None) + "/ceiling", "ceiling", changes)
