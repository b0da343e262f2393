"""The tenant's tariffs (admins write), its monthly bills, tariff comparisons and events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from luna_api.deps import AdminCtx, Ctx
from luna_api.errors import ApiError
from luna_api.schemas import Limit, Offset, Page, page
from luna_api.tariff_schemas import BillOut, CompareIn, CompareOut, EventOut, TariffsIn, TariffsOut
from luna_core.tariffs import service, store

router = APIRouter(tags=["tariffs"])
EventKind = Literal["limit_breach", "negative_price", "data_gap"]


def _tariffs(ctx) -> TariffsOut:
    found = service.tenant_tariffs(ctx.db, ctx.tenant_id)
    return TariffsOut(
        cost_basis=found.cost_basis,
        imports=found.imports,
        exports=found.exports,
        contracted_kw=store.contracted_kw(ctx.db, ctx.tenant_id),
    )


@router.get("/tariffs", response_model=TariffsOut)
def get_tariffs(ctx: Ctx) -> TariffsOut:
    """Every import and export tariff version of the tenant and its contracted power limit."""
    out = _tariffs(ctx)
    ctx.audit("tariff.read")
    return out


@router.put("/tariffs", response_model=TariffsOut)
def put_tariffs(body: TariffsIn, ctx: AdminCtx) -> TariffsOut:
    """Stores tariff versions (tenant admins): an open earlier version of the same direction ends
    where the new one starts; one from the same day is replaced. Sets or clears the power limit."""
    detail = service.set_tariffs(
        ctx.db, ctx.tenant_id, body.tariffs, ctx.actor, body.contracted_kw, clear_limit=body.clear_limit
    )
    ctx.audit("tariff.update", **detail)
    return _tariffs(ctx)


@router.get("/bills", response_model=BillOut)
def bill(ctx: Ctx, month: Annotated[str, Query(max_length=20, description="YYYY-MM, a tenant-local month")]) -> BillOut:
    """The month's itemised estimate from the tenant's tariff: so far, and projected to month end."""
    found = service.month_bill(ctx.db, ctx.tenant_id, month, datetime.now(UTC))
    ctx.audit("bill.read", month=found["month"])
    return BillOut.model_validate(found)


@router.post("/tariffs/compare", response_model=CompareOut)
def compare(ctx: Ctx, body: CompareIn | None = None) -> CompareOut:
    """The tenant's last 12 months (or those since its first reading) priced on its tariff and on
    alternatives: which is cheaper, by how much."""
    alternatives = body.alternatives if body else None
    if alternatives and any(t.direction != "import" for t in alternatives):
        raise ApiError(422, "alternatives are import tariffs (direction import)")
    found = service.compare(ctx.db, ctx.tenant_id, datetime.now(UTC), alternatives)
    ctx.audit("tariff.compare", cheapest=found["cheapest"])
    return CompareOut.model_validate(found)


@router.get("/events", response_model=Page[EventOut])
def list_events(
    ctx: Ctx,
    start: Annotated[datetime | None, Query(description="inclusive; default 30 days ago")] = None,
    end: Annotated[datetime | None, Query(description="exclusive; default now")] = None,
    kind: EventKind | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[EventOut]:
    """Limit breaches, negative-price hours and data gaps, newest first."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "start and end need a UTC offset, e.g. 2026-10-01T00:00:00+02:00")
    if end <= start:
        raise ApiError(422, "end must be after start")
    rows = store.list_events(ctx.db, ctx.tenant_id, start, end, kind, limit, offset)
    ctx.audit("events.read", kind=kind)
    return page([EventOut.model_validate(r) for r in rows], limit, offset)
