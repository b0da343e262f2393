"""Day-ahead prices (shared market data; the zone defaults to the caller's tenant's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from luna_api.deps import Ctx
from luna_api.errors import ApiError
from luna_api.schemas import PriceOut, PricesOut
from luna_core.market import queries
from luna_core.tariffs import service as tariff_service
from luna_core.tenants import get_tenant

router = APIRouter(prefix="/market", tags=["market"])


@router.get("/prices", response_model=PricesOut)
def prices(
    ctx: Ctx,
    start: Annotated[datetime, Query(description="inclusive, ISO 8601 with UTC offset")],
    end: Annotated[datetime, Query(description="exclusive, ISO 8601 with UTC offset")],
    zone: Annotated[str | None, Query(max_length=20, description="default: the tenant's zone")] = None,
    # An int checked below, not Literal[15, 60]: a Literal of ints refuses the text a query string carries.
    resolution: Annotated[int, Query(description="minutes per price: 15 or 60")] = 60,
    cheapest: Annotated[int | None, Query(ge=1, le=96 * 7, description="also return the N cheapest slots")] = None,
) -> PricesOut:
    if resolution not in (15, 60):
        raise ApiError(422, f"resolution must be 15 or 60 (minutes), not {resolution}")
    own_zone = get_tenant(ctx.db, ctx.tenant_id).zone
    zone = zone or own_zone
    found = [PriceOut.model_validate(p) for p in queries.prices(ctx.db, zone, start, end, resolution)]
    slots = queries.cheapest_slots(ctx.db, zone, start, end, resolution, cheapest) if cheapest else None
    chosen = [PriceOut.model_validate(p) for p in slots] if slots is not None else None
    # All-in prices only where the tenant's tariff applies: its own zone.
    basis = "wholesale"
    if zone == own_zone:
        for listed in (found, chosen or []):
            all_in = tariff_service.all_in_prices(
                ctx.db, ctx.tenant_id, [p.ts for p in listed], [p.eur_per_mwh for p in listed]
            )
            for price, value in zip(listed, all_in or [], strict=False):
                price.all_in_ct_kwh = value
                basis = "tariff"
    ctx.audit("market.read", target=f"zone/{zone}")
    return PricesOut(zone=zone, resolution_minutes=resolution, cost_basis=basis, prices=found, cheapest=chosen)
