"""SQLAlchemy 2.0 declarative models of the management state (PostgreSQL only).

Design notes
* Primary keys are UUIDs generated in Python (``uuid4``) so the ORM knows them before the
  flush; ``gen_random_uuid()`` is the server default for raw SQL inserts.
* Timestamps are ``timestamptz`` defaulting to ``now()``; ``eager_defaults`` makes the ORM
  read server-generated values back with ``RETURNING`` (no lazy load, which async forbids).
* Organisation names are unique case-insensitively (unique index on ``lower(name)``).
* E-mail uniqueness is case-insensitive: the repositories store the case-folded address
  (:func:`ias_serve.domain.emails.normalize_email`) and a unique index on ``lower(email)``
  enforces it for every writer, raw SQL included.
* ``model_mappings.allowed_org_ids`` is a ``uuid[]``: NULL = all orgs, an array = those orgs
  only (empty = none). No FK: a deleted org id left in a list only ever denies.
* ``audit_log`` has no FKs on purpose: it outlives the rows it mentions, and an
  ``ON DELETE SET NULL`` would be an UPDATE, which its trigger forbids (insert-only).
* Rate limits (migration 0003): ``org_rate_limits`` holds an org's own limits and the System
  Admin's ceiling over them; a key's own limits are three nullable columns of ``api_keys``.
  NULL = unlimited, values >= 1 (check constraints); the gateway reads all of them with the key.
* Budget alerts (migration 0004): ``org_budget_alert_settings`` holds an org's thresholds
  (percent, ``int[]``, sorted, empty = off) and its optional webhook (URL and signing secret);
  ``budget_alerts`` one row per alert that fired, unique per (org, month, threshold): the
  unique constraint is what makes an alert fire once, whatever runs the detection.
* Constraint names follow :data:`NAMING_CONVENTION`; the repositories map unique-violation
  constraint names to :class:`ias_serve.errors.Conflict`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ias_serve.domain.model_mappings import BackendKind
from ias_serve.domain.roles import OrgRole, Status

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _values(enum_cls: type) -> list[str]:
    return [m.value for m in enum_cls]  # type: ignore[attr-defined]


# the PostgreSQL enum types (labels = the domain StrEnum values)
ORG_ROLE = Enum(OrgRole, name="org_role", values_callable=_values, validate_strings=True)
ACCOUNT_STATUS = Enum(Status, name="account_status", values_callable=_values, validate_strings=True)
BACKEND_KIND = Enum(BackendKind, name="backend_kind", values_callable=_values, validate_strings=True)
ENUM_TYPES = (ORG_ROLE, ACCOUNT_STATUS, BACKEND_KIND)

TZ = DateTime(timezone=True)

_RATE_LIMITS_POSITIVE = (
    "(requests_per_minute IS NULL OR requests_per_minute >= 1) AND "
    "(tokens_per_minute IS NULL OR tokens_per_minute >= 1) AND "
    "(max_concurrent_requests IS NULL OR max_concurrent_requests >= 1)"
)

_STATUSES = "('pending', 'delivered', 'failed', 'none')"  # ias_serve.domain.budget_alerts.DeliveryStatus


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}  # type: ignore[misc]


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4, server_default=func.gen_random_uuid())


def _created_at() -> Mapped[datetime]:
    return mapped_column(TZ, nullable=False, server_default=func.now())


def _updated_at() -> Mapped[datetime]:
    return mapped_column(TZ, nullable=False, server_default=func.now(), onupdate=func.now())


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)  # unique case-insensitively
    status: Mapped[Status] = mapped_column(ACCOUNT_STATUS, nullable=False, server_default=Status.ACTIVE.value)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()

    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        Index("uq_organizations_name_lower", func.lower(name), unique=True),
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, server_default="")
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)  # NULL: cannot log in
    is_system_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    status: Mapped[Status] = mapped_column(ACCOUNT_STATUS, nullable=False, server_default=Status.ACTIVE.value)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()

    __table_args__ = (Index("uq_users_email_lower", func.lower(email), unique=True),)


class Membership(Base):
    __tablename__ = "memberships"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[OrgRole] = mapped_column(ORG_ROLE, nullable=False)
    created_at: Mapped[datetime] = _created_at()


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    role: Mapped[OrgRole] = mapped_column(ORG_ROLE, nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(TZ)
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (Index("ix_invites_org_id_email", "org_id", "email"),)


class UserSession(Base):
    """A login session of the management API (table ``sessions``)."""

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(TZ, nullable=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = _uuid_pk()
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)  # sha256 hex
    prefix: Mapped[str] = mapped_column(String(32), nullable=False)  # e.g. "ias-AbCdEfGh"
    name: Mapped[str] = mapped_column(String(200), nullable=False, server_default="")
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = _created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)
    expires_at: Mapped[datetime | None] = mapped_column(TZ)
    # the key's own rate limits (NULL: unlimited; the org's ceiling caps them; migration 0003)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    tokens_per_minute: Mapped[int | None] = mapped_column(BigInteger)
    max_concurrent_requests: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("key_hash ~ '^[0-9a-f]{64}$'", name="key_hash_hex"),
        CheckConstraint(_RATE_LIMITS_POSITIVE, name="rate_limits_positive"),
        # keyset paging of an org's keys, newest first (migration 0002)
        Index("ix_api_keys_org_id_created_at_id", "org_id", created_at.desc(), id.desc()),
    )


class OrgRateLimits(Base):
    """An org's rate limits (set by its Org Admins) and their ceiling (set by System Admins);
    no row, or NULL: unlimited. The effective org limit is the smaller of the two."""

    __tablename__ = "org_rate_limits"

    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    tokens_per_minute: Mapped[int | None] = mapped_column(BigInteger)
    max_concurrent_requests: Mapped[int | None] = mapped_column(Integer)
    ceiling_requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    ceiling_tokens_per_minute: Mapped[int | None] = mapped_column(BigInteger)
    ceiling_max_concurrent_requests: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = _updated_at()
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint(_RATE_LIMITS_POSITIVE, name="limits_positive"),
        CheckConstraint(
            "(ceiling_requests_per_minute IS NULL OR ceiling_requests_per_minute >= 1) AND "
            "(ceiling_tokens_per_minute IS NULL OR ceiling_tokens_per_minute >= 1) AND "
            "(ceiling_max_concurrent_requests IS NULL OR ceiling_max_concurrent_requests >= 1)",
            name="ceiling_positive",
        ),
    )


class OrgBudget(Base):
    __tablename__ = "org_budgets"

    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    monthly_token_limit: Mapped[int | None] = mapped_column(BigInteger)  # NULL: unlimited
    updated_at: Mapped[datetime] = _updated_at()
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint("monthly_token_limit IS NULL OR monthly_token_limit >= 0", name="limit_not_negative"),
    )


class OrgBudgetAlertSettings(Base):
    """An org's budget alert thresholds and webhook (no row: no alerts)."""

    __tablename__ = "org_budget_alert_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    thresholds: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), nullable=False, server_default=text("'{}'::integer[]")
    )
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(Text)  # HMAC key; never logged or audited
    updated_at: Mapped[datetime] = _updated_at()
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint("cardinality(thresholds) <= 10", name="at_most_10_thresholds"),
        CheckConstraint("(webhook_url IS NULL) = (webhook_secret IS NULL)", name="webhook_has_secret"),
    )


