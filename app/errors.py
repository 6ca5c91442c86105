"""The one error hierarchy of the service; `app.api.problems` maps it to problem+json."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base class: every error the service raises on purpose carries its HTTP status."""

    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.extra = extra

    @property
    def type_slug(self) -> str:
        return self.title.lower().replace(" ", "-")


class Unauthorized(AppError):
    status_code = 401
    title = "Unauthorized"

    def __init__(self, detail: str, *, error: str | None = None) -> None:
        challenge = f'Bearer realm="afi", error="{error}"' if error else 'Bearer realm="afi"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(AppError):
    status_code = 403
    title = "Forbidden"


class SeparationOfDuties(Forbidden):
    """403: the person who asked for a sign-off cannot give (or refuse) it, under any token."""

    title = "Separation of duties"


class TooManyRequests(AppError):
    status_code = 429
    title = "Too many requests"


class NotFound(AppError):
    status_code = 404
    title = "Not found"


class Conflict(AppError):
    status_code = 409
    title = "Conflict"


class PreconditionFailed(AppError):
    status_code = 412
    title = "Precondition failed"


class PayloadTooLarge(AppError):
    status_code = 413
    title = "Payload too large"


class UnsupportedMediaType(AppError):
    status_code = 415
    title = "Unsupported media type"


class ServiceUnavailable(AppError):
    status_code = 503
    title = "Service unavailable"


class InvalidInput(AppError):
    """422. With `field`, shaped like FastAPI's request-validation problems: the field is named
    in `field` and in an `errors` list, so a client reads every 422 the same way."""

    status_code = 422
    title = "Invalid input"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        location: str = "body",
        message: str | None = None,
        error_type: str = "value_error",
        **extra: Any,
    ) -> None:
        if field is not None:
            error = {"field": field, "in": location, "message": message or detail}
            extra.update(field=field, errors=[{**error, "type": error_type}])
        super().__init__(detail, **extra)


class ParseError(InvalidInput):
    """Report text that cannot be read as a report; names what was expected and where."""

    title = "Unparseable report"

    def __init__(self, *, expected: str, line: int, found: str | None = None) -> None:
        where = f"line {line}"
        detail = f"Expected {expected} at {where}"
        if found:
            detail += f", found {found!r}"
        super().__init__(detail, line=line, expected=expected)
        self.line = line
        self.expected = expected


class DatabaseFault(ServiceUnavailable):
    """503 for a state of the database (unreachable, read-only, full, slow, busy): `type` names
    the cause (`database-unavailable`, ...), `Retry-After` says when to try again."""

    def __init__(self, detail: str, *, slug: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self._slug = slug

    @property
    def type_slug(self) -> str:
        return self._slug


class InsufficientStorage(AppError):
    """507: the disk (or quota) the service stores files on is full; nothing was stored."""

    status_code = 507
    title = "Insufficient storage"
