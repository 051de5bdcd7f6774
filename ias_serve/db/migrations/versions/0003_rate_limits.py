"""Rate limits: per org (with a System Admin ceiling) and per API key.

Revision ID: 0003_rate_limits
Revises: 0002
Create Date: 2026-12-04 00:00:00

* ``org_rate_limits``: one row per org (none: unlimited) with the org's own limits (Org Admin)
  and their ceiling (System Admin), each NULL = unlimited, all >= 1.
* ``api_keys``: three nullable columns, the key's own limits (NULL = unlimited).

The gateway reads them with the key (one query, ``ApiKeyRepository.find_principal_by_hash``)
and enforces the key's and the org's limits, each capped by the ceiling.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_rate_limits"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIMITS_POSITIVE = (
    "(requests_per_minute IS NULL OR requests_per_minute >= 1) AND "
    "(tokens_per_minute IS NULL OR tokens_per_minute >= 1) AND "
    "(max_concurrent_requests IS NULL OR max_concurrent_requests >= 1)"
)
CEILING_POSITIVE = (
    "(ceiling_requests_per_minute IS NULL OR ceiling_requests_per_minute >= 1) AND "
    "(ceiling_tokens_per_minute IS NULL OR ceiling_tokens_per_minute >= 1) AND "
    "(ceiling_max_concurrent_requests IS NULL OR ceiling_max_concurrent_requests >= 1)"
)


def upgrade() -> None:
    op.create_table(
        "org_rate_limits",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("requests_per_minute", sa.Integer(), nullable=True),
        sa.Column("tokens_per_minute", sa.BigInteger(), nullable=True),
        sa.Column("max_concurrent_requests", sa.Integer(), nullable=True),
        sa.Column("ceiling_requests_per_minute", sa.Integer(), nullable=True),
        sa.Column("ceiling_tokens_per_minute", sa.BigInteger(), nullable=True),
        sa.Column("ceiling_max_concurrent_requests", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(LIMITS_POSITIVE, name="ck_org_rate_limits_limits_positive"),
        sa.CheckConstraint(CEILING_POSITIVE, name="ck_org_rate_limits_ceiling_positive"),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name="fk_org_rate_limits_org_id_organizations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name="fk_org_rate_limits_updated_by_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("org_id", name="pk_org_rate_limits"),
    )
    # nullable columns without a default: no table rewrite, instant on a large api_keys
    op.add_column("api_keys", sa.Column("requests_per_minute", sa.Integer(), nullable=True))
    op.add_column("api_keys", sa.Column("tokens_per_minute", sa.BigInteger(), nullable=True))
    op.add_column("api_keys", sa.Column("max_concurrent_requests", sa.Integer(), nullable=True))
    op.create_check_constraint(op.f("ck_api_keys_rate_limits_positive"), "api_keys", LIMITS_POSITIVE)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_api_keys_rate_limits_positive"), "api_keys", type_="check")
    op.drop_column("api_keys", "max_concurrent_requests")
    op.drop_column("api_keys", "tokens_per_minute")
    op.drop_column("api_keys", "requests_per_minute")
    op.drop_table("org_rate_limits")
