"""The interactive docs, Swagger UI at /docs and ReDoc at /redoc, served with their scripts from
the installed package `fastapi-offline` (Swagger UI 5 and ReDoc 2 bundles): no CDN, no font
service, nothing outside this host. `/` sends a browser to /docs.

Each page's policy (Content-Security-Policy) allows scripts, styles, images, fonts and fetches
from this host only, plus the page's own inline script and style by their hashes (FastAPI writes
Swagger UI's set-up inline); ReDoc's page also allows inline styles, which ReDoc writes as it
renders."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.api.links import reference
from app.api.security import docs_policy

# swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png.
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
ASSETS_PATH = "/docs/assets"
# ReDoc's side menu shows its maker's logo from their CDN, whatever the options: the script is
# served with an empty image in its place, so that the page asks nothing of another host.
_REDOC_LOGO = b'"https://cdn.redoc.ly/redoc/logo-mini.svg"'
_EMPTY_IMAGE = b"\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E\""
_INLINE = {
    "script-src": re.compile(r"<script>(.*?)</script>", re.DOTALL),
    "style-src": re.compile(r"<style>(.*?)</style>", re.DOTALL),
}

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def _with_policy(page: HTMLResponse, **more: list[str]) -> HTMLResponse:
    """`page` with a policy that allows its inline scripts and styles by their hashes, or the
    sources in `more` instead (by directive: `style_src=["'unsafe-inline'"]`)."""
    body = bytes(page.body).decode()
    sources = {
        name: [_hash(text) for text in regex.findall(body)] for name, regex in _INLINE.items()
    }
    for name, extra in more.items():
        sources[name.replace("_", "-")] = extra
    page.headers["Content-Security-Policy"] = docs_policy(sources=sources)
    return page


@lru_cache(maxsize=1)
def _redoc_script() -> bytes:
    script = (ASSETS_DIR / "redoc.standalone.js").read_bytes()
    if script.count(_REDOC_LOGO) != 1:
        raise RuntimeError("redoc.standalone.js: its logo's URL is not where it was expected")
    return script.replace(_REDOC_LOGO, _EMPTY_IMAGE)


@router.get("/")
def home(request: Request) -> RedirectResponse:
    """The interactive docs."""
    return RedirectResponse(reference(request, "/docs"), status_code=307)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI, with its scripts from this host."""
    root = _root(request)
    return _with_policy(
        get_swagger_ui_html(
            openapi_url=f"{root}{request.app.openapi_url}",
            title=f"{request.app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=request.app.swagger_ui_parameters,
        )
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc, with its script from this host and the system's fonts."""
    root = _root(request)
    # ReDoc writes its styles into <style> elements as it loads and renders (styled-components),
    # some before any nonce could reach them: its page allows inline styles (scripts stay 'self'
    # only), and the worker its search runs in, which it makes from a blob.
    return _with_policy(
        get_redoc_html(
            openapi_url=f"{root}{request.app.openapi_url}",
            title=f"{request.app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        ),
        style_src=["'unsafe-inline'"],
        worker_src=["blob:"],
    )


@router.get(f"{ASSETS_PATH}/redoc.standalone.js")
def redoc_script() -> Response:
    """ReDoc's script, with an empty image for its logo."""
    return Response(_redoc_script(), media_type="text/javascript; charset=utf-8")


def install(app: FastAPI) -> None:
    """The pages and their assets (the app is made with docs_url=None, redoc_url=None)."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
