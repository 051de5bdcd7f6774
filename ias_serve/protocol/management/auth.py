"""Wire format of ``/api/auth``: login, the session it returns, who am I, password change.

Passwords arrive as :class:`~pydantic.SecretStr` (never shown by ``repr`` or in a log line);
the password *policy* (length, not the e-mail address) is applied by the service, so a login
with a password the policy would refuse today still answers the generic 401.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr
from pydantic.config import JsonDict

from ias_serve.domain.passwords import MAX_PASSWORD_LENGTH
from ias_serve.domain.roles import OrgRole

_EXAMPLE_USER: JsonDict = {
    "id": "0b9e7c1e-4a5f-4c1a-9d0e-5f1b2a3c4d5e",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "is_system_admin": False,
}


def _utf8(value: SecretStr) -> SecretStr:
    # a lone surrogate (JSON "\ud800") passes SecretStr but cannot be encoded, hence hashed
    try:
        value.get_secret_value().encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Password = Annotated[SecretStr, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH), AfterValidator(_utf8)]
"""A password in a request body: never shown by ``repr``; length policy applied by the service."""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class LoginCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse battery staple"}]
        },
    )

    email: str = Field(min_length=1, max_length=254, description="The account's e-mail address.")
    password: Password


class UserPublic(_Out):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_USER]})

    id: uuid.UUID
    email: str
    name: str
    is_system_admin: bool


class SessionPublic(_Out):
    """A new login session. The token is also set as the ``ias_session`` cookie (HttpOnly) next
    to the readable ``ias_csrf`` cookie; API clients send ``Authorization: Bearer <token>``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"token": "iass_3q2-7wE…", "expires_at": "2026-03-15T00:00:00Z", "user": _EXAMPLE_USER}
            ]
        }
    )

    token: str = Field(description="Session token (iass_…); shown once, stored only hashed.")
    expires_at: datetime
    user: UserPublic


class MembershipPublic(_Out):
    org_id: uuid.UUID
    org_name: str
    role: OrgRole
    joined_at: datetime


class MePublic(_Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user": _EXAMPLE_USER,
                    "is_system_admin": False,
                    "memberships": [
                        {
                            "org_id": "6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b",
                            "org_name": "acme",
                            "role": "org_admin",
                            "joined_at": "2026-01-02T10:00:00Z",
                        }
                    ],
                    "session_expires_at": "2026-03-15T00:00:00Z",
                }
            ]
        }
    )

    user: UserPublic
    is_system_admin: bool
    memberships: list[MembershipPublic]
    session_expires_at: datetime | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"current_password": "correct horse battery staple", "new_password": "a new, long passphrase"}
            ]
        },
    )

    current_password: Password
    new_password: Annotated[Password, Field(description="At least 12 characters, not your e-mail.")]


class PasswordChanged(_Out):
    sessions_revoked: int = Field(description="Other sessions of the user that were ended.")