class BudgetAlert(Base):
    """One budget alert that fired: (org, month, threshold) once, and its delivery state."""

    __tablename__ = "budget_alerts"

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    period: Mapped[str] = mapped_column(String(7), nullable=False)  # "YYYY-MM" (UTC)
    threshold: Mapped[int] = mapped_column(Integer, nullable=False)  # percent
    used_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False)
    limit_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = _created_at()
    email_status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    webhook_status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="none")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("org_id", "period", "threshold"),
        CheckConstraint("threshold BETWEEN 1 AND 100", name="threshold_percent"),
        CheckConstraint(f"email_status IN {_STATUSES}", name="email_status_known"),
        CheckConstraint(f"webhook_status IN {_STATUSES}", name="webhook_status_known"),
        Index("ix_budget_alerts_next_attempt_at", "next_attempt_at"),
    )


class ModelMapping(Base):
    __tablename__ = "model_mappings"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)  # public model name
    backend_kind: Mapped[BackendKind] = mapped_column(BACKEND_KIND, nullable=False)
    target: Mapped[str] = mapped_column(Text, nullable=False)  # deployment name or base URL
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    allowed_org_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(Uuid))  # NULL: all orgs
    price_per_million_input: Mapped[Decimal] = mapped_column(
        Numeric(18, 6), nullable=False, server_default=text("0")
    )
    price_per_million_output: Mapped[Decimal] = mapped_column(
        Numeric(18, 6), nullable=False, server_default=text("0")
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()

    __table_args__ = (
        CheckConstraint(
            "price_per_million_input >= 0 AND price_per_million_output >= 0", name="prices_not_negative"
        ),
    )


class AuditEntry(Base):
    """One row of the insert-only ``audit_log`` (a trigger rejects UPDATE/DELETE/TRUNCATE)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    ts: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=func.now())
    org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    user_id_performing_action: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action_type: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))

    __table_args__ = (
        Index("ix_audit_log_org_id_ts", "org_id", "ts"),
        Index("ix_audit_log_ts", "ts"),
        Index("ix_audit_log_action_type_ts", "action_type", "ts"),
    )


TABLES = tuple(Base.metadata.sorted_tables)
