"""`ias-admin user invite|add|list|remove|set-role` and `ias-admin invite list|revoke|resend|accept`."""

from __future__ import annotations

import inspect
import os
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.text import Text

from cli.auth import PasswordStdin, UrlOpt, save_session
from cli.client import Client
from cli.common import (
    Env,
    Group,
    JsonOpt,
    OrgOpt,
    all_members,
    as_uuid,
    env,
    find_member,
    norm_email,
    not_found,
    org_id,
    password_from_stdin,
    usage_error,
)
from cli.config import DEFAULT_URL, ConfigError, normalize_url
from cli.output import console, table, when

user_app = Group(help="Members of an organisation: invite (alias add), list, remove, set-role.")
invite_app = Group(
    help="Invites: list, revoke, resend pending ones; show or accept one you received; the outbox."
)

ROLES = ("org_user", "org_admin")
RoleOpt = Annotated[str, typer.Option("--role", "-r", help="org_user or org_admin.")]
UserArg = Annotated[str, typer.Argument(help="The member's e-mail address or user id.", show_default=False)]
InviteArg = Annotated[
    str,
    typer.Argument(help="Invite id, or the invited e-mail address (its pending invite).", show_default=False),
]
INVITE_LINK = re.compile(r"/invite/([A-Za-z0-9_\-]+)/?(?:[?#].*)?$")
TOKEN = re.compile(r"^[A-Za-z0-9_\-]{8,}$")


def check_role(role: str, hint: str = "--role") -> str:
    r = role.strip().lower().replace("-", "_")
    aliases = {"admin": "org_admin", "user": "org_user"}
    r = aliases.get(r, r)
    if r not in ROLES:
        raise typer.BadParameter("org_user or org_admin", param_hint=hint)
    return r


def show_sent(sent: dict[str, Any], url: str) -> None:
    c = console()
    inv = sent["invite"]
    c.print(
        Text(
            f"Invited {inv['email']} as {inv['role']} (invite {inv['id']}; e-mail: {sent['email']}"
            + (f"; replaced {sent['replaced']} pending invite" if sent.get("replaced") else "")
            + ")."
        )
    )
    if sent.get("link"):
        c.print(Text(f"Accept link (works once, until {when(inv['expires_at'])}): pass it on:"))
        c.print(Text(f"  {sent['link']}", style="bold"))
        c.print(Text(f"  or: ias-admin invite accept '{sent['link']}' --url {url}", style="dim"))


def invite_cmd(
    email: Annotated[str, typer.Argument(help="E-mail address to invite.", show_default=False)],
    org: OrgOpt = None,
    role: RoleOpt = "org_user",
    json_out: JsonOpt = False,
) -> None:
    """Invite someone into an organisation by e-mail (Org Admin of it, System Admin).

    Without SMTP configured, the answer carries the accept link: pass it on (or accept it with
    `ias-admin invite accept`). Inviting an address with a pending invite replaces it.

    Examples:

        ias-admin user invite ada@acme.example --org acme --role org_admin
        ias-admin user add grace@acme.example --json | jq -r .link
    """
    e = env(json_out)
    oid = org_id(e, org)
    sent = e.api.post(f"/api/org/{oid}/user", {"email": email.strip(), "role": check_role(role)})
    e.out.result(sent, lambda: show_sent(sent, e.target.url))


user_app.command("invite")(invite_cmd)
user_app.command("add", help="Alias of `user invite`. " + inspect.cleandoc(invite_cmd.__doc__ or ""))(
    invite_cmd
)


