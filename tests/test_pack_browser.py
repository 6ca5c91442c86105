"""The committee pack's page in a real browser: headless Chromium (Debian's, driven by
Playwright) opens the page, draws its charts, and prints it to PDF: first as the renderer makes
it (served with the policy header the service sends), then from the service itself, run by
uvicorn on a seeded database. The page may fetch nothing: every other request is refused and
fails the test; so do console errors and policy violations."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from app.services.pack_html import CONTENT_SECURITY_POLICY, MEDIA_TYPE, render_html
from tests.conftest import ROOT
from tests.live_server import served
from tests.pack_sample import HOSTILE, sample_pack
from tests.test_docs_browser import _WATCH_POLICY, _chromium

URL = "http://127.0.0.1/api/v1/pack.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium())
        try:
            yield browser
        finally:
            browser.close()


class Opened:
    """The page served at URL, with every request it made and whatever went wrong."""

    def __init__(self, browser: Browser, body: str) -> None:
        self.context = browser.new_context()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.body = body
        self.context.route("**/*", self._route)
        self.context.add_init_script(_WATCH_POLICY)
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda message: self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(URL, wait_until="load")

    def _route(self, route: Route) -> None:
        self.requests.append(route.request.url)
        if route.request.url != URL:
            route.abort("blockedbyclient")
            return
        route.fulfill(
            status=200,
            body=self.body,
            headers={
                "Content-Type": MEDIA_TYPE,
                "Content-Security-Policy": f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'",
            },
        )

    def violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__violations")
        return found


def test_the_page_draws_its_charts_with_its_own_style_and_nothing_else(browser: Browser) -> None:
    opened = Opened(browser, render_html(sample_pack()))
    page = opened.page
    charts = page.locator("svg[role=img]")
    assert charts.count() == 3
    for index in range(3):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
        assert charts.nth(index).locator("rect").count() > 0
    # The stylesheet was let through by its hash: its rules apply.
    assert page.eval_on_selector("h2", "e => getComputedStyle(e).borderBottomWidth") == "2px"
    assert page.eval_on_selector("table.fixed", "e => getComputedStyle(e).tableLayout") == "fixed"
    # A hostile title is text on the page, never markup.
    assert page.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
    assert HOSTILE in page.locator("table.fixed").first.inner_text()
    assert opened.requests == [URL]
    assert opened.violations() == []
    assert opened.errors == []
    opened.context.close()


def test_the_page_prints_to_pdf_each_section_on_a_new_page(browser: Browser) -> None:
    opened = Opened(browser, render_html(sample_pack()))
    page = opened.page
    page.emulate_media(media="print")
    breaks = page.eval_on_selector_all(
        "section.new-page", "sections => sections.map(s => getComputedStyle(s).breakBefore)"
    )
    assert breaks == ["page", "page"]
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF-")
    # Summary and figures, then the items and the changes each from a new page.
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages >= 3
    assert opened.requests == [URL]
    assert opened.violations() == [] and opened.errors == []
    opened.context.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The service on a database seeded by `afi seed`; yields its URL and a viewer token."""
    workdir = tmp_path_factory.mktemp("pack")
    env = {
        **os.environ,
        "AFI_DATABASE_URL": f"sqlite:///{workdir / 'afi.db'}",
        "AFI_DATA_DIR": str(workdir / "data"),
        "AFI_SEEDS_DIR": str(ROOT / "seeds"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }

    def afi(*arguments: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *arguments],
            env=env, cwd=workdir, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    afi("seed")
    token = afi("token", "create", "--name", "committee", "--role", "viewer")
    with served(env, workdir) as base:
        yield base, token


def test_the_served_page_renders_and_prints(browser: Browser, service: tuple[str, str]) -> None:
    base, token = service
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"})
    requests: list[str] = []

    def route(route: Route) -> None:
        requests.append(route.request.url)
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", route)
    context.add_init_script(_WATCH_POLICY)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    url = f"{base}/api/v1/pack.html?force=Cumbria"
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"].startswith(CONTENT_SECURITY_POLICY)
    charts = page.locator("svg[role=img]")
    assert charts.count() == 3
    assert all((charts.nth(i).bounding_box() or {}).get("width", 0) > 300 for i in range(3))
    listed = httpx.get(
        f"{base}/api/v1/actions?force=Cumbria&count=true&limit=1",
        headers={"Authorization": f"Bearer {token}"},
    ).json()["total"]
    assert listed > 0
    assert page.locator("h2#items-heading").inner_text() == f"Items ({listed})"
    assert page.eval_on_selector("h2", "e => getComputedStyle(e).borderBottomWidth") == "2px"
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 3
    assert requests == [url]
    assert page.evaluate("window.__violations") == [] and errors == []
    context.close()
