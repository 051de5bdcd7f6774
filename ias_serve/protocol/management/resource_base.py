"""What the resource wire formats (orgs, keys, budgets, models, audit) share.

* :class:`WriteBody` — request bodies of writes: unknown fields refused (``extra="forbid"``).
* :class:`PublicModel` — responses: fields with defaults are still always present, and the
  schema says so (``json_schema_serialization_defaults_required``).
* :class:`ErrorPublic` and :func:`error_responses` — the ``{"error": {"code", "message",
  "details"}}`` body every refusal of ``/api`` carries, for the OpenAPI documentation.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from ias_serve.domain.paging import DEFAULT_LIMIT, MAX_LIMIT

# a display name: at least one visible character, no control characters (what clean_name accepts)
NAME_PATTERN: Final = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
NAME_MAX: Final = 200

Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN)]

NEXT_CURSOR_DOC: Final = (
    "Opaque cursor of the next page: pass it back as `cursor`; null on the last page. "
    f"Pages hold `limit` rows (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."
)


class WriteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublicModel(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_serialization_defaults_required=True)


class ErrorInfo(BaseModel):
    code: str = Field(description="Machine-readable error code.", examples=["conflict"])
    message: str = Field(examples=["an organisation with this name already exists"])
    details: Any = Field(
        default=None, description="Optional: e.g. every invalid field of a request body (loc, msg, type)."
    )


class ErrorPublic(BaseModel):
    """The body of every refusal of the management API."""

    error: ErrorInfo


_DEFAULT_DOC: Final = {
    400: "Malformed request: bad JSON, unknown or invalid fields, bad query parameters.",
    401: "No valid session (missing, unknown, expired or revoked).",
    403: "Not allowed for the caller's role (see shared/PERMISSIONS.md).",
    404: "No such resource, or not visible to the caller (another organisation's).",
    409: "Conflicts with the current state (duplicate name, already revoked, ...).",
    422: "Well-formed but not acceptable (value out of range, contradicting fields).",
    503: "A backing store is unavailable.",
}


def error_responses(*statuses: int, **docs: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: each status with :class:`ErrorPublic` and a description
    (``docs``: ``s404="..."`` overrides the default text of 404)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({400, 401, 422, *statuses}):
        out[status] = {"model": ErrorPublic, "description": docs.get(f"s{status}", _DEFAULT_DOC[status])}
    return out
