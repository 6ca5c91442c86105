"""The ASGI application."""

from __future__ import annotations

from fastapi import FastAPI

from app.api import actions, health, problems, reports
from app.api.limits import BodySizeLimitMiddleware
from app.settings import get_settings


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="AFI Tracker",
        version="0.1.0",
        summary="Follow up inspection findings: owners, status, due dates and evidence.",
    )
    problems.install(app)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.include_router(health.router)
    app.include_router(reports.router)
    app.include_router(actions.router)
    return app


app = create_app()
