from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from app.enums import Role
from app.schemas.common import Id, Schema, SingleLine

TokenName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[\w.@ -]+$"),
    SingleLine,
]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TokenName
    role: Role
    user: TokenName | None = Field(
        default=None,
        description="The person (or machine account) the token belongs to; compared without "
        "case. Default: the token's name. Whoever asked for sign-off cannot give it under any "
        "token of the same user.",
    )
    owner_id: Id | None = None
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None


class TokenOut(Schema):
    id: int
    name: str
    role: Role
    user: str = Field(
        validation_alias=AliasChoices("user_name", "user"),
        description="The user the token belongs to, in lower case.",
    )
    created_by: str | None = Field(
        description="Who made the token: an admin's user name, or `command line (<os user>)`; "
        "null for tokens made before this was recorded."
    )
    owner_id: int | None
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. It is shown this once and cannot be recovered.")
