"""`ias-admin login | logout | whoami`: sessions, stored per profile in the credentials file."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.text import Text

from cli.client import EXIT_AUTH, ApiError, Client
from cli.common import Group, JsonOpt, env, password_from_stdin
from cli.config import DEFAULT_URL, ConfigError, Profile, normalize_url
from cli.output import console, table, when

UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Base URL of IAS, e.g. http://127.0.0.1:8000 (default: IAS_URL, then the profile's).",
        show_default=False,
    ),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


def role_label(me: dict[str, Any]) -> str:
    if me.get("is_system_admin"):
        return "System Admin"
    roles = {m["role"] for m in me.get("memberships", [])}
    return "Org Admin" if "org_admin" in roles else ("Org User" if roles else "no organisation")


def save_session(profile_name: str, url: str, session: dict[str, Any]) -> str:
    """Store a session (of a login or an accepted invite) in the profile; the file's path."""
    from cli.common import env as current

    creds = current().credentials
    creds.put(
        Profile(
            profile_name,
            url=url,
            email=session["user"]["email"],
            token=session["token"],
            expires_at=session.get("expires_at"),
        )
    )
    creds.save()
    return str(creds.path)


def login_url(url: str | None, profile: Profile) -> str:
    try:
        return normalize_url(url or os.environ.get("IAS_URL") or profile.url or DEFAULT_URL)
    except ConfigError as e:
        raise typer.BadParameter(str(e), param_hint="--url") from None


def register(app: Group) -> None:
    @app.command()
    def login(
        url: UrlOpt = None,
        email: Annotated[
            str | None, typer.Option("--email", "-e", help="Account e-mail (prompted when missing).")
        ] = None,
        password_stdin: PasswordStdin = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Log in and store the session token in the profile (file mode 0600).

        The password is prompted (hidden) unless --password-stdin is given. A wrong e-mail or
        password exits with 3 (authentication failed), like an expired session.

        Examples:

            ias-admin login --url http://127.0.0.1:8000 --email admin@ias.local
            echo "$IAS_PASSWORD" | ias-admin --profile ci login --email ci@acme.example --password-stdin
        """
        e = env(json_out)
        base = login_url(url, e.profile)
        address = email or e.profile.email or typer.prompt("E-mail", err=True)
        password = (
            password_from_stdin() if password_stdin else typer.prompt("Password", hide_input=True, err=True)
        )
        with Client(base) as c:
            session = c.post("/api/auth/login", {"email": address.strip(), "password": password}, auth=False)
        path = save_session(e.profile_name, base, session)
        user = session["user"]
        result = {
            "profile": e.profile_name,
            "url": base,
            "user": user,
            "expires_at": session["expires_at"],
            "credentials": path,
        }

        def human() -> None:
            who = "System Admin" if user["is_system_admin"] else "member"
            console().print(Text(f"Logged in to {base} as {user['email']} ({who})."))
            console().print(
                Text(
                    f"Session saved in profile '{e.profile_name}' ({path}); "
                    f"it expires {when(session['expires_at'])}.",
                    style="dim",
                )
            )

        e.out.result(result, human)

    @app.command()
    def logout(json_out: JsonOpt = False) -> None:
        """End the session on the server and forget its token (the URL and e-mail stay).

        With IAS_TOKEN set, that session ends and the stored profile is left alone.

        Example:

            ias-admin --profile ci logout
        """
        e = env(json_out)
        target = e.target
        server = "not_logged_in"
        if target.token:
            try:
                e.api.post("/api/auth/logout")
                server = "revoked"
            except ApiError as err:
                if err.exit_code != EXIT_AUTH:
                    raise
                server = "already_ended"
        prof = e.profile
        forgot = bool(prof.token) and target.token_from != "IAS_TOKEN"  # IAS_TOKEN's session only
        if forgot:
            prof.token = None
            prof.expires_at = None
            e.credentials.put(prof)
            e.credentials.save()
        result = {"profile": e.profile_name, "url": target.url, "session": server, "token_removed": forgot}
        messages = {
            "revoked": "Logged out: the session is ended.",
            "already_ended": "The session had already ended (expired or revoked).",
            "not_logged_in": "Not logged in.",
        }
        e.out.result(result, lambda: console().print(Text(messages[server])))

    @app.command()
    def password(
        password_stdin: Annotated[
            bool,
            typer.Option(
                "--password-stdin",
                help="Read the current password, then the new one, from two lines of stdin.",
            ),
        ] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Change your password (at least 12 characters, not your e-mail address). Your other
        sessions end; this one stays logged in.

        Example:

            ias-admin password
        """
        e = env(json_out)
        if password_stdin:
            current, new = password_from_stdin(), password_from_stdin()
        else:
            current = typer.prompt("Current password", hide_input=True, err=True)
            new = typer.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
        changed = e.api.post("/api/auth/password", {"current_password": current, "new_password": new})
        e.out.result(
            changed,
            lambda: console().print(
                Text(f"Password changed; {changed['sessions_revoked']} other session(s) ended.")
            ),
        )

    @app.command()
    def whoami(json_out: JsonOpt = False) -> None:
        """Who the session belongs to: account, role, organisations, session expiry.

        Example:

            ias-admin whoami --json | jq -r '.memberships[].org_name'
        """
        e = env(json_out)
        me = e.me()
        target = e.target
        result = {"url": target.url, "profile": e.profile_name, "token_from": target.token_from, **me}

        def human() -> None:
            c = console()
            user = me["user"]
            c.print(Text(f"{user['email']} ({user['name']}): {role_label(me)}"))
            c.print(
                Text(
                    f"{target.url}, profile '{e.profile_name}'"
                    + (" (token from IAS_TOKEN)" if target.token_from == "IAS_TOKEN" else "")
                    + (
                        f"; session expires {when(me.get('session_expires_at'))}"
                        if me.get("session_expires_at")
                        else ""
                    ),
                    style="dim",
                )
            )
            if me["memberships"]:
                c.print(
                    table(
                        ["org", "org id", "role", "joined"],
                        [
                            (m["org_name"], m["org_id"], m["role"], when(m["joined_at"]))
                            for m in me["memberships"]
                        ],
                        no_wrap=["org id"],
                    )
                )

        e.out.result(result, human)
