"""Budget alerts: thresholds and webhook per org, and the alerts that fired.

Revision ID: 0004_budget_alerts
Revises: 0003_rate_limits
Create Date: 2026-12-04 16:00:00

* ``org_budget_alert_settings``: one row per org (none: no alerts): ``thresholds`` (percent of
  the month's budget, ``int[]``, sorted, at most 10; empty = off), ``webhook_url`` and
  ``webhook_secret`` (the HMAC key, both or neither).
* ``budget_alerts``: one row per alert that fired, UNIQUE (org_id, period, threshold): the
  dispatchers insert with ``ON CONFLICT DO NOTHING``, so an alert fires once per threshold per
  month however many replicas detect it. Delivery state per channel (``pending``,
  ``delivered``, ``failed``, ``none``), attempts and the next attempt (retries survive restarts).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_budget_alerts"
down_revision: str | Sequence[str] | None = "0003_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "('pending', 'delivered', 'failed', 'none')"


def upgrade() -> None:
    op.create_table(
        "org_budget_alert_settings",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column(
            "thresholds",
            postgresql.ARRAY(sa.Integer()),
            server_default=sa.text("'{}'::integer[]"),
            nullable=False,
        ),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "cardinality(thresholds) <= 10", name="ck_org_budget_alert_settings_at_most_10_thresholds"
        ),
        sa.CheckConstraint(
            "(webhook_url IS NULL) = (webhook_secret IS NULL)",
            name="ck_org_budget_alert_settings_webhook_has_secret",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name="fk_org_budget_alert_settings_org_id_organizations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name="fk_org_budget_alert_settings_updated_by_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("org_id", name="pk_org_budget_alert_settings"),
    )
    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("used_tokens", sa.BigInteger(), nullable=False),
        sa.Column("limit_tokens", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("email_status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("webhook_status", sa.String(length=16), server_default="none", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("threshold BETWEEN 1 AND 100", name="ck_budget_alerts_threshold_percent"),
        sa.CheckConstraint(f"email_status IN {STATUSES}", name="ck_budget_alerts_email_status_known"),
        sa.CheckConstraint(f"webhook_status IN {STATUSES}", name="ck_budget_alerts_webhook_status_known"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_budget_alerts_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_budget_alerts"),
        sa.UniqueConstraint("org_id", "period", "threshold", name="uq_budget_alerts_org_id_period_threshold"),
    )
    op.create_index("ix_budget_alerts_next_attempt_at", "budget_alerts", ["next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_budget_alerts_next_attempt_at", table_name="budget_alerts")
    op.drop_table("budget_alerts")
    op.drop_table("org_budget_alert_settings")