@user_app.command("list")
def list_users(org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """The members of an organisation with their roles (Org Admin, System Admin).

    Example:

        ias-admin user list --org acme
    """
    e = env(json_out)
    oid = org_id(e, org)
    rows = all_members(e, oid)

    def human() -> None:
        console().print(
            table(
                ["email", "name", "role", "status", "joined", "id"],
                [
                    (m["email"], m["name"], m["role"], m["status"], when(m["joined_at"]), m["id"])
                    for m in rows
                ],
            )
        )

    e.out.result({"data": rows, "count": len(rows)}, human)


@user_app.command("remove")
def remove_user(user: UserArg, org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """Remove a member from an organisation: their keys in it are revoked (Org Admin, System Admin).

    The last Org Admin cannot be removed (409 last_org_admin).

    Example:

        ias-admin user remove grace@acme.example --org acme
    """
    e = env(json_out)
    oid = org_id(e, org)
    member = find_member(e, oid, user)
    removed = e.api.delete(f"/api/org/{oid}/user/{member['id']}")
    e.out.result(
        removed,
        lambda: console().print(
            Text(
                f"Removed {member['email']}: {removed['keys_revoked']} key(s) revoked, "
                f"{removed['sessions_revoked']} session(s) ended."
            )
        ),
    )


@user_app.command("set-role")
def set_role(
    user: UserArg,
    role: Annotated[str, typer.Argument(help="org_user or org_admin.", show_default=False)],
    org: OrgOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a member's role (Org Admin, System Admin). Idempotent.

    Example:

        ias-admin user set-role grace@acme.example org_admin --org acme
    """
    e = env(json_out)
    oid = org_id(e, org)
    new_role = check_role(role, "ROLE")
    member = find_member(e, oid, user)
    updated = e.api.patch(f"/api/org/{oid}/user/{member['id']}", {"role": new_role})
    e.out.result(updated, lambda: console().print(Text(f"{updated['email']} is now {updated['role']}.")))


# --- invites ------------------------------------------------------------------------------------


def find_invite(e: Env, oid: str, ref: str) -> dict[str, Any]:
    invites = e.api.get(f"/api/org/{oid}/invite")["data"]
    iid = as_uuid(ref)
    for inv in invites:
        if (iid is not None and inv["id"] == str(iid)) or inv["email"] == norm_email(ref):
            return inv
    if iid is not None:  # not pending (any more): let the server say why
        return {"id": str(iid), "email": ref}
    raise not_found("invite", ref)


@invite_app.command("list")
def list_invites(org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """Pending invites of an organisation (Org Admin, System Admin).

    Example:

        ias-admin invite list --org acme
    """
    e = env(json_out)
    oid = org_id(e, org)
    page = e.api.get(f"/api/org/{oid}/invite")

    def human() -> None:
        console().print(
            table(
                ["email", "role", "status", "sent", "expires", "id"],
                [
                    (
                        i["email"],
                        i["role"],
                        i["status"],
                        when(i["created_at"]),
                        when(i["expires_at"]),
                        i["id"],
                    )
                    for i in page["data"]
                ],
            )
        )

    e.out.result(page, human)


@invite_app.command("revoke")
def revoke_invite(invite: InviteArg, org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """Revoke a pending invite: its link stops working.

    Example:

        ias-admin invite revoke grace@acme.example --org acme
    """
    e = env(json_out)
    oid = org_id(e, org)
    inv = find_invite(e, oid, invite)
    e.api.delete(f"/api/org/{oid}/invite/{inv['id']}")
    e.out.result(
        {"id": inv["id"], "email": inv["email"], "status": "revoked"},
        lambda: console().print(Text(f"Revoked the invite of {inv['email']}.")),
    )


@invite_app.command("resend")
def resend_invite(invite: InviteArg, org: OrgOpt = None, json_out: JsonOpt = False) -> None:
    """Send an invite again: a new link (the old one dies) and a new expiry.

    Example:

        ias-admin invite resend grace@acme.example --org acme --json | jq -r .link
    """
    e = env(json_out)
    oid = org_id(e, org)
    inv = find_invite(e, oid, invite)
    sent = e.api.post(f"/api/org/{oid}/invite/{inv['id']}/resend")
    e.out.result(sent, lambda: show_sent(sent, e.target.url))


def invite_token(token_or_link: str) -> str:
    """The token of an accept link (``…/invite/iasi_…``) or the token itself."""
    text = token_or_link.strip()
    if m := INVITE_LINK.search(urlsplit(text).path if "://" in text else text):
        return m.group(1)
    if TOKEN.fullmatch(text):
        return text
    raise typer.BadParameter("not an invite link or token", param_hint="TOKEN_OR_LINK")


def accept_url(url: str | None, e: Env, token_or_link: str) -> str:
    """--url, IAS_URL, the profile's URL, the link's own origin, the default (in this order)."""
    candidate = url or os.environ.get("IAS_URL") or e.profile.url
    if not candidate and "://" in token_or_link:
        parts = urlsplit(token_or_link.strip())
        candidate = f"{parts.scheme}://{parts.netloc}"
    try:
        return normalize_url(candidate or DEFAULT_URL)
    except ConfigError as err:
        raise typer.BadParameter(str(err), param_hint="--url") from None


@invite_app.command("show")
def show_invite(
    token_or_link: Annotated[
        str, typer.Argument(help="The accept link of the invite, or its token (iasi_…).", show_default=False)
    ],
    url: UrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """What an invite offers (organisation, role, who invited, expiry); no login needed.

    Example:

        ias-admin invite show 'http://127.0.0.1:8000/invite/iasi_…'
    """
    e = env(json_out)
    token = invite_token(token_or_link)
    with Client(accept_url(url, e, token_or_link)) as c:
        info = c.request("GET", f"/api/invite/{token}", auth=False)

    def human() -> None:
        console().print(
            Text(
                f"Invite to {info['org_name']} as {info['role']} for {info['email']}"
                + (
                    f", from {info['invited_by_name']} <{info['invited_by_email']}>"
                    if info.get("invited_by_name")
                    else ""
                )
                + f"; expires {when(info['expires_at'])}"
                + (
                    "; the address has an account already (accept with its password)."
                    if info["existing_account"]
                    else "."
                )
            )
        )

    e.out.result(info, human)


@invite_app.command("outbox")
def outbox(
    to: Annotated[str | None, typer.Option("--to", help="Only mails to this address.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 20,
    json_out: JsonOpt = False,
) -> None:
    """The e-mails the server kept instead of sending them (no SMTP configured), newest first
    (System Admin): invite links to pass on.

    Example:

        ias-admin invite outbox --to grace@acme.example
    """
    e = env(json_out)
    box = e.api.get("/api/outbox", to=to, limit=limit)

    def human() -> None:
        if box["mailer"] == "smtp":
            e.out.info("this server sends mail by SMTP: the outbox holds only what could not be sent")
        for m in box["data"]:
            console().print(Text(f"{when(m['date'])}  to {m['to']}  {m['subject']}", style="bold"))
            console().print(Text(m["body"].rstrip()))
            console().print(Text(""))
        e.out.info(f"{box['count']} mail(s)")

    e.out.result(box, human)


@invite_app.command("accept")
def accept(
    token_or_link: Annotated[
        str, typer.Argument(help="The accept link of the invite, or its token (iasi_…).", show_default=False)
    ],
    url: UrlOpt = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Your name (new accounts; prompted when missing).")
    ] = None,
    password_stdin: PasswordStdin = False,
    no_login: Annotated[
        bool, typer.Option("--no-login", help="Do not store the session the acceptance opens.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Accept an invite: a new account sets its name and password; an existing account gives
    its current password and gains the membership.

    Accepting logs you in: the session is stored in the profile (--profile; --no-login not to).

    Examples:

        ias-admin --profile ada invite accept 'http://127.0.0.1:8000/invite/iasi_…' --name 'Ada Lovelace'
        printf '%s\\n' "$PASSWORD" | ias-admin invite accept iasi_… --name Ada --password-stdin --url http://127.0.0.1:8000
    """
    e = env(json_out)
    token = invite_token(token_or_link)
    base = accept_url(url, e, token_or_link)
    with Client(base) as c:
        info = c.request("GET", f"/api/invite/{token}", auth=False)
        if not e.json:
            console(stderr=True).print(
                Text(
                    f"Invite to {info['org_name']} as {info['role']} for {info['email']}"
                    + (f", from {info['invited_by_name']}" if info.get("invited_by_name") else "")
                    + f"; expires {when(info['expires_at'])}.",
                    style="dim",
                )
            )
        existing = bool(info["existing_account"])
        if existing:
            name = None
        elif not name:
            if password_stdin:
                raise usage_error("a new account needs --name with --password-stdin")
            name = typer.prompt("Your name", err=True)
        if password_stdin:
            password = password_from_stdin()
        elif existing:
            password = typer.prompt(f"Current password of {info['email']}", hide_input=True, err=True)
        else:
            password = typer.prompt(
                "New password (at least 12 characters)", hide_input=True, confirmation_prompt=True, err=True
            )
        session = c.post(f"/api/invite/{token}/accept", {"name": name, "password": password}, auth=False)
    path = None if no_login else save_session(e.profile_name, base, session)
    result = {
        "org_id": info["org_id"],
        "org_name": info["org_name"],
        "role": info["role"],
        "user": session["user"],
        "existing_account": existing,
        "profile": None if no_login else e.profile_name,
        "url": base,
        "expires_at": session["expires_at"],
    }

    def human() -> None:
        console().print(
            Text(f"Welcome, {session['user']['name']}: you are {info['role']} of {info['org_name']}.")
        )
        if path:
            console().print(
                Text(f"Logged in; session saved in profile '{e.profile_name}' ({path}).", style="dim")
            )

    e.out.result(result, human)
