"""The answers of `/health` and `/ready` (their failures are problems, `app.schemas.problems`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthOut(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class ReadinessOut(BaseModel):
    """The database answers and takes writes."""

    status: Literal["ready"] = "ready"
