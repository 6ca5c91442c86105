"""The one error hierarchy of the service; `app.api.problems` maps it to problem+json.

Each class publishes its HTTP status, the problem schema its body follows (a model of
`app.schemas.problems`) and what the status means, for the OpenAPI document (`app.api.openapi`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base class: every error the service raises on purpose carries its HTTP status."""

    status_code = 400
    title = "Bad request"
    problem_schema: ClassVar[str] = "Problem"
    meaning: ClassVar[str] = "The request cannot be served as it is."

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
    problem_schema = "Problem"
    meaning = (
        "No valid token: none sent (and reads are not public), or one unknown, revoked or "
        "expired. `WWW-Authenticate` names the scheme."
    )

    def __init__(self, detail: str, *, error: str | None = None) -> None:
        challenge = f'Bearer realm="afi", error="{error}"' if error else 'Bearer realm="afi"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(AppError):
    status_code = 403
    title = "Forbidden"
    problem_schema = "Problem"
    meaning = "The token's role does not allow this."


class SeparationOfDuties(Forbidden):
    """403: the person who asked for a sign-off cannot give (or refuse) it, under any token."""

    title = "Separation of duties"


class TooManyRequests(AppError):
    status_code = 429
    title = "Too many requests"
    problem_schema = "Problem"
    meaning = "Too many failed authentications from this address; wait `Retry-After` seconds."


class NotFound(AppError):
    status_code = 404
    title = "Not found"
    problem_schema = "NotFoundProblem"
    meaning = "Nothing with that id."


class Conflict(AppError):
    status_code = 409
    title = "Conflict"
    problem_schema = "ConflictProblem"
    meaning = (
        "The change does not fit the item's current state, or clashed with a change made at "
        "the same time; read it again."
    )


class PreconditionFailed(AppError):
    status_code = 412
    title = "Precondition failed"
    problem_schema = "PreconditionFailedProblem"
    meaning = "`If-Match` does not name the current version; read it again."


class StaleVersion(PreconditionFailed):
    """412 from a service: the action is no longer at a version the client expected. It
    carries the version it is at; the API words the answer, naming that version by its entity
    tag (`app.api.problems`), as tags are HTTP's business, not the services'."""

    def __init__(self, *, action_id: int, reference: str, version: int) -> None:
        super().__init__(f"Action {reference} has changed since you read it.")
        self.action_id = action_id
        self.reference = reference
        self.version = version


class PayloadTooLarge(AppError):
    status_code = 413
    title = "Payload too large"
    problem_schema = "PayloadTooLargeProblem"
    meaning = "The body is larger than the service takes."


class UnsupportedMediaType(AppError):
    status_code = 415
    title = "Unsupported media type"
    problem_schema = "Problem"
    meaning = "The body is not in a media type this operation takes."


class ServiceUnavailable(AppError):
    status_code = 503
    title = "Service unavailable"
    problem_schema = "Problem"
    meaning = "The database is busy or unreachable; retry after `Retry-After` seconds."


class InvalidInput(AppError):
    """422. With `field`, shaped like FastAPI's request-validation problems: the field is named
    in `field` and in an `errors` list, so a client reads every 422 the same way."""

    status_code = 422
    title = "Invalid input"
    problem_schema = "ValidationProblem"
    meaning = "A parameter or the body is invalid; `errors` names each field."

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
    problem_schema = "Problem"
    meaning = "The disk the service stores files on is full; nothing was stored. Retry later."
