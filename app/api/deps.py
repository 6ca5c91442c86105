from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.db import get_read_session, get_session
from app.settings import get_settings

_settings = get_settings()

# scope="function": the transaction commits before the response is sent, so a client never
# hears "created" about something a failed commit then lost. max_concurrency: requests wait
# (without a thread) for a database session rather than for a pooled connection.
_session = Depends(get_session, scope="function", max_concurrency=_settings.max_concurrent_sessions)
SessionDep = Annotated[Session, _session]

# For routes that only read. On SQLite a read runs on the event loop and the pool never makes
# anyone wait, so a plain dependency does: no queue, nothing to commit before the response.
# On PostgreSQL a read holds a pooled connection in a worker thread, so it queues with the rest
# (the same Depends object, so the same queue).
_read_session = (
    Depends(get_read_session) if _settings.database_url.startswith("sqlite") else _session
)
ReadSessionDep = Annotated[Session, _read_session]
