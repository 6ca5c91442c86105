"""The problem+json bodies (RFC 9457) the service answers errors with, as OpenAPI schemas.

`Problem` is every error's shape; the others add the extension members some errors carry. Each
error class in `app.errors` names its schema (`problem_schema`); `app.api.openapi` documents
every operation's error responses with them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    # Problem types may carry extension members (RFC 9457 3.2).
    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="`urn:afi:problem:<slug>` naming the kind of problem, or `about:blank`."
    )
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    instance: str | None = None


class FieldError(BaseModel):
    """One invalid input."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    field: str = Field(description="The field or parameter, dotted for nested fields.")
    in_: str = Field(alias="in", description="Where it was: body, query, path or header.")
    message: str
    type: str = Field(description="What is wrong, e.g. `missing`, `string_too_long`.")


class ValidationProblem(Problem):
    """400 (malformed body) or 422 (invalid input): `errors` lists each invalid field."""

    errors: list[FieldError] | None = None
    field: str | None = Field(
        default=None, description="422 about one field found by the service: its name."
    )
    line: int | None = Field(default=None, description="An unreadable report: the line.")
    expected: str | None = Field(default=None, description="An unreadable report: what was due.")


class NotFoundProblem(Problem):
    """404."""

    missing: list[int] | None = Field(
        default=None, description="A bulk update: the ids that do not exist (nothing changed)."
    )


class ConflictProblem(Problem):
    """409: the change does not fit the item's current state."""

    current_status: str | None = Field(
        default=None, description="A refused status change: the action's status now."
    )
    allowed: list[str] | None = Field(
        default=None, description="A refused status change: the statuses it may move to."
    )
    evidence_id: int | None = Field(default=None, description="Evidence that cannot be removed.")
    action_status: str | None = Field(
        default=None, description="Evidence that cannot be removed: its action's status."
    )


class PreconditionFailedProblem(Problem):
    """412: `If-Match` does not name the current version."""

    current_etag: str | None = Field(
        default=None, description="The item's entity tag now (absent after a race)."
    )


class PayloadTooLargeProblem(Problem):
    """413: the body, a file or a report is larger than the service takes."""

    findings: int | None = Field(default=None, description="A report: its number of findings.")
    limit: int | None = Field(default=None, description="A report: the most one import takes.")


PROBLEM_SCHEMAS: tuple[type[Problem], ...] = (
    Problem,
    ValidationProblem,
    NotFoundProblem,
    ConflictProblem,
    PreconditionFailedProblem,
    PayloadTooLargeProblem,
)
