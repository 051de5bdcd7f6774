"""Initial schema: organisations, users, memberships, invites, sessions, API keys, budgets,
model mappings and the insert-only audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Hand-written. Enum types are created and dropped explicitly (``create_type=False`` on the
columns). The audit log is made insert-only by a PL/pgSQL trigger function raising on UPDATE,
DELETE (row triggers) and TRUNCATE (statement trigger).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the labels are the values of the domain enums at the time of this revision (frozen here on
# purpose: a later change of a domain enum needs a migration of its own)
ORG_ROLE = postgresql.ENUM("org_admin", "org_user", name="org_role", create_type=False)
ACCOUNT_STATUS = postgresql.ENUM("active", "disabled", name="account_status", create_type=False)
BACKEND_KIND = postgresql.ENUM("serve", "remote_url", name="backend_kind", create_type=False)
ENUMS = (ORG_ROLE, ACCOUNT_STATUS, BACKEND_KIND)

TZ = sa.DateTime(timezone=True)
NOW = sa.text("now()")
UUID_DEFAULT = sa.text("gen_random_uuid()")

AUDIT_GUARD_FUNCTION = """
CREATE FUNCTION audit_log_insert_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is insert-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never updated or deleted';
END;
$$
"""


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid(), server_default=UUID_DEFAULT, nullable=False)


def _created_at() -> sa.Column[Any]:
    return sa.Column("created_at", TZ, server_default=NOW, nullable=False)


def _updated_at() -> sa.Column[Any]:
    return sa.Column("updated_at", TZ, server_default=NOW, nullable=False)


def upgrade() -> None:
    bind = op.get_bind()
    for enum in ENUMS:
        enum.create(bind, checkfirst=False)

    op.create_table(
        "organizations",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", ACCOUNT_STATUS, server_default="active", nullable=False),
        _created_at(),
        _updated_at(),
        sa.CheckConstraint("length(btrim(name)) > 0", name="ck_organizations_name_not_blank"),
        sa.PrimaryKeyConstraint("id", name="pk_organizations"),
    )
    op.create_index("uq_organizations_name_lower", "organizations", [sa.text("lower(name)")], unique=True)

    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), server_default="", nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("is_system_admin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("status", ACCOUNT_STATUS, server_default="active", nullable=False),
        _created_at(),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("role", ORG_ROLE, nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_memberships_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_memberships_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "org_id", name="pk_memberships"),
    )
    op.create_index("ix_memberships_org_id", "memberships", ["org_id"])

    op.create_table(
        "invites",
        _id(),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", ORG_ROLE, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        _created_at(),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("accepted_at", TZ, nullable=True),
        sa.Column("accepted_by", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_invites_org_id_organizations", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name="fk_invites_invited_by_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by"], ["users.id"], name="fk_invites_accepted_by_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invites"),
        sa.UniqueConstraint("token_hash", name="uq_invites_token_hash"),
    )
    op.create_index("ix_invites_org_id_email", "invites", ["org_id", "email"])

    op.create_table(
        "sessions",
        _id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _created_at(),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_sessions_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])

    op.create_table(
        "api_keys",
        _id(),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), server_default="", nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        _created_at(),
        sa.Column("last_used_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("expires_at", TZ, nullable=True),
        sa.CheckConstraint("key_hash ~ '^[0-9a-f]{64}$'", name="ck_api_keys_key_hash_hex"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_keys_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_api_keys_org_id_organizations", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_org_id", "api_keys", ["org_id"])
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])

    op.create_table(
        "org_budgets",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("monthly_token_limit", sa.BigInteger(), nullable=True),
        _updated_at(),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "monthly_token_limit IS NULL OR monthly_token_limit >= 0",
            name="ck_org_budgets_limit_not_negative",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_org_budgets_org_id_organizations", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name="fk_org_budgets_updated_by_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("org_id", name="pk_org_budgets"),
    )

    op.create_table(
        "model_mappings",
        _id(),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("backend_kind", BACKEND_KIND, nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("allowed_org_ids", postgresql.ARRAY(sa.Uuid()), nullable=True),
        sa.Column("price_per_million_input", sa.Numeric(18, 6), server_default=sa.text("0"), nullable=False),
        sa.Column("price_per_million_output", sa.Numeric(18, 6), server_default=sa.text("0"), nullable=False),
        _created_at(),
        _updated_at(),
        sa.CheckConstraint(
            "price_per_million_input >= 0 AND price_per_million_output >= 0",
            name="ck_model_mappings_prices_not_negative",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_model_mappings"),
        sa.UniqueConstraint("name", name="uq_model_mappings_name"),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("ts", TZ, server_default=NOW, nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("user_id_performing_action", sa.Uuid(), nullable=True),
        sa.Column("action_type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_org_id_ts", "audit_log", ["org_id", "ts"])
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])
    op.create_index("ix_audit_log_action_type_ts", "audit_log", ["action_type", "ts"])

    op.execute(AUDIT_GUARD_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_insert_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_insert_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
    op.drop_table("audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_insert_only()")
    op.drop_table("model_mappings")
    op.drop_table("org_budgets")
    op.drop_table("api_keys")
    op.drop_table("sessions")
    op.drop_table("invites")
    op.drop_table("memberships")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
    op.drop_index("uq_organizations_name_lower", table_name="organizations")
    op.drop_table("organizations")
    bind = op.get_bind()
    for enum in reversed(ENUMS):
        enum.drop(bind, checkfirst=False)
