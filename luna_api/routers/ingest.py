"""HTTP push of meter readings: the same validated, idempotent path as files and MQTT."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import Engine

from luna_api.deps import CurrentPrincipal, CurrentTenant, get_engine, get_settings
from luna_api.errors import ApiError
from luna_api.observability import INGESTED
from luna_api.schemas import IngestIn, IngestOut
from luna_core import audit
from luna_core.db.tenancy import tenant_scope
from luna_core.ingest import IngestPolicy, ingest_records
from luna_core.settings import Settings

router = APIRouter(prefix="/ingest", tags=["ingest"])


@router.post("/readings", response_model=IngestOut)
def push_readings(
    body: IngestIn,
    principal: CurrentPrincipal,
    tenant: CurrentTenant,
    engine: Annotated[Engine, Depends(get_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> IngestOut:
    """Bad rows are quarantined with their reason (and counted here), never dropped; re-sending
    the same readings changes nothing. ``kwh`` is in kWh unless a ``unit`` says otherwise (on the
    reading or the body); W, kW and MW are mean power over the meter's reading interval, which the
    answer states per meter. Needs the admin role (meter gateways use an admin account)."""
    if not principal.is_admin:
        raise ApiError(403, "pushing readings needs the admin role")
    records = [r.model_dump(exclude_none=True) for r in body.readings]
    if body.unit:
        for record in records:
            record.setdefault("unit", body.unit)
    result = ingest_records(
        engine,
        tenant,
        records,
        source="http",
        source_ref=f"api:{principal.subject}",
        policy=IngestPolicy.from_settings(settings),
    )
    INGESTED.labels("stored").inc(result.rows_stored)
    INGESTED.labels("quarantined").inc(result.rows_quarantined)
    with tenant_scope(engine, tenant) as connection:
        audit.record(
            connection,
            tenant_id=tenant,
            actor=principal.email or principal.subject,
            action="ingest.push",
            target=f"batch/{result.batch_id}",
            detail={"rows": result.rows_received},
        )
    return IngestOut(**{k: getattr(result, k) for k in IngestOut.model_fields})
