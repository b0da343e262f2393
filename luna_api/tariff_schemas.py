"""Request and response models of /tariffs, /bills and /events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from luna_core.tariffs.models import Tariff

CostBasis = Literal["tariff", "wholesale"]
COST_BASIS = "'tariff': from the tenant's tariff; 'wholesale': no tariff set, the day-ahead price alone"


class TariffsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tariffs: list[Tariff] = Field(default_factory=list, max_length=20, description="versions to store")
    contracted_kw: float | None = Field(None, gt=0, le=100_000, description="the tenant's power limit, kW")
    clear_limit: bool = Field(False, description="remove the power limit")


class TariffsOut(BaseModel):
    cost_basis: CostBasis = Field(description=COST_BASIS)
    imports: list[Tariff]
    exports: list[Tariff]
    contracted_kw: float | None


class BillPart(BaseModel):
    lines: dict[str, float] = Field(description="net EUR: energy, grid_fees, levies, base_fee, demand_charge")
    net_eur: float
    vat_eur: float
    feed_in_credit_eur: float
    total_eur: float


class BillOut(BaseModel):
    month: str
    start: datetime
    end: datetime
    complete: bool
    until: datetime
    cost_basis: CostBasis = Field(description=COST_BASIS)
    import_kwh: float
    export_kwh: float
    peak_kw: float
    peak_at: datetime | None
    intervals: int
    intervals_with_data: int
    unpriced_intervals: int
    so_far: BillPart
    projection: BillPart | None = Field(description="to month end at the load so far; null for a complete month")


class CompareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alternatives: list[Tariff] | None = Field(
        None,
        max_length=10,
        description="import tariffs to compare; default: a fixed, a dynamic and a time-of-use offer",
    )


class CompareOption(BaseModel):
    option: str
    name: str
    kind: str
    total_eur: float
    difference_eur: float = Field(description="against the current tariff; negative = cheaper")
    unpriced_intervals: int
    note: str | None = Field(None, description="what the option assumes, where it is not a plain tariff")


class CompareOut(BaseModel):
    cost_basis: CostBasis = Field(description=COST_BASIS)
    start: datetime | None
    end: datetime | None
    months: int
    import_kwh: float
    options: list[CompareOption]
    cheapest: str
    saving_eur: float = Field(description="what the cheapest option would have saved over the period")


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ts: datetime
    kind: str
    meter_id: str | None
    severity: str
    payload: dict[str, Any]
