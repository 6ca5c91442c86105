"""The problem+json bodies (RFC 9457) the service answers errors with, as OpenAPI schemas.

`Problem` is every error's shape; the others add the extension members some errors carry. A
member that does not apply is left out, never sent as null. Each
error class in `app.errors` names its schema (`problem_schema`); `app.api.openapi` documents
every operation's error responses with them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.enums import ActionStatus
from app.schemas.common import optional_not_null


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    # Problem types may carry extension members (RFC 9457 3.2).
    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="`urn:afi:problem:<slug>` naming the kind of problem, or `about:blank`."
    )
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = optional_not_null()
    instance: str | None = optional_not_null()


class FieldError(BaseModel):
    """One invalid input."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    field: str = Field(description="The field or parameter, dotted for nested fields.")
    in_: str = Field(alias="in", description="Where it was: body, query, path or header.")
    message: str
    type: str = Field(description="What is wrong, e.g. `missing`, `string_too_long`.")


class ValidationProblem(Problem):
    """400 (malformed body) or 422 (invalid input): `errors` lists each invalid field."""

    errors: list[FieldError] | None = optional_not_null()
    field: str | None = optional_not_null("422 about one field found by the service: its name.")
    line: int | None = optional_not_null("An unreadable report: the line.")
    expected: str | None = optional_not_null("An unreadable report: what was due.")


class NotFoundProblem(Problem):
    """404."""

    missing: list[int] | None = optional_not_null(
        "A bulk update: the ids that do not exist (nothing changed)."
    )


class ConflictProblem(Problem):
    """409: the change does not fit the item's current state."""

    current_status: ActionStatus | None = optional_not_null(
        "A refused status change: the action's status now."
    )
    allowed: list[ActionStatus] | None = optional_not_null(
        "A refused status change: the statuses it may move to."
    )
    evidence_id: int | None = optional_not_null("Evidence that cannot be removed.")
    action_status: ActionStatus | None = optional_not_null(
        "Evidence that cannot be removed: its action's status."
    )


class PreconditionFailedProblem(Problem):
    """412: `If-Match` does not name the current version."""

    current_etag: str | None = optional_not_null("The item's entity tag now (absent after a race).")


class PayloadTooLargeProblem(Problem):
    """413: the body, a file or a report is larger than the service takes."""

    findings: int | None = optional_not_null("A report: its number of findings.")
    limit: int | None = optional_not_null("A report: the most one import takes.")


PROBLEM_SCHEMAS: tuple[type[Problem], ...] = (
    Problem,
    ValidationProblem,
    NotFoundProblem,
    ConflictProblem,
    PreconditionFailedProblem,
    PayloadTooLargeProblem,
)
