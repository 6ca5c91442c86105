from __future__ import annotations

from fastapi import APIRouter

from app.db import DatabaseDep
from app.schemas.health import HealthOut, ReadinessOut
from app.services import health

router = APIRouter(tags=["health"])


@router.get("/health")
async def get_health() -> HealthOut:
    """The process is up."""
    return HealthOut()


@router.get("/ready")
async def get_readiness(db: DatabaseDep) -> ReadinessOut:
    """The database answers and takes writes: 503 (with `Retry-After` and a `type` naming the
    cause) if it does not show that within AFI_READY_TIMEOUT_SECONDS."""
    await health.check_ready(db=db)
    return ReadinessOut()
