"""Security headers on every response (dashboard, API, docs): a Content-Security-Policy without
'unsafe-inline' or 'unsafe-eval' for scripts, no framing (frame-ancestors 'none' and X-Frame-Options DENY
for older browsers), nosniff, no referrer, and HSTS when the request came over HTTPS. A route that needs
another policy (Swagger UI's OAuth2 redirect page) sets its own Content-Security-Policy, which is kept."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The built dashboard loads only its own hashed scripts and stylesheets (Vite emits no inline script);
# style-src has no 'unsafe-inline' either: React and uPlot set styles through the CSSOM, which CSP allows.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# Token answers must never be cached (RFC 6749 5.1); nor anything else under /auth.
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(HEADERS)
        if scope.get("scheme") == "https":
            extra.append(HSTS)
        if scope["path"].startswith("/auth/"):
            extra.append(NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
