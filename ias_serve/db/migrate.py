"""Run the Alembic migrations programmatically (no ``alembic.ini`` needed in the CWD).

``upgrade_head(url)`` / ``downgrade_base(url)`` accept any DSN :mod:`ias_serve.db.engine`
accepts. They run in one transaction (PostgreSQL has transactional DDL) holding an advisory
lock, so several processes starting at once migrate the database exactly once.

From a shell: ``python -m ias_serve.db.migrate upgrade|downgrade|current [URL]`` (URL defaults
to ``IAS_DATABASE_URL``), or ``alembic -c <site-packages>/ias_serve/db/alembic.ini …``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from ias_serve.db.engine import sync_url
from ias_serve.errors import ConfigurationError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key shared by every IAS process that migrates ("IAS" + 1)
ADVISORY_LOCK_KEY = 0x1A5_0001


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations, independent of the CWD."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return cfg


def _run(url: str | URL, action: Callable[[Config], None]) -> None:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            cfg = alembic_config()
            cfg.attributes["connection"] = conn  # env.py uses it (and its transaction)
            action(cfg)
    finally:
        engine.dispose()


def upgrade_head(url: str | URL) -> None:
    """``alembic upgrade head`` on ``url``."""
    _run(url, lambda cfg: command.upgrade(cfg, "head"))


def upgrade(url: str | URL, revision: str) -> None:
    _run(url, lambda cfg: command.upgrade(cfg, revision))


def downgrade_base(url: str | URL) -> None:
    """``alembic downgrade base`` on ``url``: drops every table, type and function of IAS."""
    _run(url, lambda cfg: command.downgrade(cfg, "base"))


def downgrade(url: str | URL, revision: str) -> None:
    _run(url, lambda cfg: command.downgrade(cfg, revision))


def current_revision(url: str | URL) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in {"upgrade", "downgrade", "current"}:
        print("usage: python -m ias_serve.db.migrate upgrade|downgrade|current [URL]", file=sys.stderr)
        return 2
    url = args[1] if len(args) > 1 else None
    if url is None:
        from ias_serve.settings import get_settings

        url = get_settings().database_url
    if not url:
        raise ConfigurationError("no database URL: pass one or set IAS_DATABASE_URL")
    if args[0] == "upgrade":
        upgrade_head(url)
    elif args[0] == "downgrade":
        downgrade_base(url)
    print(current_revision(url) or "(base)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
