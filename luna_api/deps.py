"""Dependencies: settings, the caller (from the token only), their tenant, and a database
connection inside that tenant's transaction, so row-level security backs every query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from typing import Annotated, Any

import jwt
import structlog
from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Connection, Engine

from luna_api.errors import ApiError
from luna_core import audit
from luna_core.auth.tokens import Principal, TokenError, verify_access_token
from luna_core.db.tenancy import InvalidTenantId, tenant_scope, validate_tenant_id
from luna_core.settings import Settings
from luna_core.tenants import TenantError, fetch_tenant

bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def get_principal(request: Request, token: Annotated[str | None, Depends(bearer)]) -> Principal:
    if not token:
        raise _unauthorized("not authenticated: send Authorization: Bearer <token>")
    settings: Settings = request.app.state.settings
    verifier = request.app.state.oidc
    # The unverified issuer only picks the verifier; the chosen one checks everything.
    if verifier is not None and _issuer(token) == settings.oidc_issuer:
        # May fetch the IdP's keys: off the event loop.
        return await run_in_threadpool(_oidc_principal, verifier, token)
    try:
        return verify_access_token(token, request.app.state.jwt_key)
    except TokenError as error:
        raise _unauthorized(str(error)) from None


def _issuer(token: str) -> str | None:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError:
        return None


def _oidc_principal(verifier, token: str) -> Principal:
    from luna_core.auth.oidc import OidcError, OidcUnavailable

    try:
        found = verifier.verify(token)
    except OidcUnavailable as error:
        raise ApiError(503, str(error), code="identity_provider_unavailable") from None
    except OidcError as error:
        raise _unauthorized(str(error)) from None
    # Prefixed so an IdP subject can never be mistaken for a local user id.
    return Principal(f"oidc:{found.subject}", found.tenant_id, found.role, found.platform_admin, found.email)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def bind_audit_origin(request: Request) -> None:
    """Every audit row written while serving this request carries its request id and client
    address (an app-wide dependency: async, so the endpoint's worker thread inherits it)."""
    audit.bind_origin(request.state.request_id, request.client.host if request.client else None)


async def get_tenant(
    request: Request,
    principal: CurrentPrincipal,
    x_luna_tenant: Annotated[
        str | None, Header(description="Platform admins only: act on this tenant instead of their own.")
    ] = None,
) -> str:
    """The tenant comes from the token; only a platform admin may name another one, and only
    one that exists (404 otherwise: the audit row of the request needs a tenant to belong to)."""
    tenant = principal.tenant_id
    if x_luna_tenant and x_luna_tenant != tenant:
        if not principal.platform_admin:
            raise ApiError(403, "only platform admins may act on another tenant")
        try:
            validate_tenant_id(x_luna_tenant)
        except InvalidTenantId as error:
            raise ApiError(422, f"X-Luna-Tenant: {error}") from None
        await run_in_threadpool(_existing_tenant, request.app.state.engine, x_luna_tenant)
        tenant = x_luna_tenant
    request.state.tenant_id = tenant
    structlog.contextvars.bind_contextvars(tenant=tenant)
    return tenant


def _existing_tenant(engine: Engine, tenant_id: str) -> None:
    try:
        fetch_tenant(engine, tenant_id)
    except TenantError:
        raise ApiError(404, f"tenant {tenant_id!r} named in X-Luna-Tenant does not exist") from None


CurrentTenant = Annotated[str, Depends(get_tenant)]


async def require_platform_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.platform_admin:
        raise ApiError(403, "this needs a platform admin")
    return principal


class Context:
    """One request's view of the world: who, for which tenant, over which connection.

    The tenant transaction opens on first use of ``db``, inside the endpoint's worker thread,
    and commits in one more hop after it: an async dependency costs no thread hop of its own,
    where a sync generator dependency cost two (enter and exit) on every request."""

    def __init__(
        self,
        principal: Principal,
        tenant_id: str,
        engine: Engine,
        request_id: str,
        client_addr: str | None,
        durable: bool = True,
    ) -> None:
        self.principal = principal
        self.tenant_id = tenant_id
        self.request_id = request_id
        self.client_addr = client_addr
        self._engine = engine
        self._durable = durable
        self._scope: AbstractContextManager[Connection] | None = None
        self._db: Connection | None = None

    @property
    def db(self) -> Connection:
        if self._db is None:
            self._scope = tenant_scope(self._engine, self.tenant_id, durable=self._durable)
            self._db = self._scope.__enter__()
        return self._db

    def close(self, error: BaseException | None = None) -> None:
        """Commits (or, after an error, rolls back) the transaction if one was opened."""
        scope, self._scope, self._db = self._scope, None, None
        if scope is not None:
            scope.__exit__(type(error) if error else None, error, error.__traceback__ if error else None)

    @property
    def actor(self) -> str:
        return audit.actor(self.principal.email, self.principal.subject)

    def audit(self, action: str, target: str | None = None, outcome: str = "ok", **detail: Any) -> None:
        audit.record(
            self.db,
            tenant_id=self.tenant_id,
            actor=self.actor,
            action=action,
            target=target,
            outcome=outcome,
            detail=detail,
            request_id=self.request_id,
            client_addr=self.client_addr,
        )


async def get_context(
    request: Request, principal: CurrentPrincipal, tenant: CurrentTenant, engine: Annotated[Engine, Depends(get_engine)]
) -> AsyncIterator[Context]:
    ctx = Context(
        principal=principal,
        tenant_id=tenant,
        engine=engine,
        request_id=request.state.request_id,
        client_addr=request.client.host if request.client else None,
        # A read's only write is its audit row: committed without waiting for the WAL flush
        # (see tenant_scope). Every other method commits durably before its 2xx.
        durable=request.method not in ("GET", "HEAD"),
    )
    try:
        yield ctx
    except BaseException as error:
        await run_in_threadpool(ctx.close, error)
        raise
    else:
        await run_in_threadpool(ctx.close)


# scope="function": the transaction commits before the response leaves, so a 2xx means stored.
Ctx = Annotated[Context, Depends(get_context, scope="function")]


def get_admin_context(ctx: Ctx) -> Context:
    if not ctx.principal.is_admin:
        raise ApiError(403, "this needs the admin role")
    return ctx


AdminCtx = Annotated[Context, Depends(get_admin_context)]
