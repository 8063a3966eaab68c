"""Typed errors raised by the service layer. The API maps them to HTTP status codes,
the CLI to one line and a non-zero exit. Every error has a stable code, a message and
optional details naming the offending field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class TrailbookError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init__(self, message: str, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole (worker processes send errors back), details included.
        return (self.__class__, (self.message, self.details))

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [d.as_dict() for d in self.details],
            }
        }

    def one_line(self) -> str:
        if not self.details:
            return self.message
        parts = "; ".join(f"{d.field}: {d.reason}" for d in self.details)
        return f"{self.message} ({parts})"


class ValidationFailed(TrailbookError):
    """The caller sent something that breaks the rules."""

    code = "validation_failed"
    status = 422


class QuerySyntaxError(TrailbookError):
    """A search query that does not parse: says where (``position``, 1-based) and what
    was expected there."""

    code = "query_syntax"
    status = 400

    def __init__(self, message: str, details: list[ErrorDetail] | None = None,
                 position: int = 0) -> None:
        super().__init__(message, details)
        self.position = position

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.message, self.details, self.position))

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        out["error"]["position"] = self.position
        return out


class MalformedRequest(TrailbookError):
    """The request could not be read at all: bad JSON, bad cursor."""

    code = "malformed_request"
    status = 400


class PayloadTooLarge(TrailbookError):
    code = "payload_too_large"
    status = 413


class Unauthenticated(TrailbookError):
    code = "unauthenticated"
    status = 401


class Forbidden(TrailbookError):
    """The caller is known but may not do this; ``permission`` names what they lack."""

    code = "forbidden"
    status = 403

    def __init__(self, message: str, details: list[ErrorDetail] | None = None,
                 permission: str | None = None) -> None:
        super().__init__(message, details)
        self.permission = permission

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.message, self.details, self.permission))


class RateLimited(TrailbookError):
    """Too many attempts: try again after ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, details: list[ErrorDetail] | None = None,
                 retry_after: int = 1) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.message, self.details, self.retry_after))


class NotFound(TrailbookError):
    code = "not_found"
    status = 404


class Conflict(TrailbookError):
    code = "conflict"
    status = 409


class IntegrityFailure(TrailbookError):
    """Stored data is not what its chain says: it was altered."""

    code = "integrity_failure"
    status = 409


class StorageError(TrailbookError):
    """The store cannot serve: unreachable, or a schema this code does not know."""

    code = "storage_unavailable"
    status = 503


def field_error(field_name: str, reason: str, *, message: str | None = None) -> ValidationFailed:
    return ValidationFailed(message or f"invalid {field_name}", [ErrorDetail(field_name, reason)])


def idempotency_conflict(key: str) -> Conflict:
    return Conflict(
        "this idempotency key was used before for a different event",
        [ErrorDetail("idempotency_key", f"{key!r} already names another event")],
    )
