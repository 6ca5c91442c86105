"""The interactive docs in a real browser: headless Chromium (Debian's `chromium`, driven by
Playwright) opens /docs and /redoc on the service served by uvicorn on loopback.

Every request the pages make is recorded, and any to another host is refused before it leaves
(this machine may well have no internet: a page that needs one shows nothing). Console errors,
uncaught exceptions and Content-Security-Policy violations fail the test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests.conftest import ROOT
from tests.live_server import served

# Collects violations of the page's policy (set before any of the page's own scripts run).
_WATCH_POLICY = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
LOCAL_SCHEMES = ("blob", "data")


def _chromium() -> str:
    path = os.environ.get("AFI_TEST_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Chromium is needed for the docs' browser test and is not installed: "
            "apt-get install -y chromium (.ci/run installs it), or set AFI_TEST_CHROMIUM "
            "to a Chromium executable."
        )
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("docs")
    env = {
        **os.environ,
        # The docs read no table: a database the service never needs to migrate.
        "AFI_DATABASE_URL": f"sqlite:///{workdir / 'afi.db'}",
        "AFI_DATA_DIR": str(workdir / "data"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with served(env, workdir) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            yield browser
        finally:
            browser.close()


class Visit:
    """A page, with what it asked for and what went wrong in it."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context()
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.context.add_init_script(_WATCH_POLICY)
        self.page: Page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("blockedbyclient")

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"console {message.type}: {message.text}")

    def open(self, url: str) -> Page:
        self.page.goto(url)
        return self.page

    def check_nothing_went_wrong(self) -> None:
        # Whatever the page still had to fetch, fetched.
        self.page.wait_for_load_state("networkidle")
        violations = self.page.evaluate("window.__violations")
        self.context.close()
        outside = [
            url
            for url in self.requests
            if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).hostname != "127.0.0.1"
        ]
        assert outside == [] and self.refused == [], "requests to another host"
        assert violations == [], "Content-Security-Policy violations"
        assert self.errors == []


def _operations(base: str) -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every operation the API describes."""
    spec = httpx.get(f"{base}/openapi.json").json()
    return [
        (method.upper(), path, operation["operationId"])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_swagger_ui_renders_every_operation_from_this_host(server: str, browser: Browser) -> None:
    visit = Visit(browser)
    page = visit.open(f"{server}/docs")
    page.wait_for_selector(".opblock-get .opblock-summary-path[data-path='/api/v1/actions']")
    operations = _operations(server)
    assert page.locator(".opblock").count() == len(operations)
    assert "AFI Tracker" in page.locator(".info .title").inner_text()
    visit.check_nothing_went_wrong()
    assert f"{server}/openapi.json" in visit.requests
    assert any(url.startswith(f"{server}/docs/assets/") for url in visit.requests)


def test_redoc_renders_every_operation_from_this_host(server: str, browser: Browser) -> None:
    visit = Visit(browser)
    page = visit.open(f"{server}/redoc")
    operations = _operations(server)
    list_actions = next(
        op_id for method, path, op_id in operations if (method, path) == ("GET", "/api/v1/actions")
    )
    page.wait_for_selector(f"[data-section-id$='/operation/{list_actions}']")
    assert page.locator("h1").first.inner_text().startswith("AFI Tracker")
    rendered = page.locator("[data-section-id*='/operation/']").count()
    assert rendered == len(operations)
    visit.check_nothing_went_wrong()


def test_the_root_opens_the_docs(server: str, browser: Browser) -> None:
    visit = Visit(browser)
    page = visit.open(f"{server}/")
    page.wait_for_selector(".opblock")
    assert page.url == f"{server}/docs"
    visit.check_nothing_went_wrong()
