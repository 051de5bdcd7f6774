"""Alembic migrations on a real PostgreSQL: upgrade, downgrade, upgrade again, model parity."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from ias_serve.db.engine import sync_url
from ias_serve.db.migrate import current_revision, downgrade_base, head_revision, upgrade_head
from ias_serve.db.models import Base

TABLES = {
    "organizations",
    "users",
    "memberships",
    "invites",
    "sessions",
    "api_keys",
    "org_budgets",
    "org_rate_limits",
    "org_budget_alert_settings",
    "budget_alerts",
    "model_mappings",
    "audit_log",
}
ENUMS = {"org_role", "account_status", "backend_kind"}


def _catalog(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        }
        enums = {
            r[0]
            for r in conn.execute(
                "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = 'public' AND t.typtype = 'e'"
            ).fetchall()
        }
        functions = {
            r[0]
            for r in conn.execute(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public'"
            ).fetchall()
        }
        triggers = {
            r[0] for r in conn.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
        }
        indexes = {
            r[0]
            for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'").fetchall()
        }
    return {
        "tables": tables,
        "enums": enums,
        "functions": functions,
        "triggers": triggers,
        "indexes": indexes,
    }


def test_upgrade_head_creates_everything(fresh_database) -> None:
    url = fresh_database("mig")
    assert current_revision(url) is None
    upgrade_head(url)
    cat = _catalog(url)
    assert cat["tables"] == TABLES | {"alembic_version"}
    assert cat["enums"] == ENUMS
    assert "audit_log_insert_only" in cat["functions"]
    assert {"audit_log_no_update_delete", "audit_log_no_truncate"} <= cat["triggers"]
    assert {
        "uq_users_email_lower",
        "uq_organizations_name_lower",
        "uq_api_keys_key_hash",
        "ix_api_keys_org_id",
        "ix_audit_log_org_id_ts",
        "uq_sessions_token_hash",
        "uq_invites_token_hash",
        "ix_api_keys_org_id_created_at_id",
        "uq_budget_alerts_org_id_period_threshold",
        "ix_budget_alerts_next_attempt_at",
    } <= cat["indexes"]
    assert current_revision(url) == head_revision() == "0004_budget_alerts"


def test_models_match_migrations(database_url: str) -> None:
    """Autogenerate finds nothing to do: models.py and the migration files agree."""
    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            diffs = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_downgrade_base_removes_everything_and_upgrade_works_again(fresh_database) -> None:
    url = fresh_database("mig")
    upgrade_head(url)
    upgrade_head(url)  # idempotent
    downgrade_base(url)
    cat = _catalog(url)
    assert cat["tables"] <= {"alembic_version"}
    assert cat["enums"] == set()
    assert cat["functions"] == set()
    assert cat["triggers"] == set()
    assert current_revision(url) is None
    upgrade_head(url)
    assert _catalog(url)["tables"] == TABLES | {"alembic_version"}
    assert current_revision(url) == head_revision()


def test_accepts_asyncpg_dsn_and_any_cwd(
    fresh_database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database("mig")
    monkeypatch.chdir(tmp_path)  # no alembic.ini here
    async_dsn = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    upgrade_head(async_dsn)
    assert current_revision(async_dsn) == head_revision()
    assert current_revision(url.replace("postgresql://", "postgres://", 1)) == head_revision()


def test_concurrent_upgrades_migrate_once(fresh_database) -> None:
    url = fresh_database("mig")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade_head(url)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert current_revision(url) == head_revision()


def test_cli_main(fresh_database, capsys: pytest.CaptureFixture[str]) -> None:
    from ias_serve.db.migrate import main

    url = fresh_database("mig")
    assert main(["bogus"]) == 2
    assert main(["upgrade", url]) == 0
    assert main(["current", url]) == 0
    assert main(["downgrade", url]) == 0
    out = capsys.readouterr().out.split()
    assert out == [head_revision(), head_revision(), "(base)"]
