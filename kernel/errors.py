"""One exception hierarchy for every package.

portal/ maps these, in one place, to RFC 9457 ``application/problem+json`` (API) and to HTML error
pages (web). Domain code raises them; it never builds HTTP responses.
"""

from __future__ import annotations

from typing import Any


class CityGovError(Exception):
    """Base of every expected error. ``status`` is the HTTP status the portal answers with."""

    status: int = 400
    code: str = "error"
    title: str = "Request failed"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        self.detail = detail or self.title
        self.errors = list(errors or [])
        self.extra = extra
        super().__init__(self.detail)

    def to_problem(self) -> dict[str, Any]:
        """The RFC 9457 members of this error (``type`` is filled in by the portal)."""
        body: dict[str, Any] = {"title": self.title, "status": self.status, "detail": self.detail, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(CityGovError):
    status, code, title = 400, "bad_request", "Bad request"


class NotAuthenticated(CityGovError):
    status, code, title = 401, "not_authenticated", "Authentication required"


class NotAuthorized(CityGovError):
    status, code, title = 403, "not_authorized", "Not authorised"


class NotFound(CityGovError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(CityGovError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(CityGovError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(CityGovError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ValidationFailed(CityGovError):
    """Input does not satisfy its schema or rules. ``errors`` lists ``{"field"/"pointer", "message"}``."""

    status, code, title = 422, "validation_failed", "Validation failed"


class TooManyRequests(CityGovError):
    status, code, title = 429, "too_many_requests", "Too many requests"
