"""Wire format of the members of an org: ``/api/org/{id}/user`` (list) and
``/api/org/{id}/user/{user_id}`` (change role, remove)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from ias_serve.domain.roles import OrgRole, Status

_EXAMPLE_MEMBER: JsonDict = {
    "id": "0b9e7c1e-4a5f-4c1a-9d0e-5f1b2a3c4d5e",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "role": "org_admin",
    "status": "active",
    "joined_at": "2026-01-02T10:00:00Z",
}


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class MemberPublic(_Out):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_MEMBER]})

    id: uuid.UUID = Field(description="The user's id.")
    email: str
    name: str
    role: OrgRole
    status: Status = Field(description="The account's status (a disabled account cannot log in).")
    joined_at: datetime


class MembersPublic(_Out):
    model_config = ConfigDict(json_schema_extra={"examples": [{"data": [_EXAMPLE_MEMBER], "count": 1}]})

    data: list[MemberPublic]
    count: int = Field(description="Members of the org in total (not only this page).")


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "org_admin"}]})

    role: OrgRole


class MemberRemoved(_Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "0b9e7c1e-4a5f-4c1a-9d0e-5f1b2a3c4d5e",
                    "org_id": "6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b",
                    "keys_revoked": 2,
                    "sessions_revoked": 0,
                }
            ]
        }
    )

    user_id: uuid.UUID
    org_id: uuid.UUID
    keys_revoked: int = Field(description="API keys of the user in this org revoked now.")
    sessions_revoked: int = Field(description="Sessions ended (only when no membership is left).")
