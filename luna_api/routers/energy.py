"""Meters, readings, aggregates and KPIs of the caller's tenant."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from luna_api.deps import AdminCtx, Ctx
from luna_api.errors import not_found
from luna_api.schemas import (
    AggregateOut,
    Error,
    KpisOut,
    Limit,
    MeterOut,
    MeterPatch,
    Offset,
    Page,
    ReadingOut,
    json_response,
    page,
)
from luna_core import tenants
from luna_core.energy import queries
from luna_core.energy.kpis import stored_tenant_kpis

router = APIRouter(tags=["energy"])
NOT_FOUND = {404: {"model": Error}}
Start = Annotated[datetime, Query(description="inclusive, ISO 8601 with UTC offset")]
End = Annotated[datetime, Query(description="exclusive, ISO 8601 with UTC offset")]


@router.get("/meters", response_model=Page[MeterOut])
def list_meters(
    ctx: Ctx,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[MeterOut]:
    found = queries.list_meters(ctx.db, ctx.tenant_id)
    ctx.audit("meter.list")
    return page([MeterOut.model_validate(m) for m in found[offset : offset + limit]], limit, offset, total=len(found))


@router.get("/meters/{meter_id}", response_model=MeterOut, responses=NOT_FOUND)
def get_meter(meter_id: str, ctx: Ctx) -> MeterOut:
    found = queries.get_meter(ctx.db, ctx.tenant_id, meter_id)
    if found is None:
        raise not_found("meter")
    ctx.audit("meter.read", target=f"meter/{meter_id}")
    return MeterOut.model_validate(found)


@router.patch("/meters/{meter_id}", response_model=MeterOut, responses=NOT_FOUND)
def update_meter(meter_id: str, body: MeterPatch, ctx: AdminCtx) -> MeterOut:
    """Sets the meter's reading interval (15, 30 or 60 minutes) and/or power limit (tenant admins).
    Readings quarantined under the old setting can then be sent again: a file, as the same file."""
    found = tenants.update_meter(
        ctx.db, ctx.tenant_id, meter_id, interval_minutes=body.interval_minutes, max_kw=body.max_kw
    )
    if found is None:
        raise not_found("meter")
    ctx.audit("meter.update", target=f"meter/{meter_id}", **body.model_dump(exclude_none=True))
    return MeterOut.model_validate(found)


@router.get("/readings", response_model=Page[ReadingOut])
def list_readings(
    ctx: Ctx,
    start: Start,
    end: End,
    meter_id: str | None = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> Page[ReadingOut]:
    rows = queries.list_readings(ctx.db, ctx.tenant_id, start, end, meter_id, limit, offset)
    ctx.audit("readings.read", target=f"meter/{meter_id or '*'}", start=start.isoformat(), end=end.isoformat())
    return page([ReadingOut.model_validate(r) for r in rows], limit, offset)


@router.get("/readings/aggregate", response_model=AggregateOut)
def aggregate(
    ctx: Ctx,
    start: Start,
    end: End,
    bucket: Literal["15min", "hour", "day", "week", "month"] = "hour",
    meter_id: str | None = None,
    compare: Literal["previous_period", "previous_year"] | None = None,
) -> Response:
    """kWh and cost in EUR per bucket (tenant-local time), optionally next to the previous period or year;
    ``cost_basis`` says whether the euros come from the tenant's tariff or the wholesale price alone."""
    current = queries.aggregate(ctx.db, ctx.tenant_id, bucket, start, end, meter_id)
    previous = None
    if compare:
        before_start, before_end = queries.comparison_window(start, end, compare)
        previous = queries.aggregate(ctx.db, ctx.tenant_id, bucket, before_start, before_end, meter_id)
    ctx.audit("readings.aggregate", target=f"meter/{meter_id or '*'}", bucket=bucket, compare=compare)
    change = None
    if previous is not None and previous.kwh:
        change = round((current.kwh - previous.kwh) / previous.kwh * 100, 2)
    return json_response(
        {
            "bucket": bucket,
            "meter_id": meter_id,
            "current": _series(current),
            "compare": compare,
            "previous": _series(previous) if previous else None,
            "change_pct": change,
        }
    )


def _series(series: queries.Series) -> dict:
    return {
        "start": series.start,
        "end": series.end,
        "kwh": series.kwh,
        "cost_eur": series.cost_eur,
        "cost_basis": series.cost_basis,
        "buckets": series.buckets,
    }


@router.get("/kpis", response_model=KpisOut, responses=NOT_FOUND)
def kpis(ctx: Ctx, as_of: date | None = None) -> KpisOut:
    """The newest KPIs the pipeline computed (or those of ``as_of``)."""
    row = stored_tenant_kpis(ctx.db, ctx.tenant_id, as_of)
    if row is None:
        raise not_found("KPIs")
    ctx.audit("kpis.read", as_of=row.as_of.isoformat())
    return KpisOut.model_validate(row)
