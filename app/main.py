"""The ASGI application."""

from __future__ import annotations

import gc
import sys

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import access_log
from app.api import (
    action_list,
    actions,
    docs,
    events,
    evidence,
    health,
    openapi,
    over_time,
    overdue,
    owners,
    pack,
    problems,
    reports,
    route_table,
    stats,
    tokens,
    webhooks,
)
from app.api.auth import FailedAttempts, get_feed_principal, get_principal, require
from app.api.limits import BodySizeLimitMiddleware
from app.api.security import SecurityHeadersMiddleware
from app.enums import Role
from app.settings import get_settings

# A thread that wants the GIL waits up to this long for the one holding it. Reads run in worker
# threads; with a stats query or an export busy in one, a cheap request needs the GIL several
# times on its way through, and each wait adds up: 1 ms (not Python's 5) keeps its latency low.
GIL_SWITCH_INTERVAL = 0.001


def create_app() -> FastAPI:
    settings = get_settings()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    access_log.install()
    app = FastAPI(
        title="AFI Tracker",
        version="0.1.0",
        summary="Follow up inspection findings: owners, status, due dates and evidence.",
        # A redirect would name this host from the request's Host header; paths are exact.
        redirect_slashes=False,
        # Served by app.api.docs from the package's own copies of Swagger UI and ReDoc.
        docs_url=None,
        redoc_url=None,
        # operationIds from the route functions' names: listActions, transitionAction...
        generate_unique_id_function=openapi.operation_id,
    )
    app.state.failed_attempts = FailedAttempts()
    problems.install(app)
    # OPTIONS and HEAD from the route table; inside CORS, which answers pre-flight requests.
    app.add_middleware(route_table.MethodsMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    # Outermost, so that pre-flight requests are answered before anything asks for a token.
    # Only when origins are configured: with none there is nothing to allow.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Accept"],
            expose_headers=["ETag", "Location", "Link", "Content-Disposition", "Retry-After"],
            max_age=600,
        )
    app.include_router(health.router)
    # Every API route needs at least the viewer role (get_principal refuses anyone less);
    # writes ask for more in their signature.
    readers = [Depends(get_principal)]
    # Routes are matched in the order they are added: the action list, the busiest, first.
    # Ids in paths are integers at routing, so /actions/overdue-summary is not an action id.
    modules = (action_list, stats, reports, overdue, actions, evidence, owners, over_time, pack)
    for module in (*modules, events):
        app.include_router(module.router, dependencies=readers)
    app.include_router(
        overdue.calendar_router,
        dependencies=[Depends(require(Role.VIEWER, source=get_feed_principal))],
    )
    app.include_router(tokens.router)
    app.include_router(webhooks.router)
    docs.install(app)
    route_table.install(app)
    openapi.install(app)
    return app


app = create_app()

# What is made by now (modules, models, routes, compiled statements) lives as long as the
# process: kept out of the garbage collector's sight, so that a full collection walks only what
# requests made. A CSV export or a large stats answer brings one on every second or two; walking
# everything, each held the event loop (and /health) up for 70 to 90 ms, measured on SQLite 1M.
gc.collect()
gc.freeze()
