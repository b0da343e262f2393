"""Admin: the audit log of the tenant, and the platform's status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import psutil
from fastapi import APIRouter, Depends, Query

from luna_api.deps import AdminCtx, get_settings
from luna_api.observability import RECENT_ERRORS
from luna_api.schemas import AuditOut, ComponentStatus, Limit, Offset, Page, SourceStatusOut, StatusOut, page
from luna_core import audit
from luna_core.ops.logs import LokiLogs, LokiUnavailable
from luna_core.ops.status import check_all
from luna_core.settings import Settings
from luna_core.sources import source_statuses

router = APIRouter(prefix="/admin", tags=["admin"])
STATUS_ERRORS = 20  # log lines in /admin/status


@router.get("/audit", response_model=Page[AuditOut])
def audit_log(
    ctx: AdminCtx,
    actor: Annotated[str | None, Query(max_length=254)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AuditOut]:
    """Newest first. The tenant is the caller's (platform admins choose one with X-Luna-Tenant)."""
    rows = audit.query(ctx.db, ctx.tenant_id, audit.AuditFilter(actor, action, since, until), limit, offset)
    items = [AuditOut.model_validate(row) for row in rows]
    ctx.audit("audit.read", actor_filter=actor, action_filter=action)
    return page(items, limit, offset)


@router.get("/status", response_model=StatusOut)
def status(ctx: AdminCtx, settings: Annotated[Settings, Depends(get_settings)]) -> StatusOut:
    """Each component checked for real (see luna_core.ops.status), the host's load, recent errors."""
    components = [ComponentStatus.model_validate(check, from_attributes=True) for check in check_all(settings)]
    if not ctx.principal.platform_admin:  # the platform's addresses are for its operators only
        components = [component.model_copy(update={"target": None}) for component in components]
    disk = psutil.disk_usage(str(settings.data_dir if settings.data_dir.exists() else "/"))
    host = {
        "cpu_percent": psutil.cpu_percent(interval=0.1),
        "memory_percent": psutil.virtual_memory().percent,
        "disk_percent": disk.percent,
        "disk_free_gb": round(disk.free / 1e9, 2),
    }
    every_tenant = ctx.principal.platform_admin
    errors, source, problem = (
        RECENT_ERRORS.newest(STATUS_ERRORS, ctx.tenant_id, every_tenant=every_tenant),
        "process",
        None,
    )
    if settings.loki_url:  # where every process's logs go (compose): not only this process's
        try:
            loki = LokiLogs(settings.loki_url, settings.status_timeout_seconds)
            errors, source = loki.recent(STATUS_ERRORS, ctx.tenant_id, every_tenant=every_tenant), "loki"
        except LokiUnavailable as error:
            problem = f"{error}; showing this API process's own lines"
    sources = [
        SourceStatusOut.model_validate(found, from_attributes=True)
        for found in source_statuses(ctx.db, settings, ctx.tenant_id)
    ]
    if not every_tenant:
        sources = [found.model_copy(update={"target": None}) for found in sources]
    ctx.audit("status.read")
    return StatusOut(
        components=components,
        host=host,
        sources=sources,
        errors=errors,
        errors_source=source,
        errors_problem=problem,
    )
