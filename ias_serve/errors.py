"""One exception hierarchy for the whole library.

Every error knows its HTTP status, a machine-readable ``code`` and an OpenAI error ``type``.
Two renderings exist, one per API surface:

* ``/v1`` (OpenAI-compatible): ``{"error": {"message", "type", "param", "code"}}``
* ``/api`` and ``/analytics`` (management): ``{"error": {"code", "message"}}``, plus
  ``"details"`` when the error carries them (e.g. every invalid field of a request body)
"""

from __future__ import annotations

from typing import Any, ClassVar


class IASError(Exception):
    """Base of every error the library raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    openai_type: ClassVar[str] = "server_error"

    def __init__(
        self, message: str, *, param: str | None = None, code: str | None = None, details: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.details = details
        self.headers: dict[str, str] | None = None  # extra response headers (e.g. Retry-After)
        if code is not None:
            # per-instance code override (e.g. "invalid_api_key" vs "session_expired")
            self.code = code  # type: ignore[misc]

    def openai_body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.openai_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def rest_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class BadRequest(IASError):
    status = 400
    code = "bad_request"
    openai_type = "invalid_request_error"


class ValidationFailed(BadRequest):
    status = 422
    code = "validation_error"


class Unauthenticated(IASError):
    status = 401
    code = "unauthenticated"
    openai_type = "invalid_request_error"


class InvalidApiKey(Unauthenticated):
    code = "invalid_api_key"


class PermissionDenied(IASError):
    status = 403
    code = "permission_denied"
    openai_type = "invalid_request_error"


class NotFound(IASError):
    status = 404
    code = "not_found"
    openai_type = "invalid_request_error"


class ModelNotFound(NotFound):
    code = "model_not_found"


class Conflict(IASError):
    status = 409
    code = "conflict"
    openai_type = "invalid_request_error"


class BudgetExceeded(IASError):
    status = 429
    code = "insufficient_quota"
    openai_type = "insufficient_quota"


class RateLimited(IASError):
    status = 429
    code = "rate_limit_exceeded"
    openai_type = "rate_limit_error"


class UpstreamError(IASError):
    status = 502
    code = "upstream_error"
    openai_type = "server_error"


class ServiceUnavailable(IASError):
    status = 503
    code = "service_unavailable"
    openai_type = "server_error"


class ConfigurationError(IASError):
    """Bad settings or environment (raised by `ias up`, builders); not an HTTP error."""

    code = "configuration_error"
