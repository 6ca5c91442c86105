"""The interactive docs' pages and assets, served from the package (the browser test,
tests/test_docs_browser.py, renders them)."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (directive.split() for directive in policy.split(";") if directive.strip())
    return {name: sources for name, *sources in parts}


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_root_redirects_to_the_docs(anonymous: TestClient) -> None:
    response = anonymous.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/docs"


def test_swagger_ui_loads_its_assets_from_this_host_only(anonymous: TestClient) -> None:
    response = anonymous.get("/docs")
    assert response.status_code == 200
    page = response.text
    assert re.findall(r'(?:src|href)="([^"]*)"', page) == [
        "/docs/assets/swagger-ui.css",
        "/docs/assets/favicon.png",
        "/docs/assets/swagger-ui-bundle.js",
    ]
    policy = _directives(response.headers["content-security-policy"])
    # The set-up script FastAPI writes inline runs by its hash; no other inline script does.
    [setup] = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert policy["script-src"] == ["'self'", _sha256(setup)]
    for directive in ("style-src", "font-src", "connect-src"):
        assert policy[directive] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["default-src"] == ["'none'"]


def test_redoc_loads_its_assets_from_this_host_only(anonymous: TestClient) -> None:
    response = anonymous.get("/redoc")
    assert response.status_code == 200
    assert "fonts.googleapis.com" not in response.text
    assert re.findall(r'(?:src|href)="([^"]*)"', response.text) == [
        "/docs/assets/favicon.png",
        "/docs/assets/redoc.standalone.js",
    ]
    policy = _directives(response.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["connect-src"] == ["'self'"]


def test_the_assets_are_served(anonymous: TestClient) -> None:
    for name, media_type in (
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui.css", "text/css"),
        ("redoc.standalone.js", "javascript"),
        ("favicon.png", "image/png"),
    ):
        response = anonymous.get(f"/docs/assets/{name}")
        assert response.status_code == 200, name
        assert media_type in response.headers["content-type"]
        assert "https:" not in response.headers["content-security-policy"]
    # ReDoc's logo would come from its maker's CDN: the script is served without that URL.
    assert "cdn.redoc.ly" not in anonymous.get("/docs/assets/redoc.standalone.js").text
    assert anonymous.get("/docs/assets/nothing.js").status_code == 404
