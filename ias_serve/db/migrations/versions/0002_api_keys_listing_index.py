"""API keys listed page by page: index (org_id, created_at DESC, id DESC).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:00:00

`GET /api/org/{id}/key` pages newest first with a keyset on (created_at, id) inside one org.
Without this index PostgreSQL scanned every key of the org and sorted them for each page
(6.7 ms at 10,000 keys, growing with the org); with it a page reads only its own rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_api_keys_org_id_created_at_id "
        "ON api_keys (org_id, created_at DESC, id DESC)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_api_keys_org_id_created_at_id")
