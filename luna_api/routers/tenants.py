"""Tenants: platform admins create, list and disable; everyone sees their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine

from luna_api.deps import CurrentPrincipal, get_engine, require_platform_admin
from luna_api.errors import ApiError, not_found
from luna_api.schemas import Error, Limit, Offset, Page, SharingIn, TenantIn, TenantOut, page
from luna_core import audit, outbox
from luna_core.auth.tokens import Principal
from luna_core.db.tenancy import tenant_scope
from luna_core.tenants import TenantError, create_tenant, fetch_tenant, list_tenants, set_sharing, set_tenant_status

router = APIRouter(prefix="/tenants", tags=["tenants"])
PlatformAdmin = Annotated[Principal, Depends(require_platform_admin)]
DB = Annotated[Engine, Depends(get_engine)]


def _audit(request: Request, principal: Principal, tenant_id: str, action: str, **detail) -> None:
    """Into the log of the tenant acted on (a list goes into the caller's own)."""
    with tenant_scope(request.app.state.engine, tenant_id) as connection:
        audit.record(
            connection,
            tenant_id=tenant_id,
            actor=audit.actor(principal.email, principal.subject),
            action=action,
            target=f"tenant/{tenant_id}",
            detail=detail,
        )


@router.post("", response_model=TenantOut, status_code=201, responses={409: {"model": Error}})
def create(request: Request, body: TenantIn, principal: PlatformAdmin, engine: DB) -> TenantOut:
    """Creates the tenant and its meters, and queues its first pipeline run through the outbox
    (the Dagster tenant sensor also adds its partition); its first KPIs follow without further action."""
    tenant = create_tenant(
        engine,
        body.id,
        body.name,
        body.kind,
        zone=body.zone,
        timezone=body.timezone,
        state=body.state,
        meter_specs=body.meters,
        latitude=body.latitude,
        longitude=body.longitude,
    )
    with tenant_scope(engine, tenant.id) as connection:
        outbox.enqueue(
            connection, tenant.id, "register_tenant", requested_by=audit.actor(principal.email, principal.subject)
        )
    _audit(request, principal, tenant.id, "tenant.create", meters=len(body.meters))
    return TenantOut.model_validate(tenant)


@router.get("", response_model=Page[TenantOut])
def list_all(
    request: Request,
    principal: CurrentPrincipal,
    engine: DB,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[TenantOut]:
    """Platform admins see every tenant; everyone else only their own."""
    tenants = list_tenants(engine) if principal.platform_admin else [fetch_tenant(engine, principal.tenant_id)]
    items = [TenantOut.model_validate(t) for t in tenants[offset : offset + limit]]
    _audit(request, principal, principal.tenant_id, "tenant.list", returned=len(items))
    return page(items, limit, offset, total=len(tenants))


@router.get("/{tenant_id}", response_model=TenantOut, responses={404: {"model": Error}})
def get_one(request: Request, tenant_id: str, principal: CurrentPrincipal, engine: DB) -> TenantOut:
    if tenant_id != principal.tenant_id and not principal.platform_admin:
        raise not_found("tenant")
    try:
        tenant = fetch_tenant(engine, tenant_id)
    except TenantError:
        raise not_found("tenant") from None
    _audit(request, principal, tenant_id, "tenant.read")
    return TenantOut.model_validate(tenant)


@router.post("/{tenant_id}/disable", response_model=TenantOut, responses={404: {"model": Error}})
def disable(request: Request, tenant_id: str, principal: PlatformAdmin, engine: DB) -> TenantOut:
    if tenant_id == principal.tenant_id:
        raise ApiError(409, "a platform admin cannot disable their own tenant")
    try:
        tenant = set_tenant_status(engine, tenant_id, "disabled")
    except TenantError:
        raise not_found("tenant") from None
    _audit(request, principal, tenant_id, "tenant.disable")
    return TenantOut.model_validate(tenant)


@router.put("/{tenant_id}/sharing", response_model=TenantOut, responses={404: {"model": Error}})
def set_consent(
    request: Request, tenant_id: str, body: SharingIn, principal: CurrentPrincipal, engine: DB
) -> TenantOut:
    """Opt in to or out of the global model (only the tenant's anonymised load shape is ever shared)."""
    if tenant_id != principal.tenant_id and not principal.platform_admin:
        raise not_found("tenant")
    if not principal.is_admin:
        raise ApiError(403, "this needs the admin role")
    try:
        tenant = set_sharing(engine, tenant_id, body.share_anonymised)
    except TenantError:
        raise not_found("tenant") from None
    _audit(request, principal, tenant_id, "tenant.sharing", share_anonymised=body.share_anonymised)
    return TenantOut.model_validate(tenant)
