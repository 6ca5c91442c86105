from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.orm import Session

from app.db import get_session

SessionDep = Annotated[Session, Depends(get_session)]


def get_actor(x_actor: Annotated[str | None, Header(max_length=200)] = None) -> str:
    return (x_actor or "").strip() or "anonymous"


ActorDep = Annotated[str, Depends(get_actor)]
