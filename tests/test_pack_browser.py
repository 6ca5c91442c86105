"""The committee pack's page in a real browser: headless Chromium (Debian's, driven by
Playwright) opens the page as the service sends it (its Content-Security-Policy header too),
draws its charts, and prints it to PDF. The page may fetch nothing: every other request is
refused and fails the test; so do console errors and policy violations."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from app.services.pack_html import CONTENT_SECURITY_POLICY, MEDIA_TYPE, render_html
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
