"""`python -m ias_serve.migrate postgres|clickhouse`: what the Helm chart's hook Jobs run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from ias_serve.db.engine import sync_url
from ias_serve.db.migrate import head_revision

ADMIN_PASSWORD = "a long bootstrap password 7"


def _migrate(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IAS_")}
    return subprocess.run(
        [sys.executable, "-m", "ias_serve.migrate", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def _plain(url: str) -> str:
    return sync_url(url).render_as_string(hide_password=False).replace("+psycopg", "")


def test_postgres_upgrades_to_head_and_bootstraps_the_admin_once(fresh_database) -> None:
    database_url = fresh_database("mig")
    env = {
        "IAS_DATABASE_URL": database_url,
        "IAS_BOOTSTRAP_ADMIN_EMAIL": "Root@Example.com",
        "IAS_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    first = _migrate("postgres", **env)
    assert first.returncode == 0, first.stderr
    assert f"PostgreSQL schema at revision {head_revision()}" in first.stdout
    assert "System Admin Root@Example.com: created" in first.stdout
    assert ADMIN_PASSWORD not in first.stdout + first.stderr

    again = _migrate("postgres", **env)
    assert again.returncode == 0, again.stderr
    assert "exists already (unchanged)" in again.stdout

    with psycopg.connect(_plain(database_url)) as conn:
        rows = conn.execute("SELECT email, is_system_admin FROM users").fetchall()
        audit = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action_type = 'system_admin_bootstrapped'"
        ).fetchone()
    assert rows == [("root@example.com", True)]
    assert audit == (1,)


def test_postgres_without_admin_variables_only_migrates(fresh_database) -> None:
    database_url = fresh_database("mig")
    res = _migrate("postgres", IAS_DATABASE_URL=database_url)
    assert res.returncode == 0, res.stderr
    assert "System Admin" not in res.stdout
    with psycopg.connect(_plain(database_url)) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_clickhouse_schema_is_applied_idempotently(tmp_path: Path) -> None:
    dsn = f"chdb://{tmp_path / 'ch'}"
    (tmp_path / "ch").mkdir()
    first = _migrate("clickhouse", IAS_CLICKHOUSE_URL=dsn)
    assert first.returncode == 0, first.stderr
    assert "ClickHouse schema at version" in first.stdout
    again = _migrate("clickhouse", IAS_CLICKHOUSE_URL=dsn)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


def test_missing_settings_and_unreachable_servers_fail_clearly() -> None:
    missing = _migrate("postgres")
    assert missing.returncode == 2
    assert "IAS_DATABASE_URL is not set" in missing.stderr

    unreachable = _migrate("clickhouse", "--wait", "1", IAS_CLICKHOUSE_URL="http://127.0.0.1:9/ias")
    assert unreachable.returncode not in (0, 2)
    assert "ClickHouse: not reachable yet" in unreachable.stderr
