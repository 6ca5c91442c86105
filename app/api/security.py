"""Security headers on every response (a plain ASGI middleware: it must stay cheap)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.route_table import route_path

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# The API serves data, never pages: nothing in a response may run or be framed.
_API_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# The interactive docs (app.api.docs) run Swagger UI and ReDoc from this host's own assets:
# everything from 'self' and nothing from anywhere else. Their pages add the hashes of their
# inline scripts and styles; the assets under /docs/assets get the policy without any.
_DOCS_DIRECTIVES = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
}


def docs_policy(*, sources: dict[str, list[str]]) -> str:
    """The docs pages' policy with these sources ("'sha256-…'", "'unsafe-inline'", "blob:")
    allowed by directive (script-src, style-src, worker-src...) besides 'self'."""
    directives = dict(_DOCS_DIRECTIVES)
    for name, extra in sources.items():
        if extra:
            directives[name] = " ".join([directives.get(name, "'self'"), *extra])
    return "; ".join(f"{name} {value}" for name, value in directives.items())


_DOCS_POLICY = (b"content-security-policy", docs_policy(sources={}).encode())
_DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Without any root path the service is mounted under, as the routes see it.
        path = route_path(scope)
        policy = _DOCS_POLICY if path.startswith(_DOCS_PATHS) else _API_POLICY
        private = path.startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in (*_ALWAYS, policy) if h[0] not in present)
                if private and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
