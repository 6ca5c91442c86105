from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.db import get_session
from app.settings import get_settings

# scope="function": the transaction commits before the response is sent, so a client never
# hears "created" about something a failed commit then lost. max_concurrency: requests wait
# (without a thread) for a database session rather than for a pooled connection.
SessionDep = Annotated[
    Session,
    Depends(
        get_session,
        scope="function",
        max_concurrency=get_settings().max_concurrent_sessions,
    ),
]
