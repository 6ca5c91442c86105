from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from app.schemas.common import Schema, SingleLine, not_null, optional_not_null

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SingleLine
]
TeamFilter = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SingleLine]


class OwnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: EmailStr | None = None
    team: Name | None = None
    digest_opt_out: StrictBool = Field(
        default=False, description="true: no daily e-mail digest for this owner."
    )


class OwnerUpdate(BaseModel):
    """Only the fields sent are changed; `null` clears email or team (not the name)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = optional_not_null()  # sent as null: refused (422)
    email: EmailStr | None = None
    team: Name | None = None
    digest_opt_out: StrictBool | None = optional_not_null()

    _not_null = field_validator("name", "digest_opt_out")(not_null)


class OwnerOut(Schema):
    id: int
    name: str
    email: str | None
    team: str | None
    digest_opt_out: bool
    created_at: datetime
    updated_at: datetime
