"""Schema migrations of a deployment, one command per store (the Helm chart's hook Jobs).

    python -m ias_serve.migrate postgres     # Alembic upgrade head on IAS_DATABASE_URL, then the
                                             # first System Admin when IAS_BOOTSTRAP_ADMIN_EMAIL
                                             # and IAS_BOOTSTRAP_ADMIN_PASSWORD are set
    python -m ias_serve.migrate clickhouse   # the ClickHouse schema on IAS_CLICKHOUSE_URL,
                                             # waiting up to --wait seconds for the server

Both are idempotent and safe to run from several pods at once (Alembic under an advisory lock;
ClickHouse DDL with IF NOT EXISTS and a versions table). ``ias up`` does the same for the local
stack itself.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from ias_serve.errors import ConfigurationError
from ias_serve.queue.backoff import Backoff
from ias_serve.settings import Settings, get_settings

T = TypeVar("T")


def _retry(what: str, action: Callable[[], T], wait_s: float) -> T:
    """``action()``, retried (capped backoff) while it raises until ``wait_s`` seconds have passed."""
    deadline = time.monotonic() + wait_s
    backoff = Backoff(0.5, 5.0)
    while True:
        try:
            return action()
        except ConfigurationError:
            raise
        except Exception as e:  # the server may still be starting (post-install hook)
            if time.monotonic() >= deadline:
                raise
            print(
                f"{what}: not reachable yet ({type(e).__name__}: {e}); retrying", file=sys.stderr, flush=True
            )
            time.sleep(backoff.next_delay())


def migrate_postgres(settings: Settings, wait_s: float) -> str:
    from ias_serve.db.migrate import current_revision, upgrade_head

    url = settings.database_url
    if not url:
        raise ConfigurationError("IAS_DATABASE_URL is not set")
    _retry("PostgreSQL", lambda: upgrade_head(url), wait_s)
    revision = current_revision(url) or "(base)"
    lines = [f"PostgreSQL schema at revision {revision}"]
    email, password = settings.bootstrap_admin_email, settings.bootstrap_admin_password
    if email and password:
        from ias_serve.db.bootstrap import bootstrap

        created, _ = bootstrap(url, email, password.get_secret_value())
        lines.append(f"System Admin {email}: {'created' if created else 'exists already (unchanged)'}")
    return "\n".join(lines)


def migrate_clickhouse(settings: Settings, wait_s: float) -> str:
    from ias_serve.analytics.client import get_client
    from ias_serve.analytics.schema import applied_versions, apply_schema

    dsn = settings.clickhouse_url
    if not dsn:
        raise ConfigurationError("IAS_CLICKHOUSE_URL is not set")
    client = _retry("ClickHouse", lambda: get_client(dsn), wait_s)
    try:
        apply_schema(client)
        versions = applied_versions(client)
    finally:
        client.close()
    return (
        f"ClickHouse schema at version {versions[-1] if versions else 0} ({len(versions)} migrations applied)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ias_serve.migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("store", choices=["postgres", "clickhouse"])
    parser.add_argument(
        "--wait", type=float, default=120.0, help="seconds to wait for the server (default 120)"
    )
    args = parser.parse_args(argv)
    run = migrate_postgres if args.store == "postgres" else migrate_clickhouse
    try:
        print(run(get_settings(), args.wait), flush=True)
    except ConfigurationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
