"""Admin: the audit log of the tenant, and the platform's status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import httpx
import psutil
from fastapi import APIRouter, Depends, Query
from sqlalchemy import text

from luna_api.deps import AdminCtx, get_settings
from luna_api.observability import RECENT_ERRORS
from luna_api.schemas import AuditOut, ComponentStatus, Limit, Offset, Page, StatusOut, page
from luna_core import __version__, audit
from luna_core.db import migrate
from luna_core.settings import Settings

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
    components = [_database(ctx.db), _dagster(settings)]
    components += [
        ComponentStatus(name="vector_store", ok=False, detail="not configured yet (knowledge issue)"),
        ComponentStatus(name="model_store", ok=False, detail="not configured yet (forecasting issue)"),
        ComponentStatus(name="api", ok=True, detail="serving", version=__version__),
    ]
    disk = psutil.disk_usage(str(settings.data_dir if settings.data_dir.exists() else "/"))
    host = {
        "cpu_percent": psutil.cpu_percent(interval=0.1),
        "memory_percent": psutil.virtual_memory().percent,
        "disk_percent": disk.percent,
        "disk_free_gb": round(disk.free / 1e9, 2),
    }
    errors = RECENT_ERRORS.newest(STATUS_ERRORS, ctx.tenant_id, every_tenant=ctx.principal.platform_admin)
    ctx.audit("status.read")
    return StatusOut(components=components, host=host, errors=errors)


def _database(connection) -> ComponentStatus:
    version = connection.execute(text("SHOW server_version")).scalar_one()
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    head = migrate.head_revision()
    return ComponentStatus(
        name="database", ok=revision == head, detail=f"schema {revision} (head {head})", version=f"PostgreSQL {version}"
    )


def _dagster(settings: Settings) -> ComponentStatus:
    url = settings.dagster_webserver_url.rstrip("/") + "/server_info"
    try:
        info = httpx.get(url, timeout=1.5).json()
    except (httpx.HTTPError, ValueError) as error:
        return ComponentStatus(
            name="dagster", ok=False, detail=f"unreachable at {settings.dagster_webserver_url}: {type(error).__name__}"
        )
    return ComponentStatus(
        name="dagster",
        ok=True,
        detail="webserver reachable",
        version=str(info.get("dagster_version") or info.get("dagster_webserver_version")),
    )
