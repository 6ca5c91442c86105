from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.services import health

router = APIRouter(tags=["health"])


@router.get("/health")
async def health_check() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
def ready(session: SessionDep) -> dict[str, str]:
    """The database answers."""
    health.check_database(session=session)
    return {"status": "ready"}
