"""A real server for the fault-injection tests: uvicorn in a process of its own, on its own
database, with its log in a file the test reads."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT

URN = "urn:afi:problem:"


def prepare(database_url: str) -> str:
    """The schema made and an admin token created (in this process: quicker than the command
    line); returns the token."""
    from sqlalchemy.orm import Session

    from app import migrate
    from app.db import make_engine
    from app.enums import Role
    from app.services.tokens import create_token

    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            _token, secret = create_token(
                session=session, name="faults", role=Role.ADMIN, owner_id=None
            )
    finally:
        engine.dispose()
    return secret


def server_env(database_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "AFI_DATABASE_URL": database_url,
        "AFI_SEEDS_DIR": str(ROOT / "seeds"),
        "AFI_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    env.update({f"AFI_{name.upper()}": value for name, value in settings.items()})
    return env


def until(check: Callable[[], Any], *, seconds: float, what: str) -> Any:
    """Poll `check` (a request or a command: it takes its own time) until it returns something
    true, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")


def assert_unavailable(response: httpx.Response, *slugs: str) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    body: dict[str, Any] = response.json()
    assert body["status"] == 503 and body["type"] in {URN + slug for slug in slugs}, body
    return body
