"""Rate limits per user and per client address on the doors that cost the most: login, Luna, ingest and
document uploads. Checked before the body is read, so a refused request costs no parsing; answered 429
with Retry-After and the usual ``{error, detail}``. The counts live in ``luna_core.ratelimit`` (Redis when
configured, so they hold across API processes)."""

from __future__ import annotations

from dataclasses import dataclass

import jwt
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from luna_core.auth.tokens import verify_access_token
from luna_core.ratelimit import Limited, RateLimiter
from luna_core.settings import Settings

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Door:
    scope: str
    path: str
    prefix: bool  # path is a prefix (``/ingest/``) rather than the exact path
    per_user: str
    per_address: str
    methods: frozenset[str] = WRITES

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and (path.startswith(self.path) if self.prefix else path == self.path)


def doors(settings: Settings) -> tuple[Door, ...]:
    """First match wins: uploads before the rest of /ingest/. Login's per-account limit needs the e-mail
    from the form, so the login route checks it itself (``luna_api.routers.auth``)."""
    return (
        Door("login", "/auth/token", False, "", settings.rate_limit_login_address),
        Door("ask", "/rag/ask", False, settings.rate_limit_ask_user, settings.rate_limit_ask_address),
        Door("upload", "/ingest/doc", False, settings.rate_limit_upload_user, settings.rate_limit_upload_address),
        Door("ingest", "/ingest/", True, settings.rate_limit_ingest_user, settings.rate_limit_ingest_address),
    )


def too_many(limited: Limited, who: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": "too_many_requests",
            "detail": f"rate limit of {limited.rule} {who} reached; retry in {limited.retry_after} s",
            "retry_after_seconds": limited.retry_after,
        },
        status_code=429,
        headers={"Retry-After": str(limited.retry_after)},
    )


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter, doors: tuple[Door, ...]) -> None:
        self.app = app
        self.limiter = limiter
        self.doors = doors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = next((d for d in self.doors if d.matches(scope.get("method", ""), scope.get("path", ""))), None)
        if scope["type"] != "http" or door is None:
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown",))[0]
        checks = [(door.per_address, f"address:{address}", "for this client address")]
        if door.per_user:
            user = await self._user(scope)
            if user is not None:  # no valid token: the route answers 401, the address limit still counts
                checks.insert(0, (door.per_user, f"user:{user}", "for this user"))
        for rule, who, wording in checks:
            if not rule:
                continue
            limited = await run_in_threadpool(self.limiter.hit, rule, door.scope, who)
            if limited is not None:
                await too_many(limited, wording)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _user(self, scope: Scope) -> str | None:
        """The caller's tenant/user from a token that verifies (a made-up token cannot spend another's quota)."""
        headers = dict(scope.get("headers") or [])
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        app_state = scope["app"].state
        verifier = app_state.oidc
        try:
            if verifier is not None and _issuer(token) == verifier.config.issuer:
                found = await run_in_threadpool(verifier.verify, token)
                return f"{found.tenant_id}/oidc:{found.subject}"
            principal = verify_access_token(token, app_state.jwt_key)
        except Exception:  # TokenError, OidcError, an unreachable IdP: not a user
            return None
        return f"{principal.tenant_id}/{principal.subject}"


def _issuer(token: str) -> str | None:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError:
        return None
