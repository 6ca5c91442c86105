from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, StringConstraints

from app.schemas.common import Schema, SingleLine

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SingleLine
]
TeamFilter = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), SingleLine]


class OwnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: EmailStr | None = None
    team: Name | None = None


class OwnerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: EmailStr | None = None
    team: Name | None = None


class OwnerOut(Schema):
    id: int
    name: str
    email: str | None
    team: str | None
    created_at: datetime
    updated_at: datetime
