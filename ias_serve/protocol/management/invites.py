"""Wire format of invites: ``/api/org/{id}/user`` (invite), ``/api/org/{id}/invite``,
``/api/invite/{token}`` (public) and ``/api/outbox`` (mails kept when no SMTP is configured)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from ias_serve.domain.emails import normalize_email
from ias_serve.domain.invites import InviteStatus
from ias_serve.domain.roles import OrgRole
from ias_serve.protocol.management.auth import Password

_INVITE_ID = "3d9a8f4e-1b2c-4d5e-8f90-a1b2c3d4e5f6"
_ORG_ID = "6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b"
_EXAMPLE_INVITE: JsonDict = {
    "id": _INVITE_ID,
    "org_id": _ORG_ID,
    "email": "grace@example.com",
    "role": "org_user",
    "status": "pending",
    "invited_by": "0b9e7c1e-4a5f-4c1a-9d0e-5f1b2a3c4d5e",
    "created_at": "2026-03-01T09:00:00Z",
    "expires_at": "2026-03-08T09:00:00Z",
}

EmailDelivery = Literal["smtp", "outbox", "failed"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class InviteCreate(BaseModel):
    """``POST /api/org/{id}/user``: invite an e-mail address into the org with a role."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "grace@example.com", "role": "org_user"}]}
    )

    email: str = Field(max_length=254, description="Invitee's address (stored case-folded).")
    role: OrgRole = Field(default=OrgRole.ORG_USER, description="org_admin or org_user.")

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return normalize_email(v)


class InvitePublic(_Out):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_INVITE]})

    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    role: OrgRole
    status: InviteStatus
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime


class InvitesPublic(_Out):
    data: list[InvitePublic]
    count: int


class InviteSent(_Out):
    """The invite and how its e-mail went out. ``link`` (the accept page, with the one-time
    token) is returned only when no SMTP delivered the mail (``outbox`` or ``failed``): the
    inviting admin then passes it on."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invite": _EXAMPLE_INVITE,
                    "email": "outbox",
                    "link": "http://127.0.0.1:8000/invite/iasi_Qm9v…",
                    "replaced": 0,
                }
            ]
        }
    )

    invite: InvitePublic
    email: EmailDelivery = Field(
        description="smtp: sent; outbox: written to IAS_HOME/outbox; failed: not sent (the invite stays)."
    )
    link: str | None = Field(default=None, description="The accept link (only for outbox/failed).")
    replaced: int = Field(default=0, description="Pending invites of this address to this org revoked by it.")


class InviteInfo(_Out):
    """``GET /api/invite/{token}`` (public): what the invitee is about to accept."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "org_id": _ORG_ID,
                    "org_name": "acme",
                    "email": "grace@example.com",
                    "role": "org_user",
                    "invited_by_name": "Ada Lovelace",
                    "invited_by_email": "ada@example.com",
                    "expires_at": "2026-03-08T09:00:00Z",
                    "existing_account": False,
                }
            ]
        }
    )

    org_id: uuid.UUID
    org_name: str
    email: str
    role: OrgRole
    invited_by_name: str | None
    invited_by_email: str | None
    expires_at: datetime
    existing_account: bool = Field(
        description="True: the address already has an account; accepting needs its current password."
    )


class InviteAccept(BaseModel):
    """New account: ``name`` and a new ``password``. Existing account (``existing_account``):
    its current ``password``; ``name`` is ignored."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Grace Hopper", "password": "a long, new passphrase"}]},
    )

    name: str | None = Field(default=None, max_length=200)
    password: Password


class OutboxMessagePublic(_Out):
    id: str
    to: str
    sender: str
    subject: str
    date: datetime | None
    body: str


class OutboxPublic(_Out):
    mailer: Literal["smtp", "outbox"] = Field(description="How this deployment sends mail.")
    data: list[OutboxMessagePublic]
    count: int
