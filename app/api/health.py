from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import SessionDep
from app.errors import AppError

router = APIRouter(tags=["health"])


class NotReady(AppError):
    status_code = 503
    title = "Service unavailable"


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
def ready(session: SessionDep) -> dict[str, str]:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        raise NotReady("The database is not reachable.") from exc
    return {"status": "ready"}
