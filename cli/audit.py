"""`ias-admin audit list`: the audit log, filtered and paged, or followed (``--follow``)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.text import Text

from cli.common import Env, Group, JsonOpt, as_uuid, env, find_member, looks_like_email, org_id, usage_error
from cli.orgs import AllOpt, CursorOpt, LimitOpt
from cli.output import console, table, when

app = Group(help="The audit log: every write, who did it, when (Org Admin: own org; System Admin: all).")

RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def instant(value: str | None, param: str, now: datetime | None = None) -> str | None:
    """An ISO 8601 instant or date, or a duration ago (``15m``, ``2h``, ``7d``), as ISO UTC."""
    if value is None:
        return None
    text = value.strip()
    if m := RELATIVE.fullmatch(text):
        ago = timedelta(**{UNITS[m.group(2)]: int(m.group(1))})
        return ((now or datetime.now(UTC)) - ago).isoformat()
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            "an ISO 8601 time (2026-03-01T09:00:00Z), a date or 15m/2h/7d", param_hint=param
        ) from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.isoformat()


def actor(row: dict[str, Any]) -> str:
    return row.get("user_email") or (row["user_id"] or "system")


def payload_text(row: dict[str, Any], width: int = 90) -> str:
    text = json.dumps(row.get("payload") or {}, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def audit_table(rows: list[dict[str, Any]]) -> Any:
    return table(
        ["id", "time", "action", "by", "org", "payload"],
        [
            (r["id"], when(r["ts"]), r["action_type"], actor(r), r.get("org_id"), payload_text(r))
            for r in rows
        ],
        no_wrap=["time", "action"],
    )


def line(row: dict[str, Any]) -> Text:
    t = Text(f"{when(row['ts'])}  ", style="dim")
    t.append(f"{row['action_type']:<18} ", style="bold")
    t.append(f"{actor(row)}  ")
    if row.get("org_id"):
        t.append(f"org={row['org_id']}  ", style="dim")
    t.append(payload_text(row, 200))
    return t


def source(e: Env, org: str | None) -> str:
    """``/api/org/{id}/audit_log`` for an org; ``/api/audit_log`` for a System Admin without one."""
    if org is None and e.me()["is_system_admin"]:
        return "/api/audit_log"
    return f"/api/org/{org_id(e, org)}/audit_log"


def user_filter(e: Env, path: str, user: str | None) -> str | None:
    if user is None:
        return None
    if user == "me":
        return e.me()["user"]["id"]
    if (uid := as_uuid(user)) is not None:
        return str(uid)
    if looks_like_email(user) and path.startswith("/api/org/"):
        return find_member(e, path.split("/")[3], user)["id"]
    raise usage_error("--user: a user id, `me`, or (with --org) a member's e-mail address")


@app.command("list")
def list_(
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            "-o",
            envvar="IAS_ORG",
            help="Organisation id or name (System Admin: omit for every org).",
        ),
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", "-t", help="Only this action type, e.g. key_created.")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", "-u", help="Only actions by this user: id, `me`, or e-mail (with --org)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this time: ISO 8601, a date, or 15m / 2h / 7d ago.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this time (same forms).")] = None,
    limit: LimitOpt = 50,
    cursor: CursorOpt = None,
    all_pages: AllOpt = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new entries as they come (Ctrl-C stops).")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="With --follow: seconds between polls.")
    ] = 2.0,
    follow_for: Annotated[
        float | None, typer.Option("--for", min=0.0, help="With --follow: stop after this many seconds.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The audit log, newest first, filtered and paged; --follow tails it (oldest first).

    With --follow and --json, each entry is one JSON object on its own line (JSON Lines).

    Examples:

        ias-admin audit list --org acme --action key_created --since 7d
        ias-admin audit list --all --json > audit.json
        ias-admin audit list --follow
    """
    e = env(json_out)
    path = source(e, org)
    params: dict[str, Any] = {
        "action_type": action,
        "user_id": user_filter(e, path, user),
        "since": instant(since, "--since"),
        "until": instant(until, "--until"),
    }
    if follow:
        tail(e, path, params, limit, interval, follow_for)
        return
    if all_pages:
        rows = list(e.api.pages(path, **params))
        page = {"data": rows, "count": len(rows), "next_cursor": None}
    else:
        page = e.api.get(path, limit=limit, cursor=cursor, **params)

    def human() -> None:
        console().print(audit_table(page["data"]))
        e.out.page_note(page)

    e.out.result(page, human)


def tail(
    e: Env, path: str, params: dict[str, Any], limit: int, interval: float, stop_after: float | None
) -> None:
    """Print the last ``limit`` entries, then every new one (by increasing id) until stopped."""
    deadline = None if stop_after is None else time.monotonic() + stop_after

    def emit(rows: list[dict[str, Any]]) -> None:
        for row in sorted(rows, key=lambda r: r["id"]):
            if e.json:
                e.out.json_line(row)
            else:
                console().print(line(row))

    first = e.api.get(path, limit=limit, **params)["data"]
    emit(first)
    last_id = max((r["id"] for r in first), default=0)
    if not e.json:
        e.out.info("following the audit log (Ctrl-C stops)")
    try:
        while deadline is None or time.monotonic() < deadline:
            wait = interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic()))
            time.sleep(wait)
            new: list[dict[str, Any]] = []
            cursor = None
            while True:  # newest first: page until the entries already shown
                page = e.api.get(path, limit=100, cursor=cursor, **params)
                fresh = [r for r in page["data"] if r["id"] > last_id]
                new.extend(fresh)
                cursor = page.get("next_cursor")
                if len(fresh) < len(page["data"]) or not cursor:
                    break
            if new:
                emit(new)
                last_id = max(last_id, *(r["id"] for r in new))
    except KeyboardInterrupt:
        pass
